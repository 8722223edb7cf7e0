"""The results of a job: the scores of the harness's ``results.yml`` and its request statistics."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["JobResults", "RequestStats", "Score"]


@attrs.frozen(kw_only=True)
class RequestStats:
    """How many of a job's requests to the endpoint failed, as its harness counted them.

    A failed request is one that got no usable answer (an HTTP error, a timeout, a dropped
    connection): the endpoint failed, not the model, whatever score the harness gave the item.

    Args:
        total: Requests counted.
        failed: Requests among them that failed.
        error: A short description of the failures: the first one (``first: HTTP 503 Service
            Unavailable``) or the error statuses seen (``HTTP 503 Service Unavailable: 9``).
        source: The harness's file the counts come from.
        parallelism: The requests in flight the harness used (the level it settled on with
            ``parallelism: auto``); None when it did not say.
        tokens_per_s: Completion tokens per second the harness measured over its run.
    """

    total: int
    failed: int
    error: str = ""
    source: str = ""
    parallelism: int | None = None
    tokens_per_s: float | None = None

    @property
    def failure_rate(self) -> float | None:
        """``failed / total``; None when no request was counted."""
        return self.failed / self.total if self.total else None


@attrs.frozen(kw_only=True)
class Score:
    """One score: ``results.tasks.<task>.metrics.<metric>.scores.<score>``."""

    task: str
    metric: str
    name: str
    value: float
    stats: dict[str, Any] = attrs.Factory(dict)
    group: bool = False

    @property
    def key(self) -> str:
        """Dotted name: ``task.metric.score``."""
        return f"{self.task}.{self.metric}.{self.name}"


@attrs.frozen(kw_only=True)
class JobResults:
    """All scores of one job (tasks and groups)."""

    scores: list[Score] = attrs.Factory(list)

    @property
    def has_scores(self) -> bool:
        """A job succeeds only when its results hold at least one score."""
        return bool(self.scores)

    def as_dict(self) -> dict[str, float]:
        """Scores keyed by their dotted name."""
        return {score.key: score.value for score in self.scores}

    @classmethod
    def from_mapping(cls, data: Any) -> JobResults:
        """Parse the structure of ``results.yml`` (tolerant: malformed parts are skipped)."""
        results = data.get("results", {}) if isinstance(data, Mapping) else {}
        scores: list[Score] = []
        if not isinstance(results, Mapping):
            return cls()
        for section, is_group in (("tasks", False), ("groups", True)):
            entries = results.get(section) or {}
            if isinstance(entries, Mapping):
                scores.extend(_scores_of(entries, is_group))
        return cls(scores=scores)


def _scores_of(entries: Mapping[str, Any], is_group: bool) -> list[Score]:
    found = []
    for task, body in entries.items():
        metrics = body.get("metrics", {}) if isinstance(body, Mapping) else {}
        for metric, metric_body in (metrics or {}).items():
            score_map = metric_body.get("scores", {}) if isinstance(metric_body, Mapping) else {}
            for name, score in (score_map or {}).items():
                value = score.get("value") if isinstance(score, Mapping) else None
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    continue
                stats = score.get("stats") or {}
                found.append(
                    Score(
                        task=str(task),
                        metric=str(metric),
                        name=str(name),
                        value=float(value),
                        stats=dict(stats) if isinstance(stats, Mapping) else {},
                        group=is_group,
                    )
                )
    return found
