"""The ``local`` exporter: a JSON or CSV summary of every job, and copies of their files."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from nel_core.errors import ExportError
from nel_core.exporting import CommonSettings, Settings, artifact_files, log_files
from nel_core.ports.result_exporter import ExportItem, ExportReport, ResultExporter
from nel_exporter_local._files import replace_dir, write_atomically
from nel_exporter_local._tables import upsert_csv, upsert_json

__all__ = ["DEFAULT_OUTPUT_DIR", "LocalExporter"]

#: Where it writes unless ``output_dir`` says otherwise (NeMo Evaluator Launcher's default).
DEFAULT_OUTPUT_DIR = "./nv-eval-results"
_KEYS = {"output_dir", "format", "output_filename"}


class LocalExporter(ResultExporter):
    """Writes finished jobs to local files (NeMo Evaluator Launcher's ``local`` destination).

    Settings (``export.local``):
        output_dir: Where everything goes (default ``./nv-eval-results``).
        format: ``json`` or ``csv``: a summary file with one entry per job (none by default).
        output_filename: The summary's name (default ``processed_results.<format>``).
        copy_artifacts: Copy each job's result files to ``<output_dir>/<invocation>/<job>/artifacts``
            (default true); ``only_required`` (default true) copies only the files that matter.
        copy_logs: Also copy each job's logs to ``<output_dir>/<invocation>/<job>/logs``.
        log_metrics: Patterns of the metrics the summary keeps (applied by core).

    Exporting a job again replaces its entry, its row and its copies; the summary holds any
    number of invocations. Every file is written beside its place and renamed into it, so a
    failed export leaves the previous summary intact.

    Raises:
        ConfigError: when a setting is unknown or malformed.
    """

    name: ClassVar[str] = "local"

    def __init__(self, settings: dict[str, Any]) -> None:
        super().__init__(settings)
        read = Settings(self.name, settings, _KEYS)
        self.common = CommonSettings.read(read)
        self.output_dir = Path(read.text("output_dir", DEFAULT_OUTPUT_DIR) or DEFAULT_OUTPUT_DIR).expanduser()
        self.format = read.choice("format", {"json", "csv"}, None)
        self.summary = self.output_dir / (read.text("output_filename") or f"processed_results.{self.format}")

    def _copy_files(self, item: ExportItem) -> None:
        folder = self.output_dir / item.invocation.id / item.job.id
        if self.common.copy_artifacts:
            files = artifact_files(item.artifacts_dir, only_required=self.common.only_required)
            replace_dir(folder / "artifacts", files)
        if self.common.copy_logs:
            replace_dir(folder / "logs", log_files(item.job_dir))
        metadata = {**item.row.fields(), "job_dir": item.job.job_dir}
        write_atomically(folder / "job_metadata.json", json.dumps(metadata, indent=2) + "\n")

    def export(self, items: Sequence[ExportItem]) -> ExportReport:
        failed: dict[str, str] = {}
        written: list[ExportItem] = []
        for item in items:
            try:
                self._copy_files(item)
            except OSError as exc:
                failed[item.job.id] = f"cannot copy its files to {self.output_dir}: {exc}"
            else:
                written.append(item)
        location = str(self.output_dir.resolve())
        if self.format and written:
            rows = [item.row for item in written]
            try:
                text = upsert_json(self.summary, rows) if self.format == "json" else upsert_csv(self.summary, rows)
                write_atomically(self.summary, text)
            except OSError as exc:
                raise ExportError(f"{self.summary}: cannot write: {exc}") from exc
        if self.format:
            location = str(self.summary.resolve())
        return ExportReport(
            destination=self.name, location=location, exported=[i.job.id for i in written], failed=failed
        )
