"""A release policy: which benchmarks a candidate must pass, in which tier, by which thresholds.

A policy file (YAML)::

    confidence: 0.95                 # of the intervals the checks use (default 0.95)
    tiers:                           # optional: these three exist unless redefined
      critical: {blocking: true, max_drop: 0.0}
      standard: {blocking: true, max_drop: 0.02}
      informational: {blocking: false, max_drop: 0.0}
    benchmarks:
      - task: nel_bench.capitals     # the task's catalog name (as `nel ls tasks` lists it)
        score: accuracy.correct      # <metric>.<score>, or <task>.<metric>.<score>; default: see below
        tier: critical               # default: standard
        required: true               # default: true
        min: 0.6                     # the candidate's score must be at least this
        max_drop: 0.01               # at most this far below the base (absolute)
        max_relative_drop: 0.05      # at most this share of the base's score below it
        higher_is_better: true       # false for scores like failure rates (then `max`, and drops are rises)

A benchmark's thresholds override its tier's. Without ``score``, the score the task's samples
make up is checked (nel_bench: ``accuracy.correct``), else the task's first score.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from nel_core.errors import ConfigError, NelError

__all__ = ["DEFAULT_TIERS", "Benchmark", "Policy", "Tier", "load_policy", "policy_from_mapping"]


@attrs.frozen(kw_only=True)
class Tier:
    """How a tier's benchmarks count: whether a failure blocks, and default thresholds."""

    blocking: bool = True
    min: float | None = None
    max: float | None = None
    max_drop: float | None = None
    max_relative_drop: float | None = None


@attrs.frozen(kw_only=True)
class Benchmark:
    """One benchmark the policy checks (its thresholds, when set, override its tier's)."""

    task: str
    score: str | None = None
    tier: str = "standard"
    required: bool = True
    min: float | None = None
    max: float | None = None
    max_drop: float | None = None
    max_relative_drop: float | None = None
    higher_is_better: bool = True

    def threshold(self, tiers: dict[str, Tier], name: str) -> float | None:
        """The benchmark's own threshold ``name``, else its tier's."""
        own: float | None = getattr(self, name)
        inherited: float | None = getattr(tiers[self.tier], name)
        return own if own is not None else inherited


DEFAULT_TIERS: dict[str, Tier] = {
    "critical": Tier(blocking=True, max_drop=0.0),
    "standard": Tier(blocking=True, max_drop=0.02),
    "informational": Tier(blocking=False, max_drop=0.0),
}


@attrs.frozen(kw_only=True)
class Policy:
    """A release policy (see the module's docstring)."""

    benchmarks: list[Benchmark]
    tiers: dict[str, Tier] = attrs.Factory(dict)
    confidence: float = 0.95
    name: str = ""

    @property
    def all_tiers(self) -> dict[str, Tier]:
        """The default tiers with the policy's own over them."""
        return {**DEFAULT_TIERS, **self.tiers}


def _check(policy: Policy) -> None:
    """Rules the types cannot say; each error names its key."""
    if not 0.5 <= policy.confidence < 1.0:
        raise ConfigError(f"confidence: expected a number in [0.5, 1), got {policy.confidence}")
    if not policy.benchmarks:
        raise ConfigError("benchmarks: expected at least one benchmark")
    tiers = policy.all_tiers
    for name, tier in policy.tiers.items():
        _non_negative(f"tiers.{name}", tier)
    for index, benchmark in enumerate(policy.benchmarks):
        where = f"benchmarks[{index}]"
        if not benchmark.task.strip():
            raise ConfigError(f"{where}.task: expected a task name")
        if benchmark.tier not in tiers:
            known = ", ".join(sorted(tiers))
            raise ConfigError(f"{where}.tier: unknown tier {benchmark.tier!r} (tiers: {known})")
        _non_negative(where, benchmark)


def _non_negative(where: str, item: Tier | Benchmark) -> None:
    for key in ("max_drop", "max_relative_drop"):
        value = getattr(item, key)
        if value is not None and value < 0:
            raise ConfigError(f"{where}.{key}: expected a drop of 0 or more, got {value}")


def policy_from_mapping(data: Any) -> Policy:
    """Structure and check a policy's data.

    Raises:
        ConfigError: naming the key at fault.
    """
    from nel_core.converter import structure

    if not isinstance(data, dict):
        raise ConfigError("expected a mapping with a 'benchmarks' list at the top level")
    policy = structure(data, Policy)
    _check(policy)
    return policy


def load_policy(path: str | Path) -> Policy:
    """Read a policy file.

    Raises:
        ConfigError: one line naming the file and the key (or line) at fault.
    """
    from nel_core.yaml_io import load

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"{path}: cannot read the policy: {reason}") from exc
    try:
        policy = policy_from_mapping(load(text))
    except NelError as exc:
        raise ConfigError(f"{path}: {exc.message}", hint=exc.hint) from None
    return attrs.evolve(policy, name=policy.name or Path(path).name)
