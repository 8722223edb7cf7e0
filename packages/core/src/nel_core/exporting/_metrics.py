"""Metric names every exporter shares: flattening a job's results, and the ``log_metrics`` filter."""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from nel_core.errors import ConfigError, ExportError
from nel_core.models.results import JobResults, Score

__all__ = ["STDERR_SUFFIX", "MetricFilter", "flatten_metrics", "metric_key"]

#: Appended to a metric's flat name for its standard error, where the harness reports one.
STDERR_SUFFIX = "_stderr"
_GLOB = frozenset("*?[")


def metric_key(score: Score) -> str:
    """The flat name of a score: ``<task>_<metric>_<score>``."""
    return f"{score.task}_{score.metric}_{score.name}"


def _stderr(score: Score) -> float | None:
    value = score.stats.get("stderr")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def flatten_metrics(results: JobResults) -> dict[str, float]:
    """Every score of ``results`` under its flat name, with ``<name>_stderr`` where reported.

    Raises:
        ExportError: when two different scores would share a flat name with different values
            (``a_b`` / ``c`` and ``a`` / ``b_c``): exporting either would hide the other.
    """
    flat: dict[str, float] = {}
    origin: dict[str, str] = {}

    def put(key: str, value: float, source: str) -> None:
        if key in flat and not _same(flat[key], value):
            raise ExportError(
                f"metric '{key}' stands for both {origin[key]} ({flat[key]}) and {source} ({value})"
            )
        flat.setdefault(key, value)
        origin.setdefault(key, source)

    for score in results.scores:
        key = metric_key(score)
        put(key, score.value, score.key)
        stderr = _stderr(score)
        if stderr is not None:
            put(key + STDERR_SUFFIX, stderr, f"the stderr of {score.key}")
    return flat


@attrs.frozen(kw_only=True)
class MetricFilter:
    """The ``log_metrics`` patterns: which metrics an export keeps (all when there is none).

    A pattern with a glob character (``*?[``) must match the whole flat name; any other pattern
    needs only to occur in it (as NeMo Evaluator Launcher matches). Case is ignored. A metric's
    ``_stderr`` companion is kept exactly when the metric itself is.
    """

    patterns: tuple[str, ...] = ()

    @classmethod
    def from_setting(cls, value: Any, key: str = "log_metrics") -> MetricFilter:
        """Read ``log_metrics`` as a config or ``-o`` gives it: a list of strings, or one string.

        Raises:
            ConfigError: naming ``key`` when the value is neither.
        """
        if value is None or value == "":
            return cls()
        if isinstance(value, str):
            return cls(patterns=tuple(p.strip() for p in value.split(",") if p.strip()))
        if isinstance(value, Sequence) and all(isinstance(p, str) for p in value):
            return cls(patterns=tuple(p for p in value if p))
        raise ConfigError(f"{key}: expected a list of metric name patterns, got {value!r}")

    def matches(self, name: str) -> bool:
        """Whether the metric ``name`` (a flat name, without ``_stderr``) is kept."""
        if not self.patterns:
            return True
        lowered = name.lower()
        for pattern in self.patterns:
            wanted = pattern.lower()
            if _GLOB & set(wanted):
                if fnmatch.fnmatchcase(lowered, wanted):
                    return True
            elif wanted in lowered:
                return True
        return False

    def apply(self, metrics: Mapping[str, float]) -> dict[str, float]:
        """The metrics it keeps, in their order."""
        kept = {}
        for name, value in metrics.items():
            base = name
            if name.endswith(STDERR_SUFFIX) and name[: -len(STDERR_SUFFIX)] in metrics:
                base = name[: -len(STDERR_SUFFIX)]
            if self.matches(base):
                kept[name] = value
        return kept
