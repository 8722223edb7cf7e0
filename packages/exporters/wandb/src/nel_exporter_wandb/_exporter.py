"""The ``wandb`` exporter: a W&B run per job (``per_task``) or per invocation (``multi_task``)."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any, ClassVar

from nel_core.errors import ExportError
from nel_core.exporting import artifact_files, log_files
from nel_core.ports.result_exporter import ExportItem, ExportReport, ResultExporter
from nel_exporter_wandb._settings import WandbSettings, safe_name

__all__ = ["WandbExporter"]


def _wandb() -> Any:
    """The W&B SDK, imported only when the exporter runs."""
    try:
        return importlib.import_module("wandb")
    except ImportError as exc:  # pragma: no cover - the package depends on it
        raise ExportError(f"the wandb exporter needs the W&B SDK: {exc}", hint="pip install wandb") from exc


def _root(item: ExportItem) -> str:
    """``<harness>.<task>``: where a job's files go inside an artifact."""
    bare = item.row.task.partition(".")[2] or item.row.task
    return f"{item.row.harness}.{bare}".strip(".")


class WandbExporter(ResultExporter):
    """Logs finished jobs to Weights & Biases (NeMo Evaluator Launcher's ``wandb`` destination).

    ``per_task``: one run per job, grouped by invocation, config with the job's identity and
    ``extra_metadata``, its metrics logged and in the summary, and an artifact
    ``<invocation>_<task>`` with its result files (and logs with ``copy_logs``).
    ``multi_task``: one run per invocation holding every job's metrics, ``benchmarks`` and
    ``harnesses`` in its config, and one artifact named after the invocation.

    Each run has a stable id (the job's or the invocation's, or ``run_id``) and is resumed when
    exported again, so W&B keeps one run per job (or invocation) with the latest values. With
    ``WANDB_MODE=offline`` the runs are written under ``WANDB_DIR`` for ``wandb sync``.

    Raises:
        ConfigError: when a setting is unknown or malformed, or entity or project is missing.
    """

    name: ClassVar[str] = "wandb"

    def __init__(self, settings: dict[str, Any]) -> None:
        super().__init__(settings)
        self.options = WandbSettings.read(settings)

    def _add_files(self, artifact: Any, item: ExportItem) -> None:
        root = _root(item)
        common = self.options.common
        if common.copy_artifacts:
            for path, name in artifact_files(item.artifacts_dir, only_required=common.only_required):
                artifact.add_file(str(path), name=f"{root}/artifacts/{name}")
        if common.copy_logs:
            for path, name in log_files(item.job_dir):
                artifact.add_file(str(path), name=f"{root}/logs/{name}")

    def _run(self, run_id: str, name: str, group: str, config: dict[str, Any], items: Sequence[ExportItem]) -> None:
        wandb = _wandb()
        options = self.options
        run = wandb.init(
            entity=options.entity,
            project=options.project,
            id=run_id,
            resume="allow",
            name=options.name or name,
            group=options.group or group,
            job_type=options.job_type,
            tags=list(options.tags) or None,
            notes=options.description,
            config={**config, **options.extra_metadata},
        )
        try:
            metrics: dict[str, float] = {}
            for item in items:
                metrics.update(item.row.metrics)
            run.log(metrics)
            run.summary.update(metrics)
            invocation = items[0].invocation.id
            artifact_name = invocation if len(items) > 1 or options.log_mode == "multi_task" else (
                f"{invocation}_{items[0].row.task}"
            )
            artifact = wandb.Artifact(
                safe_name(artifact_name),
                type="evaluation_result",
                description="Evaluation results",
                metadata={"invocation_id": invocation, "jobs": [item.job.id for item in items]},
            )
            for item in items:
                self._add_files(artifact, item)
            run.log_artifact(artifact)
        except BaseException:
            run.finish(exit_code=1)
            raise
        run.finish()

    def _per_task(self, item: ExportItem) -> None:
        row = item.row
        config = {
            "invocation_id": row.invocation_id,
            "job_id": row.job_id,
            "executor": row.executor,
            "harness": row.harness,
            "benchmark": row.task,
            "model": row.model,
        }
        run_id = safe_name(f"{self.options.run_id}-{row.job_id}" if self.options.run_id else row.job_id)
        self._run(run_id, f"eval-{row.invocation_id}-{row.task}", row.invocation_id, config, [item])

    def _multi_task(self, invocation_id: str, items: Sequence[ExportItem]) -> None:
        config = {
            "invocation_id": invocation_id,
            "executor": ", ".join(sorted({item.row.executor for item in items})),
            "model": ", ".join(sorted({item.row.model for item in items})),
            "job_ids": sorted(item.job.id for item in items),
            "benchmarks": sorted({item.row.task for item in items}),
            "harnesses": sorted({item.row.harness for item in items}),
        }
        run_id = safe_name(self.options.run_id or invocation_id)
        self._run(run_id, f"eval-{invocation_id}", invocation_id, config, items)

    def export(self, items: Sequence[ExportItem]) -> ExportReport:
        location = f"wandb:{self.options.entity}/{self.options.project}"
        batches: list[list[ExportItem]]
        if self.options.log_mode == "per_task":
            batches = [[item] for item in items]
        else:
            by_invocation: dict[str, list[ExportItem]] = {}
            for item in items:
                by_invocation.setdefault(item.invocation.id, []).append(item)
            batches = list(by_invocation.values())
        exported: list[str] = []
        failed: dict[str, str] = {}
        for batch in batches:
            try:
                if self.options.log_mode == "per_task":
                    self._per_task(batch[0])
                else:
                    self._multi_task(batch[0].invocation.id, batch)
            except Exception as exc:  # noqa: BLE001 - one run's failure is reported, the others go on
                failed.update({item.job.id: f"{type(exc).__name__}: {exc}" for item in batch})
            else:
                exported.extend(item.job.id for item in batch)
        if batches:
            # W&B keeps a service process (and the settings it started with) for the whole
            # process: end it, so nothing outlives the export and the next one starts afresh.
            _wandb().teardown()
        return ExportReport(destination=self.name, location=location, exported=exported, failed=failed)
