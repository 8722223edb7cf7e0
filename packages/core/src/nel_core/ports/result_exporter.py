"""Port: a result exporter (files, MLflow, W&B, Google Sheets)."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import attrs

from nel_core.models.domain import Invocation, Job
from nel_core.models.results import JobResults

__all__ = ["ExportItem", "ExportReport", "ExporterSpec", "ResultExporter"]


@attrs.frozen(kw_only=True)
class ExportItem:
    """One finished job with its results and where its artifacts are."""

    invocation: Invocation
    job: Job
    results: JobResults
    artifacts_dir: Path


@attrs.frozen(kw_only=True)
class ExportReport:
    """What an export did: where it wrote and which jobs it wrote or skipped."""

    destination: str
    location: str
    exported: list[str] = attrs.Factory(list)
    skipped: list[str] = attrs.Factory(list)


class ResultExporter(abc.ABC):
    """Writes finished jobs' results somewhere. Exporting the same jobs twice changes nothing."""

    name: ClassVar[str]

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings

    @abc.abstractmethod
    def export(self, items: Sequence[ExportItem]) -> ExportReport:
        """Export ``items``; idempotent.

        Raises:
            ExportError: when the destination refuses the results.
        """


@attrs.frozen(kw_only=True)
class ExporterSpec:
    """The registration of an exporter (the object an ``nel.exporters`` entry point names)."""

    name: str
    factory: Any  # Callable[[dict[str, Any]], ResultExporter]; heavy SDKs imported inside it
    package: str
    description: str = ""
