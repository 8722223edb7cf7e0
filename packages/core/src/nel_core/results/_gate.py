"""A release gate: a candidate run judged against a base run by a policy: GO, NO-GO or INCONCLUSIVE.

Each benchmark of the policy gives checks on one score (the "gain" is candidate - base, negated
for a score where lower is better):

- ``min`` / ``max``: the candidate's score. Pass when its value meets the bound; fail when its
  whole interval misses it; inconclusive in between.
- ``max_drop`` (absolute) and ``max_relative_drop`` (a share of the base's score): the allowed
  drop A. Pass when the gain is at least -A; fail when the gain's whole interval lies below -A
  (the drop beyond the allowance is clear); inconclusive in between. The gain's interval is the
  paired one when the task was compared per sample on this score (see
  :func:`~nel_core.results.compare_runs`), else the one from the two scores' stderr; without
  either, the observed gain decides.

A check fails or is inconclusive only for a reason it names. A required benchmark without a
successful candidate job (missing, failed, or failed by its endpoint) is inconclusive: there is
nothing to judge; a benchmark not required is then skipped.

Verdict: NO-GO when a check of a blocking tier failed; else INCONCLUSIVE when one was
inconclusive; else GO. Checks of non-blocking tiers are reported only.
"""

from __future__ import annotations

import attrs

from nel_core.models.domain import JobState
from nel_core.models.results import Score
from nel_core.results._compare import (
    Comparison,
    PairedDelta,
    aggregate_delta,
    compare_runs,
    jobs_by_task,
    primary_score,
)
from nel_core.results._policy import Benchmark, Policy
from nel_core.results._report import score_interval
from nel_core.results._runs import JobView, RunView

__all__ = ["FAIL", "GO", "INCONCLUSIVE", "NO_GO", "PASS", "SKIPPED", "Check", "GateResult", "evaluate_gate"]

GO, NO_GO, INCONCLUSIVE = "GO", "NO-GO", "INCONCLUSIVE"
PASS, FAIL, UNSURE, SKIPPED = "pass", "fail", "inconclusive", "skipped"
_EXIT = {GO: 0, NO_GO: 1, INCONCLUSIVE: 2}
_EPS = 1e-12


@attrs.frozen(kw_only=True)
class Check:
    """One rule of one benchmark, applied.

    Args:
        task: The benchmark's task.
        tier: Its tier.
        blocking: Whether its tier blocks a release.
        rule: What was checked (``min 0.600``, ``drop <= 0.020``...).
        outcome: pass, fail, inconclusive or skipped.
        reason: Why, in a sentence.
        score: The score's key.
        base: The base's value.
        candidate: The candidate's value.
        gain: Candidate - base (negated where lower is better).
        low: Lower bound of the interval used (of the gain, or of the candidate's value).
        high: Upper bound.
        evidence: Where the interval comes from.
    """

    task: str
    tier: str
    blocking: bool
    rule: str
    outcome: str
    reason: str
    score: str = ""
    base: float | None = None
    candidate: float | None = None
    gain: float | None = None
    low: float | None = None
    high: float | None = None
    evidence: str = ""


@attrs.frozen(kw_only=True)
class GateResult:
    """The gate's verdict and the checks it rests on."""

    verdict: str
    policy: str
    base: str
    candidate: str
    confidence: float
    checks: list[Check] = attrs.Factory(list)

    @property
    def exit_code(self) -> int:
        """0 for GO, 1 for NO-GO, 2 for INCONCLUSIVE."""
        return _EXIT[self.verdict]

    @property
    def deciding(self) -> list[Check]:
        """The blocking checks behind a NO-GO (failed) or an INCONCLUSIVE (inconclusive)."""
        wanted = {NO_GO: FAIL, INCONCLUSIVE: UNSURE}.get(self.verdict)
        return [c for c in self.checks if c.blocking and c.outcome == wanted]


def _find_score(job: JobView, spec: str | None) -> tuple[Score | None, str]:
    """The score a benchmark names (or its default), or None and why."""
    scores = [s for s in job.results.scores if not s.group] or list(job.results.scores)
    if spec is None:
        key = primary_score(job, job.samples().samples)
        found = [s for s in scores if s.key == key] or scores[:1]
    else:
        found = [s for s in scores if s.key == spec] or [s for s in scores if s.key.endswith("." + spec)]
    if len(found) == 1:
        return found[0], ""
    names = ", ".join(s.key for s in scores) or "none"
    what = f"score {spec!r}" if spec else "a score"
    many = "more than one" if found else "no"
    return None, f"{many} {what} in job {job.id} (its scores: {names})"


#: A gain, its interval's bounds (None without one) and where they come from.
Gain = tuple[float, float | None, float | None, str]


def _job_problem(job: JobView | None, side: str) -> str:
    if job is None:
        return f"no job of this task in the {side} run"
    if job.state is JobState.SUCCESS:
        return ""
    infra = ""
    if job.requests is not None and job.requests.failed and "request" not in job.reason:
        infra = f"; {job.requests.failed} of {job.requests.total} requests failed (the endpoint, not the model)"
    return f"the {side} job {job.id} is {job.state.value}: {job.reason or 'no reason recorded'}{infra}"


def _bound_check(head: Check, name: str, bound: float, value: float, interval: tuple[float, float] | None) -> Check:
    """``min``/``max``: the candidate's value against a bound, its interval deciding a near miss."""
    meets = value >= bound - _EPS if name == "min" else value <= bound + _EPS
    low, high = interval if interval is not None else (None, None)
    sign = ">=" if name == "min" else "<="
    if meets:
        outcome, reason = PASS, f"{value:.3f} {sign} {bound:.3f}"
    elif interval is None or (interval[1] < bound if name == "min" else interval[0] > bound):
        outcome = FAIL
        reason = f"{value:.3f} misses {name} {bound:.3f}" + (" (so does its whole interval)" if interval else "")
    else:
        outcome = UNSURE
        reason = f"{value:.3f} misses {name} {bound:.3f}, but its interval [{low:.3f}, {high:.3f}] reaches it"
    evidence = "the candidate's score" if interval else "no interval"
    return attrs.evolve(head, rule=f"{name} {bound:.3f}", outcome=outcome, reason=reason, candidate=value,
                        low=low, high=high, evidence=evidence)  # fmt: skip


