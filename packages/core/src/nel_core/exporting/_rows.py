"""The row every exporter writes for a job: who ran what where, and its metrics."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import attrs

from nel_core.exporting._metrics import MetricFilter, flatten_metrics
from nel_core.layout import RUN_CONFIG_FILE
from nel_core.models.domain import Invocation, Job
from nel_core.models.results import JobResults

__all__ = ["ExportRow", "build_row", "read_run_config"]


@attrs.frozen(kw_only=True)
class ExportRow:
    """One job as every destination shows it.

    Args:
        model: The model id the harness was pointed at ("" when unknown).
        harness: The harness (``simple_evals``; "" when unknown).
        task: The task as the run named it (``simple_evals.mmlu``).
        executor: The executor that ran the job.
        invocation_id: Its invocation.
        job_id: The job (``<invocation>.<n>``): the key of the row at every destination.
        metrics: Flat name -> value, already filtered by ``log_metrics``.
    """

    #: The fields before the metrics, in the order tables show them.
    FIELDS: ClassVar[tuple[str, ...]] = ("model", "harness", "task", "executor", "invocation_id", "job_id")
    #: A table's column heading of each field (NeMo Evaluator Launcher's names), in that order.
    COLUMNS: ClassVar[dict[str, str]] = {
        "Model Name": "model", "Harness": "harness", "Task Name": "task", "Executor": "executor",
        "Invocation ID": "invocation_id", "Job ID": "job_id",
    }  # fmt: skip

    model: str
    harness: str
    task: str
    executor: str
    invocation_id: str
    job_id: str
    metrics: dict[str, float] = attrs.Factory(dict)

    def fields(self) -> dict[str, str]:
        """The identifying fields (:attr:`FIELDS`) by name."""
        return {name: str(getattr(self, name)) for name in self.FIELDS}


def read_run_config(job_dir: Path) -> Mapping[str, Any]:
    """The job's ``run_config.yml`` (the harness's own copy in ``artifacts/`` if the job has none)."""
    from nel_core.yaml_io import YamlError, load  # PyYAML only once a row is built

    for path in (job_dir / RUN_CONFIG_FILE, job_dir / "artifacts" / RUN_CONFIG_FILE):
        try:
            data = load(path.read_text())
        except (OSError, UnicodeDecodeError, YamlError):
            continue
        if isinstance(data, Mapping):
            return data
    return {}


def _at(data: Any, *keys: str) -> Any:
    for key in keys:
        data = data.get(key) if isinstance(data, Mapping) else None
    return data


def _model(invocation: Invocation, run_config: Mapping[str, Any]) -> str:
    for value in (
        _at(run_config, "target", "api_endpoint", "model_id"),
        _at(invocation.config, "target", "api_endpoint", "model_id"),
        _at(invocation.config, "deployment", "served_model_name"),
    ):
        if isinstance(value, str) and value:
            return value
    return ""


def _harness(job: Job, run_config: Mapping[str, Any]) -> str:
    harness, dot, _ = job.task_name.partition(".")
    if dot and harness:
        return harness
    framework = run_config.get("framework_name")
    return framework if isinstance(framework, str) else ""


def build_row(
    invocation: Invocation,
    job: Job,
    results: JobResults,
    *,
    run_config: Mapping[str, Any] | None = None,
    metric_filter: MetricFilter = MetricFilter(),  # noqa: B008 - frozen, so sharing it is safe
) -> ExportRow:
    """The row of ``job``.

    Raises:
        ExportError: when its metrics cannot be flattened (see :func:`flatten_metrics`).
    """
    config = run_config if run_config is not None else read_run_config(Path(job.job_dir))
    return ExportRow(
        model=_model(invocation, config),
        harness=_harness(job, config),
        task=job.task_name,
        executor=job.executor or invocation.executor,
        invocation_id=invocation.id,
        job_id=job.id,
        metrics=metric_filter.apply(flatten_metrics(results)),
    )
