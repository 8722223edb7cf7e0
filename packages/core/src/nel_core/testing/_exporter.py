"""A fake result exporter: one record per job, kept in memory."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import attrs

from nel_core.errors import ExportError
from nel_core.ports.result_exporter import ExporterSpec, ExportItem, ExportReport, ResultExporter

__all__ = ["FAKE_EXPORTER_SPEC", "ExportRecord", "FakeResultExporter"]


@attrs.frozen(kw_only=True)
class ExportRecord:
    """What the fake destination holds for one job."""

    invocation_id: str
    job_id: str
    task_name: str
    scores: dict[str, float]  # the row's metrics, by flat name


class FakeResultExporter(ResultExporter):
    """Keeps one :class:`ExportRecord` per job id: exporting a job again replaces its record.

    Settings:
        location: What the report names as the place written to (default ``memory://fake``).
        fail: When true, every export raises :class:`ExportError` (a refusing destination).
    """

    name: ClassVar[str] = "fake"

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__(dict(settings or {}))
        self.records: dict[str, ExportRecord] = {}
        self.calls = 0

    def export(self, items: Sequence[ExportItem]) -> ExportReport:
        self.calls += 1
        location = str(self.settings.get("location", "memory://fake"))
        if self.settings.get("fail"):
            raise ExportError(f"{location}: the destination refused the results")
        for item in items:
            self.records[item.job.id] = ExportRecord(
                invocation_id=item.invocation.id,
                job_id=item.job.id,
                task_name=item.job.task_name,
                scores=dict(item.row.metrics),
            )
        return ExportReport(
            destination=self.name,
            location=location,
            exported=[item.job.id for item in items],
        )


#: The registration of the fake exporter, for an ``nel.exporters`` entry point in tests.
FAKE_EXPORTER_SPEC = ExporterSpec(
    name="fake",
    factory=FakeResultExporter,
    package="nel-core",
    description="In-memory exporter for tests (nel_core.testing)",
)
