"""The data of a report on runs: a plain JSON document that the HTML, Markdown and JSON outputs share.

Shape (``version`` 1)::

    {"version": 1, "generated_at": ..., "confidence": 0.95,
     "runs": [{"id", "model", "executor", "created_at", "source", "jobs", "succeeded", "failed",
               "duration_s", "tokens", "requests", "failed_requests", "samples"}],
     "jobs": [{"run", "id", "task", "state", "reason", "model", "duration_s", "tokens",
               "requests", "failed_requests", "failure_rate", "request_error",
               "scores": [{"key", "value", "stderr", "count", "low", "high"}],
               "samples": {"source", "note", "count", "correct", "wrong", "errors", "unscored"}}],
     "metrics": [{"task", "key", "values": {"<run id>": {"value", "low", "high", "job"}}}],
     "samples": {"<job id>": [[id, subset, outcome, score, expected, response, prompt,
                               latency_s, tokens, error], ...]}}

A score's interval is Wilson's when the score is a proportion (the mean of 0/1 values, as its
stddev shows), else ``value`` ± z × ``stderr`` when results.yml gives a stderr (null bounds
otherwise). ``failed_requests`` are the endpoint's failures (its infrastructure), counted apart
from wrong answers; a sample whose request failed has outcome ``error``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from typing import Any

from nel_core.layout import EVAL_FACTORY_METRICS
from nel_core.models.domain import JobState
from nel_core.models.results import Score
from nel_core.results._read import SampleSet
from nel_core.results._runs import JobView, RunView
from nel_core.results.stats import normal_interval, wilson_interval

__all__ = ["REPORT_VERSION", "SAMPLE_COLUMNS", "report_document", "score_interval"]

REPORT_VERSION = 1
#: The columns of a sample row in the document's ``samples``.
SAMPLE_COLUMNS = ("id", "subset", "outcome", "score", "expected", "response", "prompt", "latency_s", "tokens", "error")


def _clip(text: str | None, limit: int) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[:limit] + f"... [{len(text) - limit} more characters]"


def _real(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0:
        return float(value)
    return None


def _proportion(value: float, count: int, stddev: float | None) -> bool:
    """Whether the score is the mean of 0/1 values (its stddev is that of a proportion)."""
    if not 0.0 <= value <= 1.0 or count < 1 or stddev is None:
        return False
    population = math.sqrt(value * (1.0 - value))
    sample = population * math.sqrt(count / (count - 1)) if count > 1 else population
    return min(abs(stddev - population), abs(stddev - sample)) < 1e-3


def score_interval(score: Score, confidence: float = 0.95) -> tuple[float, float] | None:
    """A score's interval: Wilson's for a proportion, value ± z x stderr otherwise (None without)."""
    if not math.isfinite(score.value):
        return None
    stderr, stddev = _real(score.stats.get("stderr")), _real(score.stats.get("stddev"))
    count = score.stats.get("count")
    if isinstance(count, int) and not isinstance(count, bool) and count and _proportion(score.value, count, stddev):
        _, low, high = wilson_interval(round(score.value * count), count, confidence)
        return low, high
    if stderr is not None:
        _, low, high = normal_interval(score.value, stderr, confidence)
        return low, high
    return None


def _score(score: Score, confidence: float) -> dict[str, Any]:
    count = score.stats.get("count")
    interval = score_interval(score, confidence)
    return {
        "key": score.key,
        "value": score.value if math.isfinite(score.value) else None,
        "stderr": _real(score.stats.get("stderr")),
        "count": count if isinstance(count, int) and not isinstance(count, bool) else None,
        "low": None if interval is None else round(interval[0], 6),
        "high": None if interval is None else round(interval[1], 6),
    }


def _evaluator_tokens(job: JobView) -> int | None:
    """Tokens from nemo-evaluator's response statistics (average x answers), when it kept them."""
    try:
        stats = json.loads((job.artifacts / EVAL_FACTORY_METRICS).read_text(encoding="utf-8"))["response_stats"]
        return round(float(stats["avg_total_tokens"]) * int(stats["successful_count"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _tokens(job: JobView, samples: SampleSet) -> int | None:
    counted = [s.tokens.sum for s in samples.samples if s.tokens is not None and s.tokens.sum is not None]
    if counted:
        return sum(c for c in counted if c is not None)
    return _evaluator_tokens(job)


def _sample_rows(samples: SampleSet, max_text: int) -> list[list[Any]]:
    rows = []
    for s in samples.samples:
        rows.append(
            [
                s.id,
                s.subset,
                s.outcome,
                s.score,
                _clip(" | ".join(s.expected), max_text) if s.expected else None,
                _clip(s.response, max_text),
                _clip(s.prompt, max_text),
                s.latency_s,
                s.tokens.sum if s.tokens is not None else None,
                _clip(s.error, max_text),
            ]
        )
    return rows


def _job_entry(run: RunView, job: JobView, samples: SampleSet, confidence: float) -> dict[str, Any]:
    outcomes = [s.outcome for s in samples.samples]
    requests = job.requests
    return {
        "run": run.id,
        "id": job.id,
        "task": job.task,
        "state": job.state.value,
        "reason": job.reason,
        "model": job.model,
        "duration_s": job.duration_s,
        "tokens": _tokens(job, samples),
        "requests": requests.total if requests else None,
        "failed_requests": requests.failed if requests else None,
        "failure_rate": requests.failure_rate if requests else None,
        "request_error": requests.error if requests else "",
        "scores": [_score(score, confidence) for score in job.results.scores],
        "samples": {
            "source": samples.source,
            "note": samples.note,
            "count": len(outcomes),
            "correct": outcomes.count("correct"),
            "wrong": outcomes.count("wrong"),
            "errors": outcomes.count("error"),
            "unscored": outcomes.count("unscored"),
        },
    }


def _sum(values: Sequence[Any]) -> Any:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _run_entry(run: RunView, jobs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    starts = [j.started_at for j in run.jobs if j.started_at is not None]
    ends = [j.ended_at for j in run.jobs if j.ended_at is not None]
    return {
        "id": run.id,
        "model": run.model,
        "executor": run.executor,
        "created_at": run.created_at,
        "source": run.source,
        "jobs": len(run.jobs),
        "succeeded": sum(j.state is JobState.SUCCESS for j in run.jobs),
        "failed": sum(j.state in (JobState.FAILED, JobState.KILLED) for j in run.jobs),
        "duration_s": max(ends) - min(starts) if starts and ends and max(ends) >= min(starts) else None,
        "tokens": _sum([j["tokens"] for j in jobs]),
        "requests": _sum([j["requests"] for j in jobs]),
        "failed_requests": _sum([j["failed_requests"] for j in jobs]),
        "samples": sum(j["samples"]["count"] for j in jobs),
    }


def report_document(
    runs: Sequence[RunView], *, confidence: float = 0.95, max_text: int = 2000, samples: bool = True
) -> dict[str, Any]:
    """The report's data for ``runs`` (see the module's docstring).

    Args:
        runs: The runs, in the order to show them.
        confidence: The confidence of the scores' intervals.
        max_text: Longest prompt, response or expected answer kept per sample (longer is cut).
        samples: Whether to include the samples' rows (their counts are always there).
    """
    jobs: list[dict[str, Any]] = []
    rows: dict[str, list[list[Any]]] = {}
    run_entries = []
    metrics: dict[tuple[str, str], dict[str, Any]] = {}
    for run in runs:
        entries = []
        for job in run.jobs:
            sample_set = job.samples()
            entry = _job_entry(run, job, sample_set, confidence)
            entries.append(entry)
            if samples and sample_set.samples:
                rows[job.id] = _sample_rows(sample_set, max_text)
            for score in entry["scores"]:
                fresh = {"task": job.task, "key": score["key"], "values": {}}
                metric = metrics.setdefault((job.task, score["key"]), fresh)
                point = {"value": score["value"], "low": score["low"], "high": score["high"], "job": job.id}
                metric["values"][run.id] = point
        jobs.extend(entries)
        run_entries.append(_run_entry(run, entries))
    return {
        "version": REPORT_VERSION,
        "generated_at": time.time(),
        "confidence": confidence,
        "sample_columns": list(SAMPLE_COLUMNS),
        "runs": run_entries,
        "jobs": jobs,
        "metrics": list(metrics.values()),
        "samples": rows,
    }
