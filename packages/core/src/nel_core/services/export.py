"""Export orchestration: gather finished jobs' results and hand them to an exporter."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from nel_core.layout import ARTIFACTS_DIR
from nel_core.models.domain import Invocation, Job, JobState
from nel_core.ports.result_exporter import ExportItem, ExportReport, ResultExporter
from nel_core.services.stages import read_results

__all__ = ["export_results"]


def export_results(
    exporter: ResultExporter, invocations: Sequence[tuple[Invocation, Sequence[Job]]]
) -> ExportReport:
    """Export every successful job of ``invocations``; the rest are reported as skipped."""
    items: list[ExportItem] = []
    skipped: list[str] = []
    for invocation, jobs in invocations:
        for job in jobs:
            artifacts = Path(job.job_dir) / ARTIFACTS_DIR
            results, _ = read_results(artifacts)
            if job.state is JobState.SUCCESS and results.has_scores:
                items.append(
                    ExportItem(invocation=invocation, job=job, results=results, artifacts_dir=artifacts)
                )
            else:
                skipped.append(job.id)
    report = exporter.export(items)
    return ExportReport(
        destination=report.destination,
        location=report.location,
        exported=report.exported,
        skipped=sorted(set(report.skipped) | set(skipped)),
    )
