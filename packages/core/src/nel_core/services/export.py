"""Export orchestration: gather finished jobs' results and hand them to an exporter.

The same for every destination and every way of asking (``nel export``, auto-export): jobs that
did not succeed or hold no score are skipped with the reason, every row's metrics are filtered
by the destination's ``log_metrics`` here (one mechanism for all exporters), and a destination
that refuses jobs makes the export fail naming them (:class:`ExportFailed`).
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs

from nel_core.errors import ExportError
from nel_core.exporting import MetricFilter, build_row
from nel_core.layout import ARTIFACTS_DIR
from nel_core.models.domain import Invocation, Job, JobState
from nel_core.ports.result_exporter import ExportItem, ExportReport, ResultExporter
from nel_core.services.stages import read_results

__all__ = ["ExportFailed", "Fetch", "export_item", "export_results"]

#: Copies a job's folder from where it ran into the given local folder; returns the copy, or
#: None when the executor cannot (the job is then skipped with the reason).
Fetch = Callable[[Invocation, Job, Path], Path | None]


class ExportFailed(ExportError):
    """The destination refused some or all jobs; :attr:`report` says which, and why.

    Args:
        report: What was exported, skipped, and failed (every job not exported is in
            ``skipped`` or ``failed``).
    """

    def __init__(self, report: ExportReport, reason: str) -> None:
        failed = ", ".join(sorted(report.failed)) or "none"
        super().__init__(f"{report.destination}: {reason}; jobs not exported: {failed}")
        self.report = report


def export_item(
    invocation: Invocation,
    job: Job,
    *,
    metric_filter: MetricFilter = MetricFilter(),  # noqa: B008 - frozen, so sharing it is safe
    job_dir: Path | None = None,
) -> ExportItem:
    """The export item of one finished job whose folder is ``job_dir`` (default: its own).

    Raises:
        ExportError: saying why the job has nothing to export (no results, no score, metrics
            that cannot be flattened).
    """
    folder = job_dir if job_dir is not None else Path(job.job_dir)
    artifacts = folder / ARTIFACTS_DIR
    results, why = read_results(artifacts)
    if not results.has_scores:
        raise ExportError(why or "no score in results.yml")
    row = build_row(invocation, job, results, metric_filter=metric_filter)
    return ExportItem(
        invocation=invocation, job=job, results=results, row=row, artifacts_dir=artifacts, job_dir=folder
    )


def _not_successful(job: Job) -> str:
    return f"not successful ({job.state.value}{': ' + job.reason if job.reason else ''})"


def export_results(
    exporter: ResultExporter,
    invocations: Sequence[tuple[Invocation, Sequence[Job]]],
    *,
    fetch: Fetch | None = None,
) -> ExportReport:
    """Export every successful job of ``invocations`` that has results; report the rest as skipped.

    A job whose folder is not on this host is copied here first with ``fetch``.

    Raises:
        ConfigError: when the destination's ``log_metrics`` is malformed.
        ExportFailed: when the destination refused jobs (it raised, or reported failures).
    """
    metric_filter = MetricFilter.from_setting(
        exporter.settings.get("log_metrics"), f"export.{exporter.name}.log_metrics"
    )
    items: list[ExportItem] = []
    skipped: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="nel-export-") as staging:
        for invocation, jobs in invocations:
            for job in jobs:
                if job.state is not JobState.SUCCESS:
                    skipped[job.id] = _not_successful(job)
                    continue
                folder: Path | None = Path(job.job_dir)
                if fetch is not None and not Path(job.job_dir).is_dir():
                    folder = fetch(invocation, job, Path(staging) / job.id)
                if folder is None or not folder.is_dir():
                    skipped[job.id] = f"its folder {job.job_dir} is not on this host and cannot be copied here"
                    continue
                try:
                    items.append(export_item(invocation, job, metric_filter=metric_filter, job_dir=folder))
                except ExportError as exc:
                    skipped[job.id] = exc.message
        try:
            # SDKs print links and progress on stdout (MLflow's "View run at"): what a command
            # prints there (--json) must stay its own, so their chatter goes to stderr.
            with contextlib.redirect_stdout(sys.stderr):
                report = exporter.export(items)
        except ExportError as exc:
            refused = ExportReport(
                destination=exporter.name,
                location="",
                skipped=skipped,
                failed={item.job.id: exc.message for item in items},
            )
            raise ExportFailed(refused, exc.message) from exc
    report = attrs.evolve(report, skipped={**skipped, **report.skipped})
    if report.failed:
        first = next(iter(report.failed.values()))
        raise ExportFailed(report, f"{len(report.failed)} job(s) refused (first: {first})")
    return report
