"""Turn per-sample outcomes into the harness contract's results structure.

The shape is what nemo-evaluator's ``EvaluationResult`` validates and what NEL
reads from results.yml: ``tasks.<task>.metrics.<metric>.scores.<score>``
with ``value`` and ``stats {count, mean, stddev, stderr}``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict

from .client import TokenUsage

__all__ = [
    "GroupResult",
    "MetricResult",
    "RequestCounts",
    "RequestError",
    "Results",
    "SampleOutcome",
    "Score",
    "ScoreStats",
    "TaskResult",
    "build_results",
    "request_counts",
    "score_stats",
]

ACCURACY_METRIC = "accuracy"
OVERALL_SCORE = "correct"
REQUESTS_METRIC = "requests"
FAILURE_SCORE = "failure_rate"


class ScoreStats(TypedDict):
    """The statistics written beside a score's value."""

    count: int
    mean: float
    stddev: float
    stderr: float


class Score(TypedDict):
    """One score: ``value`` and its ``stats``."""

    value: float
    stats: ScoreStats


class MetricResult(TypedDict):
    """One metric: its scores by name."""

    scores: dict[str, Score]


class TaskResult(TypedDict):
    """One task: its metrics by name."""

    metrics: dict[str, MetricResult]


class GroupResult(TypedDict):
    """One group of tasks: its metrics by name (nel_bench defines no groups)."""

    metrics: dict[str, MetricResult]


class Results(TypedDict):
    """The results structure: what nemo-evaluator writes under ``results`` in results.yml."""

    tasks: dict[str, TaskResult]
    groups: dict[str, GroupResult]


class RequestError(TypedDict):
    """One failed request: its HTTP status (None without an HTTP answer), URL and message."""

    status: int | None
    url: str | None
    message: str | None


class RequestCounts(TypedDict):
    """The requests of a run and how many failed (after retries): ``REQUESTS_FILE``.

    ``first_error`` is the failure of the first failed item in dataset order, None when
    none failed.
    """

    requests: int
    failed: int
    first_error: RequestError | None


@dataclass(frozen=True)
class SampleOutcome:
    """What happened to one item: the answer and its score, or the request error.

    A failed request also keeps the URL it went to and its HTTP status (None when no HTTP
    answer came).
    """

    id: str
    subset: str
    correct: bool
    response: str | None = None
    error: str | None = None
    latency_s: float = 0.0
    error_url: str | None = None
    error_status: int | None = None
    tokens: TokenUsage | None = None

    @property
    def failed(self) -> bool:
        """True when no answer came back (the request failed after retries)."""
        return self.error is not None


def score_stats(values: Sequence[float]) -> Score:
    """Return ``{value, stats}`` for 0/1 (or real) values.

    stddev is the population standard deviation and stderr = stddev / sqrt(n),
    the convention of nemo-evaluator's own BYOB aggregation.

    Raises:
        ValueError: ``values`` is empty (a score of nothing is not zero).
    """
    n = len(values)
    if n == 0:
        raise ValueError("cannot score an empty list of values")
    mean = sum(values) / n
    stddev = math.sqrt(sum((v - mean) ** 2 for v in values) / n)
    stderr = stddev / math.sqrt(n)
    stats: ScoreStats = {
        "count": n,
        "mean": round(mean, 6),
        "stddev": round(stddev, 6),
        "stderr": round(stderr, 6),
    }
    return {"value": round(mean, 6), "stats": stats}


def build_results(task: str, outcomes: Sequence[SampleOutcome]) -> Results:
    """Aggregate ``outcomes`` of ``task`` into ``{"tasks": ..., "groups": {}}``.

    A failed request counts as a wrong answer in accuracy and as a failure in
    ``requests.failure_rate``. When no request succeeded at all, no score is
    written (``tasks`` is empty): an accuracy of 0 for a dead endpoint would
    look like a real result, and NEL treats a results.yml without scores as a
    failed job.
    """
    if not outcomes or all(o.failed for o in outcomes):
        return {"tasks": {}, "groups": {}}
    accuracy = {OVERALL_SCORE: score_stats([float(o.correct) for o in outcomes])}
    subsets = sorted({o.subset for o in outcomes})
    if len(subsets) > 1:
        # Mixed tasks also report each dataset, so a regression can be located.
        for subset in subsets:
            values = [float(o.correct) for o in outcomes if o.subset == subset]
            accuracy[subset] = score_stats(values)
    failures = {FAILURE_SCORE: score_stats([float(o.failed) for o in outcomes])}
    metrics: dict[str, MetricResult] = {
        ACCURACY_METRIC: {"scores": accuracy},
        REQUESTS_METRIC: {"scores": failures},
    }
    return {"tasks": {task: {"metrics": metrics}}, "groups": {}}


def request_counts(outcomes: Sequence[SampleOutcome]) -> RequestCounts:
    """Count the requests of ``outcomes`` (one per item) and name the first failure."""
    failed = [o for o in outcomes if o.failed]
    first: RequestError | None = None
    if failed:
        head = failed[0]
        first = {"status": head.error_status, "url": head.error_url, "message": head.error}
    return {"requests": len(outcomes), "failed": len(failed), "first_error": first}
