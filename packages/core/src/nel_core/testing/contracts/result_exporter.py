"""Contract of :class:`~nel_core.ports.ResultExporter`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from nel_core.exporting import MetricFilter
from nel_core.models.domain import JobState
from nel_core.ports.result_exporter import ExportItem, ResultExporter
from nel_core.services.export import export_item
from nel_core.testing._builders import make_invocation, make_jobs, write_results

__all__ = ["ResultExporterContract"]


class ResultExporterContract:
    """What every exporter does. Subclass it; provide the ``exporter`` fixture, :meth:`stored`
    and :meth:`stored_fields`.

    The fixture gives an exporter writing to a fresh, empty destination. Items reach an exporter
    with their row built and their metrics already filtered by ``log_metrics`` (core's export
    service does it): an exporter stores ``item.row.metrics``, so the filter holds everywhere.
    """

    @pytest.fixture
    def exporter(self) -> ResultExporter:
        """Override: the exporter under test, on an empty destination."""
        raise NotImplementedError("subclasses provide the 'exporter' fixture")

    def stored(self, exporter: ResultExporter) -> list[tuple[str, dict[str, float]]]:
        """Override: every record at the destination, as (job id, metrics by flat name).

        A job exported twice must appear once: return one entry per record actually stored.
        """
        raise NotImplementedError("subclasses read back what the exporter stored")

    def stored_fields(self, exporter: ResultExporter) -> dict[str, Mapping[str, str]]:
        """Override: job id -> what the destination holds of that job's identity.

        Keys used by the suite: ``invocation_id`` and ``task`` (mapped from the destination's own
        names: a tag, a column, a config entry).
        """
        raise NotImplementedError("subclasses read back the identifying fields")

    def items(
        self,
        tmp_path: Path,
        count: int = 2,
        invocation_id: str = "e0e0e0e0",
        *,
        scale: float = 1.0,
        log_metrics: tuple[str, ...] = (),
    ) -> list[ExportItem]:
        """``count`` successful jobs of one invocation, each with a results.yml of two scores."""
        invocation = make_invocation(invocation_id, output_dir=str(tmp_path / invocation_id))
        jobs = make_jobs(invocation, count, states=[JobState.SUCCESS] * count, root=tmp_path)
        items = []
        for job in jobs:
            artifacts = Path(job.job_dir) / "artifacts"
            scores = {"accuracy": 0.25 * (job.index + 1) * scale, "f1.macro": 0.5 * scale}
            write_results(artifacts, f"task{job.index}", scores)
            (Path(job.job_dir) / "job.log").write_text(f"log of {job.id}\n")
            items.append(export_item(invocation, job, metric_filter=MetricFilter(patterns=log_metrics)))
        return items

    # -------------------------------------------------------------------------------- tests

    def test_declares_a_name(self, exporter: ResultExporter) -> None:
        """An exporter has a name."""
        assert isinstance(exporter.name, str) and exporter.name

    def test_export_stores_every_job(self, exporter: ResultExporter, tmp_path: Path) -> None:
        """Every exported job is stored with its row's metrics, and reported as exported."""
        items = self.items(tmp_path)
        report = exporter.export(items)
        assert sorted(report.exported) == sorted(item.job.id for item in items)
        assert report.destination == exporter.name and report.location
        assert report.failed == {}
        stored = dict(self.stored(exporter))
        for item in items:
            assert stored[item.job.id] == pytest.approx(item.row.metrics)

    def test_export_is_idempotent(self, exporter: ResultExporter, tmp_path: Path) -> None:
        """Exporting the same jobs twice stores each of them once."""
        items = self.items(tmp_path)
        exporter.export(items)
        exporter.export(items)
        job_ids = [job_id for job_id, _ in self.stored(exporter)]
        assert sorted(job_ids) == sorted(item.job.id for item in items)

    def test_export_again_updates_the_record(self, exporter: ResultExporter, tmp_path: Path) -> None:
        """A job exported again with other scores is stored once, with the new scores."""
        exporter.export(self.items(tmp_path / "old", count=1))
        newer = self.items(tmp_path / "new", count=1, scale=0.5)
        exporter.export(newer)
        [(job_id, metrics)] = self.stored(exporter)
        assert job_id == newer[0].job.id
        assert metrics == pytest.approx(newer[0].row.metrics)

    def test_export_adds_to_earlier_exports(self, exporter: ResultExporter, tmp_path: Path) -> None:
        """A later export of other jobs keeps what an earlier one stored."""
        first = self.items(tmp_path / "a", invocation_id="aaaa0001")
        second = self.items(tmp_path / "b", invocation_id="bbbb0002")
        exporter.export(first)
        exporter.export([*second, first[0]])
        job_ids = sorted(job_id for job_id, _ in self.stored(exporter))
        assert job_ids == sorted(item.job.id for item in [*first, *second])

    def test_export_of_nothing_stores_nothing(self, exporter: ResultExporter) -> None:
        """Exporting no items succeeds and stores nothing."""
        report = exporter.export([])
        assert report.exported == []
        assert self.stored(exporter) == []

    def test_stored_scores_are_exactly_the_jobs(
        self, exporter: ResultExporter, tmp_path: Path
    ) -> None:
        """What is stored for a job is exactly its metrics (with their stderr), none added."""
        item = self.items(tmp_path, count=1)[0]
        exporter.export([item])
        [(job_id, scores)] = self.stored(exporter)
        assert job_id == item.job.id
        assert set(scores) == set(item.row.metrics)
        assert "task0_accuracy_accuracy_stderr" in scores

    def test_only_the_filtered_metrics_are_stored(
        self, exporter: ResultExporter, tmp_path: Path
    ) -> None:
        """With ``log_metrics`` applied, the destination holds the kept metrics and no other."""
        items = self.items(tmp_path, log_metrics=("accuracy",))
        exporter.export(items)
        stored = dict(self.stored(exporter))
        for item in items:
            assert set(stored[item.job.id]) == {
                f"task{item.job.index}_accuracy_accuracy",
                f"task{item.job.index}_accuracy_accuracy_stderr",
            }

    def test_stored_records_identify_the_job(self, exporter: ResultExporter, tmp_path: Path) -> None:
        """The destination keeps each job's invocation and task beside its metrics."""
        items = self.items(tmp_path)
        exporter.export(items)
        fields = self.stored_fields(exporter)
        for item in items:
            assert fields[item.job.id]["invocation_id"] == item.invocation.id
            assert fields[item.job.id]["task"] == item.row.task
