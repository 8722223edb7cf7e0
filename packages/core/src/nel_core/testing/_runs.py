"""A finished run on disk, as any executor leaves it, for tests of reports, comparisons and gates."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from nel_core.layout import ARTIFACTS_DIR, CONFIG_FILE, EXIT, PRE_START, REQUESTS_FILE, RESULTS_FILE, RUN_CONFIG_FILE
from nel_core.results._read import write_samples
from nel_core.results._sample import Sample, TokenCounts, prompt_hash
from nel_core.yaml_io import dump

__all__ = ["ERROR", "write_run"]

#: In an outcome list of :func:`write_run`: a sample whose request failed.
ERROR = None


def _stats(values: Sequence[float]) -> dict[str, float | int]:
    n = len(values)
    mean = sum(values) / n
    stddev = math.sqrt(sum((v - mean) ** 2 for v in values) / n)
    return {"count": n, "mean": round(mean, 6), "stddev": round(stddev, 6), "stderr": round(stddev / math.sqrt(n), 6)}


def _job(folder: Path, task: str, outcomes: Sequence[float | None], model: str, started: float) -> None:
    """One job's folder: run config, markers, results (accuracy over all samples), samples, request counts."""
    name = task.split(".", 1)[-1]
    artifacts = folder / ARTIFACTS_DIR
    artifacts.mkdir(parents=True, exist_ok=True)
    run_config = {"config": {"type": task}, "target": {"api_endpoint": {"model_id": model, "url": "http://127.0.0.1:9/v1"}}}
    (folder / RUN_CONFIG_FILE).write_text(dump(run_config))
    (folder / PRE_START).write_text(f"{int(started)}\n")
    samples = []
    for index, score in enumerate(outcomes):
        prompt = f"Question {index} of {name}?"
        samples.append(
            Sample(
                id=f"{name}-{index:04d}",
                task=name,
                prompt=prompt,
                prompt_hash=prompt_hash(prompt),
                expected=[f"answer {index}"],
                response=None if score is ERROR else (f"answer {index}" if score == 1.0 else "something else"),
                score=score,
                latency_s=0.25,
                tokens=None if score is ERROR else TokenCounts(prompt=10, completion=2, total=12),
                error="HTTP 503 Service Unavailable" if score is ERROR else None,
                error_status=503 if score is ERROR else None,
            )
        )
    write_samples(artifacts / "samples.jsonl", samples)
    failed = sum(score is ERROR for score in outcomes)
    accuracy = [0.0 if score is ERROR else float(score) for score in outcomes]
    metrics: dict[str, object] = {}
    if accuracy and failed < len(outcomes):
        stats = _stats(accuracy)
        metrics["accuracy"] = {"scores": {"correct": {"value": stats["mean"], "stats": stats}}}
    tasks = {name: {"metrics": metrics}} if metrics else {}
    (artifacts / RESULTS_FILE).write_text(dump({"results": {"groups": {}, "tasks": tasks}}))
    first = {"status": 503, "url": "http://127.0.0.1:9/v1", "message": "HTTP 503"} if failed else None
    counts = {"requests": len(outcomes), "failed": failed, "first_error": first}
    (artifacts / REQUESTS_FILE).write_text(json.dumps(counts))
    (folder / EXIT).write_text("0\n")
    ended = started + 1.0 + 0.25 * len(outcomes)
    os.utime(folder / EXIT, (ended, ended))


def write_run(
    root: Path,
    run_id: str,
    tasks: Mapping[str, Sequence[float | None]],
    *,
    model: str = "test-model",
    executor: str = "local",
    started: float = 1_700_000_000.0,
) -> Path:
    """Write an ended invocation's folder ``root/run_id`` with one job per task; its path.

    Args:
        root: Where the invocation's folder goes (``execution.output_dir``).
        run_id: The invocation's id (the folder's name).
        tasks: ``harness.task`` -> each sample's score (1.0 right, 0.0 wrong, :data:`ERROR` when
            its request failed). Accuracy counts a failed request as wrong, as harnesses do; a
            job whose every request failed has no score (and so fails).
        model: The model of every job's run config.
        executor: ``execution.type`` of the invocation's config.
        started: The jobs' start time.
    """
    run_dir = root / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    config = {"execution": {"type": executor}, "target": {"api_endpoint": {"model_id": model}}}
    (run_dir / CONFIG_FILE).write_text(dump(config))
    for index, (task, outcomes) in enumerate(tasks.items()):
        _job(run_dir / f"{index}-{task}", task, outcomes, model, started + index)
    return run_dir
