"""Small builders for tests: invocations, jobs, run configs and harness results."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nel_core.models.domain import Invocation, Job, JobState
from nel_core.services.ids import job_id
from nel_core.yaml_io import dump

__all__ = ["make_invocation", "make_jobs", "results_document", "run_config_data", "write_results"]


def make_invocation(
    invocation_id: str = "0123abcd",
    *,
    executor: str = "fake",
    created_at: float = 1_700_000_000.0,
    output_dir: str = "/nowhere",
    config: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
) -> Invocation:
    """An invocation as the launch service records it (no directory is created)."""
    return Invocation(
        id=invocation_id,
        executor=executor,
        output_dir=output_dir,
        created_at=created_at,
        config=config if config is not None else {"execution": {"type": executor}},
        data=data or {},
    )


def make_jobs(
    invocation: Invocation,
    count: int = 2,
    *,
    states: list[JobState] | None = None,
    root: Path | None = None,
) -> list[Job]:
    """``count`` jobs of ``invocation`` (``<id>.0`` ...), with their directories under ``root``.

    Directories are created only when ``root`` is given.
    """
    jobs = []
    for index in range(count):
        job_dir = (root or Path(invocation.output_dir)) / f"{index}-task{index}"
        if root is not None:
            (job_dir / "artifacts").mkdir(parents=True, exist_ok=True)
        jobs.append(
            Job(
                id=job_id(invocation.id, index),
                invocation_id=invocation.id,
                index=index,
                task_name=f"harness.task{index}",
                executor=invocation.executor,
                job_dir=str(job_dir),
                state=states[index] if states else JobState.PENDING,
                handle=f"handle-{invocation.id}-{index}",
                updated_at=invocation.created_at,
                data={"index": index},
            )
        )
    return jobs


def results_document(task: str, scores: Mapping[str, float], *, count: int = 10) -> dict[str, Any]:
    """A ``results.yml`` document in nemo-evaluator's shape.

    Args:
        task: The task's name under ``results.tasks``.
        scores: ``metric`` or ``metric.score`` -> value (the score name defaults to the metric's).
    """
    metrics: dict[str, Any] = {}
    for key, value in scores.items():
        metric, _, score = key.partition(".")
        stats = {"count": count, "mean": value, "stddev": 0.0, "stderr": 0.0}
        metrics.setdefault(metric, {"scores": {}})["scores"][score or metric] = {
            "value": value,
            "stats": stats,
        }
    tasks = {task: {"metrics": metrics}} if metrics else {}
    return {"results": {"groups": {}, "tasks": tasks}}


def write_results(results_dir: Path, task: str, scores: Mapping[str, float]) -> Path:
    """Write ``results.yml`` (see :func:`results_document`) into ``results_dir``; its path."""
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / "results.yml"
    path.write_text(dump(results_document(task, scores)))
    return path


def run_config_data(
    output_dir: str | Path,
    *,
    tasks: list[str] | None = None,
    executor: str = "fake",
    url: str | None = "http://127.0.0.1:8008/v1/chat/completions",
    model_id: str | None = "fake-model",
    **sections: Any,
) -> dict[str, Any]:
    """A plain config mapping (as Hydra composes it) for ``structure_run_config``.

    ``sections`` replace whole top-level sections (``deployment={...}``, ``env_vars={...}``).
    """
    api_endpoint = {key: value for key, value in (("url", url), ("model_id", model_id)) if value}
    data: dict[str, Any] = {
        "execution": {"type": executor, "output_dir": str(output_dir)},
        "deployment": {"type": "none"},
        "target": {"api_endpoint": api_endpoint},
        "evaluation": {"tasks": [{"name": name} for name in (tasks or ["nel_bench.arithmetic"])]},
    }
    data.update(sections)
    return data