def _gain(
    paired: PairedDelta | None, base_score: Score, cand_score: Score, benchmark: Benchmark, confidence: float
) -> Gain:
    """The gain with its interval and where they come from."""
    low: float | None
    high: float | None
    if paired is not None and paired.score_key == cand_score.key:
        delta, low, high = paired.delta, paired.low, paired.high
        evidence = f"paired per sample ({paired.n} pairs)"
    else:
        aggregate = aggregate_delta(benchmark.task, base_score, cand_score, confidence)
        delta, low, high = aggregate.delta, aggregate.low, aggregate.high
        evidence = "the scores' stderr" if low is not None else "no interval (no stderr)"
    if benchmark.higher_is_better:
        return delta, low, high, evidence
    return -delta, None if high is None else -high, None if low is None else -low, evidence


def _drop_check(head: Check, rule: str, allowed: float, gain: Gain, values: tuple[float, float]) -> Check:
    """A drop against its allowance: the gain's interval decides a drop beyond it."""
    value, low, high, evidence = gain
    span = f"[{low:+.3f}, {high:+.3f}]" if low is not None and high is not None else ""
    if value >= -allowed - _EPS:
        outcome, reason = PASS, f"change {value:+.3f} is within the allowed drop of {allowed:.3f}"
    elif high is None or high < -allowed:
        outcome = FAIL
        reason = f"dropped {-value:.3f}, beyond the allowed {allowed:.3f}"
        reason += f" (its whole interval {span} is below {-allowed:+.3f})" if span else " (no interval)"
    else:
        outcome = UNSURE
        reason = f"dropped {-value:.3f}, beyond the allowed {allowed:.3f}, but the interval {span} reaches it"
    return attrs.evolve(head, rule=rule, outcome=outcome, reason=reason, base=values[0], candidate=values[1],
                        gain=value, low=low, high=high, evidence=evidence)  # fmt: skip


def _benchmark_checks(
    benchmark: Benchmark, policy: Policy, base_run: RunView, cand_run: RunView, comparison: Comparison
) -> list[Check]:
    tiers = policy.all_tiers
    head = Check(task=benchmark.task, tier=benchmark.tier, blocking=tiers[benchmark.tier].blocking, rule="",
                 outcome=PASS, reason="")  # fmt: skip
    cand_job = jobs_by_task(cand_run).get(benchmark.task)
    base_job = jobs_by_task(base_run).get(benchmark.task)
    problem = _job_problem(cand_job, "candidate")
    if problem or cand_job is None:
        rule, outcome = ("required", UNSURE) if benchmark.required else ("present", SKIPPED)
        return [attrs.evolve(head, rule=rule, outcome=outcome, reason=problem)]
    cand_score, why = _find_score(cand_job, benchmark.score)
    if cand_score is None:
        return [attrs.evolve(head, rule="score", outcome=UNSURE, reason=why)]
    head = attrs.evolve(head, score=cand_score.key, candidate=cand_score.value)
    checks = []
    interval = score_interval(cand_score, policy.confidence)
    for name in ("min", "max"):
        bound = benchmark.threshold(tiers, name)
        if bound is not None:
            checks.append(_bound_check(head, name, bound, cand_score.value, interval))
    drops = [(f"drop <= {a:.3f}", a) for a in [benchmark.threshold(tiers, "max_drop")] if a is not None]
    relative = benchmark.threshold(tiers, "max_relative_drop")
    if drops or relative is not None:
        base_problem = _job_problem(base_job, "base")
        base_score = None
        if not base_problem and base_job is not None:
            base_score = next((s for s in base_job.results.scores if s.key == cand_score.key), None)
        if base_score is None:
            reason = base_problem or f"the base job has no score {cand_score.key}"
            checks.append(attrs.evolve(head, rule="drop", outcome=UNSURE, reason=reason))
        else:
            if relative is not None:
                drops.append((f"relative drop <= {relative:.1%}", relative * abs(base_score.value)))
            paired = next((p for p in comparison.paired if p.task == benchmark.task), None)
            gain = _gain(paired, base_score, cand_score, benchmark, policy.confidence)
            for rule, allowed in drops:
                checks.append(_drop_check(head, rule, allowed, gain, (base_score.value, cand_score.value)))
    if not checks:
        checks.append(attrs.evolve(head, rule="present", reason="it ran and scored; no threshold set"))
    return checks


def evaluate_gate(policy: Policy, base: RunView, candidate: RunView) -> GateResult:
    """Judge ``candidate`` against ``base`` by ``policy`` (see the module's docstring)."""
    comparison = compare_runs(base, candidate, confidence=policy.confidence)
    checks: list[Check] = []
    for benchmark in policy.benchmarks:
        checks.extend(_benchmark_checks(benchmark, policy, base, candidate, comparison))
    blocking = [c for c in checks if c.blocking]
    if any(c.outcome == FAIL for c in blocking):
        verdict = NO_GO
    elif any(c.outcome == UNSURE for c in blocking):
        verdict = INCONCLUSIVE
    else:
        verdict = GO
    return GateResult(
        verdict=verdict,
        policy=policy.name,
        base=base.id,
        candidate=candidate.id,
        confidence=policy.confidence,
        checks=checks,
    )
