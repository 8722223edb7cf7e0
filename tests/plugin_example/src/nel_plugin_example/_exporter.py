"""The ``example-jsonl`` exporter: one JSON line per job, appended to a file."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from nel_core.errors import ConfigError, ExportError
from nel_core.ports.result_exporter import ExporterSpec, ExportItem, ExportReport, ResultExporter

__all__ = ["EXPORTER_SPEC", "JsonlExporter"]


class JsonlExporter(ResultExporter):
    """Appends one line per job to the file ``path``: ``{"job_id", "invocation_id", "task", "scores"}``.

    A job whose id the file already holds is not written again, so exporting twice changes
    nothing; it is still reported as exported (the destination holds it).

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
        seen = {record["job_id"] for record in self.records()}
        lines: list[str] = []
        for item in items:
            if item.job.id in seen:
                continue
            seen.add(item.job.id)
            record = {
                "job_id": item.job.id,
                "invocation_id": item.invocation.id,
                "task": item.job.task_name,
                "scores": item.results.as_dict(),
            }
            lines.append(json.dumps(record, sort_keys=True) + "\n")
        if lines:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a") as handle:
                    handle.write("".join(lines))  # one write: the lines of one export stay together
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
    description="one JSON line per job appended to a file (settings: path)",
)
