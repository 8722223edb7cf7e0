"""The ``example-jsonl`` exporter: one JSON line per job, kept in a file."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from nel_core.errors import ConfigError, ExportError
from nel_core.ports.result_exporter import ExporterSpec, ExportItem, ExportReport, ResultExporter

__all__ = ["EXPORTER_SPEC", "JsonlExporter"]


class JsonlExporter(ResultExporter):
    """Keeps one line per job in the file ``path``: ``{"job_id", "invocation_id", "task", "scores"}``.

    A job whose id the file already holds has its line replaced, so exporting twice changes
    nothing and exporting again after a re-run updates the scores. The file is rewritten whole
    (written beside it, then renamed), so a failed export leaves the previous file intact.

    Settings:
        path: The file (created with its folder when missing).

    Raises:
        ConfigError: when ``path`` is not set.
    """

    name: ClassVar[str] = "example-jsonl"

    def __init__(self, settings: dict[str, Any]) -> None:
        super().__init__(settings)
        if not settings.get("path"):
            raise ConfigError(
                f"export.{self.name}.path: not set",
                hint=f"set it in the config, or: nel export ID --dest {self.name} -o path=results.jsonl",
            )
        self.path = Path(str(settings["path"])).expanduser()

    def records(self) -> list[dict[str, Any]]:
        """Every line of the file, parsed (none when the file does not exist).

        Raises:
            ExportError: when the file cannot be read or a line is not a JSON object.
        """
        try:
            lines = self.path.read_text().splitlines() if self.path.exists() else []
        except OSError as exc:
            raise ExportError(f"{self.path}: cannot read: {exc}") from exc
        records = []
        for number, line in enumerate(lines, start=1):
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if not isinstance(record, dict) or "job_id" not in record:
                raise ExportError(f"{self.path}:{number}: not a record of this exporter")
            records.append(record)
        return records

    def export(self, items: Sequence[ExportItem]) -> ExportReport:
        by_job = {record["job_id"]: record for record in self.records()}
        for item in items:
            by_job[item.job.id] = {
                "job_id": item.job.id,
                "invocation_id": item.invocation.id,
                "task": item.row.task,
                "scores": item.row.metrics,
            }
        if items:
            text = "".join(json.dumps(record, sort_keys=True) + "\n" for record in by_job.values())
            partial = self.path.with_name(self.path.name + ".partial")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                partial.write_text(text)
                os.replace(partial, self.path)
            except OSError as exc:
                raise ExportError(f"{self.path}: cannot write: {exc}") from exc
        return ExportReport(
            destination=self.name, location=str(self.path), exported=[item.job.id for item in items]
        )


#: The registration (entry point ``nel.exporters: example-jsonl``).
EXPORTER_SPEC = ExporterSpec(
    name="example-jsonl",
    factory=JsonlExporter,
    package="nel-plugin-example",
    description="one JSON line per job kept in a file (settings: path)",
)
