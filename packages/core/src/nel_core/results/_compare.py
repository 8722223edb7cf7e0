"""Two runs compared task by task: paired per sample where both have scored samples, else by score.

Paired: the samples both runs scored (same task, same sample id) are set side by side. A flip
is a sample right in one run and wrong in the other. The delta is the mean of the per-sample
differences (candidate - base). For 0/1 scores its p-value is McNemar's exact test and its
interval the test's dual (Clopper-Pearson's interval of the share of improvements among the
flips, scaled by the flips' share of the pairs); for other scores, a paired t-test and t
interval. Samples whose request failed in either run are left out
and counted apart: an endpoint's failure is not a wrong answer.

By score (no paired samples): every score both runs have, delta = candidate - base with the
standard error of each (``stats.stderr`` of results.yml), a normal interval and a z-test.

A verdict is ``improved`` or ``regressed`` when p < 1 - confidence, else ``no significant
difference``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs

from nel_core.models.domain import JobState
from nel_core.models.results import Score
from nel_core.results._runs import JobView, RunView
from nel_core.results._sample import Sample
from nel_core.results.stats import mcnemar_exact, mean_interval, normal_interval, paired_binary_interval, t_cdf, z_test

__all__ = [
    "IMPROVED",
    "NO_CHANGE",
    "REGRESSED",
    "AggregateDelta",
    "Comparison",
    "Flip",
    "PairedDelta",
    "compare_runs",
    "jobs_by_task",
    "primary_score",
]

IMPROVED = "improved"
REGRESSED = "regressed"
NO_CHANGE = "no significant difference"


@attrs.frozen(kw_only=True)
class Flip:
    """A sample scored differently by the two runs."""

    id: str
    base_score: float
    candidate_score: float
    prompt: str | None = None
    expected: list[str] = attrs.Factory(list)
    base_response: str | None = None
    candidate_response: str | None = None


@attrs.frozen(kw_only=True)
class PairedDelta:
    """One task compared sample by sample.

    Args:
        task: The task (catalog name).
        n: Samples both runs scored (the pairs).
        base_mean: The base's mean score over the pairs.
        candidate_mean: The candidate's mean score over the pairs.
        delta: ``candidate_mean - base_mean``.
        low: Lower bound of the delta's interval.
        high: Upper bound.
        p_value: McNemar's exact test (0/1 scores), else a paired t-test.
        binary: Whether every paired score is 0 or 1.
        improved: Pairs scored higher by the candidate (base wrong, candidate right).
        regressed: Pairs scored lower by the candidate.
        errors: Samples of both runs left out because a request failed in one of them.
        unmatched: Scored samples found in one run only.
        flips: The pairs scored differently, regressions first.
        verdict: improved, regressed or no significant difference.
        score_key: The results score the samples make up, when one matches them.
    """

    task: str
    n: int
    base_mean: float
    candidate_mean: float
    delta: float
    low: float
    high: float
    p_value: float
    binary: bool
    improved: int
    regressed: int
    errors: int
    unmatched: int
    flips: list[Flip]
    verdict: str
    score_key: str = ""


@attrs.frozen(kw_only=True)
class AggregateDelta:
    """One score of a task compared by its value and standard error."""

    task: str
    key: str
    base: float
    candidate: float
    base_stderr: float | None
    candidate_stderr: float | None
    delta: float
    low: float | None
    high: float | None
    p_value: float | None
    verdict: str


@attrs.frozen(kw_only=True)
class Comparison:
    """Two runs compared: per task paired where possible, every shared score by value.

    Args:
        base: The base run's id.
        candidate: The candidate run's id.
        confidence: The intervals' confidence (and 1 - the tests' level).
        paired: Tasks compared sample by sample.
        aggregate: Scores compared by value.
        only_base: Tasks with a successful job in the base run only.
        only_candidate: Tasks with a successful job in the candidate run only.
        failed: Tasks whose job did not succeed in one of the runs, with why.
    """

    base: str
    candidate: str
    confidence: float
    paired: list[PairedDelta] = attrs.Factory(list)
    aggregate: list[AggregateDelta] = attrs.Factory(list)
    only_base: list[str] = attrs.Factory(list)
    only_candidate: list[str] = attrs.Factory(list)
    failed: dict[str, str] = attrs.Factory(dict)

    @property
    def verdict(self) -> str:
        """``regressed`` if a task regressed, else ``improved`` if one improved, else no change.

        A task compared sample by sample is judged by its pairs alone; the others by their scores.
        """
        paired_tasks = {p.task for p in self.paired}
        verdicts = [p.verdict for p in self.paired] + [
            a.verdict for a in self.aggregate if a.task not in paired_tasks
        ]
        if REGRESSED in verdicts:
            return REGRESSED
        return IMPROVED if IMPROVED in verdicts else NO_CHANGE


def jobs_by_task(run: RunView) -> dict[str, JobView]:
    """The job of each task in ``run``: its last successful one, else its last one."""
    chosen: dict[str, JobView] = {}
    for job in run.jobs:
        kept = chosen.get(job.task)
        if kept is None or job.state is JobState.SUCCESS or kept.state is not JobState.SUCCESS:
            chosen[job.task] = job
    return chosen


def _verdict(delta: float, p_value: float | None, alpha: float) -> str:
    if p_value is None or p_value >= alpha or delta == 0:
        return NO_CHANGE
    return IMPROVED if delta > 0 else REGRESSED


def primary_score(job: JobView, samples: Sequence[Sample]) -> str:
    """The key of the score the samples make up (their mean, errors counted wrong or left out)."""
    scored = [s for s in samples if s.score is not None or s.failed]
    if not scored:
        return ""
    with_errors = math.fsum(s.score or 0.0 for s in scored) / len(scored)
    answered = [s.score for s in scored if s.score is not None]
    without = math.fsum(answered) / len(answered) if answered else with_errors
    for score in job.results.scores:
        if not score.group and min(abs(score.value - with_errors), abs(score.value - without)) < 5e-4:
            return score.key
    return ""


def _delta_test(differences: Sequence[float], binary: bool, confidence: float) -> tuple[float, float, float, float]:
    """``(delta, low, high, p)`` of paired differences: exact for 0/1 scores, else Student's t."""
    up = sum(d > 0 for d in differences)
    down = sum(d < 0 for d in differences)
    n = len(differences)
    if binary:
        # McNemar's exact test and its dual interval: they agree on significance.
        delta, low, high = paired_binary_interval(down, up, n, confidence)
        return delta, low, high, mcnemar_exact(up, down)
    delta, low, high = mean_interval(differences, confidence)
    sd = math.sqrt(math.fsum((d - delta) ** 2 for d in differences) / (n - 1)) if n > 1 else 0.0
    if sd == 0.0:
        return delta, low, high, 1.0 if delta == 0 else 0.0
    return delta, low, high, 2.0 * (1.0 - t_cdf(abs(delta) / (sd / math.sqrt(n)), n - 1))


