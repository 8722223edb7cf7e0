"""Contract of :class:`~nel_core.ports.ResultExporter`."""

from __future__ import annotations

from pathlib import Path

import pytest

from nel_core.models.domain import JobState
from nel_core.ports.result_exporter import ExportItem, ResultExporter
from nel_core.services.stages import read_results
from nel_core.testing._builders import make_invocation, make_jobs, write_results

__all__ = ["ResultExporterContract"]


class ResultExporterContract:
    """What every exporter does. Subclass it; provide the ``exporter`` fixture and :meth:`stored`.

    The fixture gives an exporter writing to a fresh, empty destination.
    """

    @pytest.fixture
    def exporter(self) -> ResultExporter:
        """Override: the exporter under test, on an empty destination."""
        raise NotImplementedError("subclasses provide the 'exporter' fixture")

    def stored(self, exporter: ResultExporter) -> list[tuple[str, dict[str, float]]]:
        """Override: every record at the destination, as (job id, scores by dotted name).

        A job exported twice must appear once: return one entry per record actually stored.
        """
        raise NotImplementedError("subclasses read back what the exporter stored")

    def items(
        self, tmp_path: Path, count: int = 2, invocation_id: str = "e0e0e0e0"
    ) -> list[ExportItem]:
        """``count`` successful jobs of one invocation, each with a results.yml of two scores."""
        invocation = make_invocation(invocation_id, output_dir=str(tmp_path / invocation_id))
        jobs = make_jobs(invocation, count, states=[JobState.SUCCESS] * count, root=tmp_path)
        items = []
        for job in jobs:
            artifacts = Path(job.job_dir) / "artifacts"
            scores = {"accuracy": 0.25 * (job.index + 1), "f1.macro": 0.5}
            write_results(artifacts, f"task{job.index}", scores)
            results, _ = read_results(artifacts)
            items.append(
                ExportItem(invocation=invocation, job=job, results=results, artifacts_dir=artifacts)
            )
        return items

    # -------------------------------------------------------------------------------- tests

    def test_declares_a_name(self, exporter: ResultExporter) -> None:
        """An exporter has a name."""
        assert isinstance(exporter.name, str) and exporter.name

    def test_export_stores_every_job(self, exporter: ResultExporter, tmp_path: Path) -> None:
        """Every exported job is stored with its scores, and reported as exported."""
        items = self.items(tmp_path)
        report = exporter.export(items)
        assert sorted(report.exported) == sorted(item.job.id for item in items)
        assert report.destination and report.location
        stored = dict(self.stored(exporter))
        for item in items:
            assert stored[item.job.id] == pytest.approx(item.results.as_dict())

    def test_export_is_idempotent(self, exporter: ResultExporter, tmp_path: Path) -> None:
        """Exporting the same jobs twice stores each of them once."""
        items = self.items(tmp_path)
        exporter.export(items)
        exporter.export(items)
        job_ids = [job_id for job_id, _ in self.stored(exporter)]
        assert sorted(job_ids) == sorted(item.job.id for item in items)

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
        """What is stored for a job is exactly its scores, none added."""
        item = self.items(tmp_path, count=1)[0]
        exporter.export([item])
        [(job_id, scores)] = self.stored(exporter)
        assert job_id == item.job.id
        assert set(scores) == set(item.results.as_dict())
