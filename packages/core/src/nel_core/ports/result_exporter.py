"""Port: a result exporter (files, MLflow, W&B, Google Sheets)."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import attrs

from nel_core.exporting import ExportRow
from nel_core.models.domain import Invocation, Job
from nel_core.models.results import JobResults

__all__ = ["ExportItem", "ExportReport", "ExporterSpec", "ResultExporter"]


@attrs.frozen(kw_only=True)
class ExportItem:
    """One finished job with its results, its row, and where its files are on this host.

    Args:
        row: What every destination shows of the job; its metrics are already filtered by
            ``log_metrics`` (exporters write ``row.metrics``, never the unfiltered results).
        artifacts_dir: The harness's output folder (``results.yml`` and friends).
        job_dir: The job's folder (``job.log``, ``run_config.yml``); a local copy when the job
            ran elsewhere.
    """

    invocation: Invocation
    job: Job
    results: JobResults
    row: ExportRow
    artifacts_dir: Path
    job_dir: Path


@attrs.frozen(kw_only=True)
class ExportReport:
    """What an export did: where it wrote, which jobs it wrote, skipped or failed to write.

    Args:
        exported: Ids of the jobs the destination now holds.
        skipped: Job id -> why it was not exported (no results, not successful, exists already).
        failed: Job id -> why the destination did not take it; any entry makes the export fail.
    """

    destination: str
    location: str
    exported: list[str] = attrs.Factory(list)
    skipped: dict[str, str] = attrs.Factory(dict)
    failed: dict[str, str] = attrs.Factory(dict)


class ResultExporter(abc.ABC):
    """Writes finished jobs' results somewhere. Exporting the same jobs twice changes nothing."""

    name: ClassVar[str]

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings

    @abc.abstractmethod
    def export(self, items: Sequence[ExportItem]) -> ExportReport:
        """Export ``items``; idempotent: a job exported again replaces its record.

        A destination that takes some jobs and refuses others reports the refused ones in
        :attr:`ExportReport.failed`; one that takes nothing raises. Nothing is half-written:
        a job is either recorded whole or not at all.

        Raises:
            ExportError: when the destination refuses the results (or cannot be reached).
        """


@attrs.frozen(kw_only=True)
class ExporterSpec:
    """The registration of an exporter (the object an ``nel.exporters`` entry point names)."""

    name: str
    factory: Any  # Callable[[dict[str, Any]], ResultExporter]; heavy SDKs imported inside it
    package: str
    description: str = ""