def _paired(task: str, base: JobView, candidate: JobView, confidence: float) -> PairedDelta | None:
    base_samples, candidate_samples = base.samples().samples, candidate.samples().samples
    base_by_id = {s.id: s for s in base_samples if s.score is not None or s.failed}
    cand_by_id = {s.id: s for s in candidate_samples if s.score is not None or s.failed}
    shared = [sid for sid in base_by_id if sid in cand_by_id]
    pairs = [(base_by_id[i], cand_by_id[i]) for i in shared if not (base_by_id[i].failed or cand_by_id[i].failed)]
    if not pairs:
        return None
    differences = [(c.score or 0.0) - (b.score or 0.0) for b, c in pairs]
    binary = all(s.score in (0.0, 1.0) for pair in pairs for s in pair)
    delta, low, high, p_value = _delta_test(differences, binary, confidence)
    flips = [
        Flip(
            id=b.id,
            base_score=b.score or 0.0,
            candidate_score=c.score or 0.0,
            prompt=c.prompt or b.prompt,
            expected=c.expected or b.expected,
            base_response=b.response,
            candidate_response=c.response,
        )
        for b, c in pairs
        if b.score != c.score
    ]
    flips.sort(key=lambda f: (f.candidate_score - f.base_score, f.id))
    return PairedDelta(
        task=task,
        n=len(pairs),
        base_mean=math.fsum(b.score or 0.0 for b, _ in pairs) / len(pairs),
        candidate_mean=math.fsum(c.score or 0.0 for _, c in pairs) / len(pairs),
        delta=delta,
        low=low,
        high=high,
        p_value=p_value,
        binary=binary,
        improved=sum(d > 0 for d in differences),
        regressed=sum(d < 0 for d in differences),
        errors=len(shared) - len(pairs),
        unmatched=len(base_by_id) + len(cand_by_id) - 2 * len(shared),
        flips=flips,
        verdict=_verdict(delta, p_value, 1.0 - confidence),
        score_key=primary_score(candidate, candidate_samples),
    )


def _stderr(score: Score) -> float | None:
    value = score.stats.get("stderr")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0:
        return float(value)
    return None


def aggregate_delta(task: str, base: Score, candidate: Score, confidence: float) -> AggregateDelta:
    """One score compared by value, with an interval and a z-test when both have a stderr."""
    delta = candidate.value - base.value
    base_se, cand_se = _stderr(base), _stderr(candidate)
    low = high = p_value = None
    if base_se is not None and cand_se is not None:
        se = math.sqrt(base_se**2 + cand_se**2)
        _, low, high = normal_interval(delta, se, confidence)
        p_value = z_test(delta, se)
    return AggregateDelta(
        task=task,
        key=candidate.key,
        base=base.value,
        candidate=candidate.value,
        base_stderr=base_se,
        candidate_stderr=cand_se,
        delta=delta,
        low=low,
        high=high,
        p_value=p_value,
        verdict=_verdict(delta, p_value, 1.0 - confidence),
    )


def _why(side: str, job: JobView) -> str:
    return f"{side} job {job.id} {job.state.value}" + (f": {job.reason}" if job.reason else "")


def compare_runs(base: RunView, candidate: RunView, *, confidence: float = 0.95) -> Comparison:
    """Compare ``candidate`` with ``base``, task by task (see the module's docstring)."""
    base_jobs, cand_jobs = jobs_by_task(base), jobs_by_task(candidate)
    paired: list[PairedDelta] = []
    aggregate: list[AggregateDelta] = []
    failed: dict[str, str] = {}
    for task in [t for t in cand_jobs if t in base_jobs]:
        b, c = base_jobs[task], cand_jobs[task]
        bad = [(side, job) for side, job in (("base", b), ("candidate", c)) if job.state is not JobState.SUCCESS]
        if bad:
            failed[task] = "; ".join(_why(side, job) for side, job in bad)
            continue
        result = _paired(task, b, c, confidence)
        if result is not None:
            paired.append(result)
        base_scores = {s.key: s for s in b.results.scores}
        for score in c.results.scores:
            if score.key in base_scores:
                aggregate.append(aggregate_delta(task, base_scores[score.key], score, confidence))
    return Comparison(
        base=base.id,
        candidate=candidate.id,
        confidence=confidence,
        paired=paired,
        aggregate=aggregate,
        only_base=[t for t in base_jobs if t not in cand_jobs],
        only_candidate=[t for t in cand_jobs if t not in base_jobs],
        failed=failed,
    )
