"""Release policies (files with clear errors) and the gate's verdicts: GO, NO-GO, INCONCLUSIVE."""

from __future__ import annotations

from pathlib import Path

import pytest

from nel_core.errors import ConfigError
from nel_core.results import (
    FAIL,
    GO,
    INCONCLUSIVE,
    NO_GO,
    PASS,
    SKIPPED,
    RunView,
    evaluate_gate,
    load_policy,
    load_run_dirs,
    policy_from_mapping,
)
from nel_core.testing import ERROR, write_run

Outcomes = dict[str, list[float | None]]


def _runs(tmp_path: Path, base: Outcomes, candidate: Outcomes) -> tuple[RunView, RunView]:
    base_run, cand_run = load_run_dirs([write_run(tmp_path, "base", base), write_run(tmp_path, "cand", candidate)])
    return base_run, cand_run


def _gate(tmp_path: Path, policy: dict[str, object], base: Outcomes, candidate: Outcomes):  # noqa: ANN202
    return evaluate_gate(policy_from_mapping(policy), *_runs(tmp_path, base, candidate))


# ------------------------------------------------------------------ policy files


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("benchmarks: [{task: a.b, tier: gold}]", "benchmarks[0].tier: unknown tier 'gold' (tiers: critical, inform"),
        ("benchmarks: [{tsk: a.b}]", "benchmarks[0].tsk: unknown key"),
        ("benchmarks: [{task: a.b, max_drop: lots}]", "benchmarks[0].max_drop: expected a number, got 'lots'"),
        ("benchmarks: [{task: a.b, max_relative_drop: -0.1}]", "benchmarks[0].max_relative_drop: expected a drop of 0"),
        ("benchmarks: []", "benchmarks: expected at least one benchmark"),
        ("confidence: 1.2\nbenchmarks: [{task: a.b}]", "confidence: expected a number in [0.5, 1)"),
        ("tiers: {gold: {blocking: maybe}}\nbenchmarks: [{task: a.b}]", "tiers.gold.blocking: expected true or false"),
        ("- just\n- a list", "expected a mapping with a 'benchmarks' list at the top level"),
        ("benchmarks: [{task: a.b}\n", "line 2"),
    ],
)
def test_a_bad_policy_file_is_one_error_naming_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    """Every policy problem is one ConfigError whose message starts with the file's name and names the key."""
    path = tmp_path / "release.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_policy(path)
    assert caught.value.message.startswith(f"{path}: ") and message in caught.value.message
    assert "\n" not in caught.value.message


def test_a_missing_policy_file_is_named(tmp_path: Path) -> None:
    """A policy file that cannot be read is named with the reason."""
    with pytest.raises(ConfigError, match="nope.yaml: cannot read the policy: No such file"):
        load_policy(tmp_path / "nope.yaml")


def test_a_policy_keeps_the_default_tiers_and_may_add_its_own(tmp_path: Path) -> None:
    """critical, standard and informational exist unless redefined; a policy's own tiers join them."""
    path = tmp_path / "p.yaml"
    tiers = "tiers: {standard: {max_drop: 0.1}, nightly: {blocking: false}}\n"
    path.write_text(tiers + "benchmarks: [{task: a, tier: nightly}]")
    policy = load_policy(path)
    assert policy.name == "p.yaml" and sorted(policy.all_tiers) == ["critical", "informational", "nightly", "standard"]
    assert policy.all_tiers["standard"].max_drop == 0.1 and not policy.all_tiers["nightly"].blocking


# ------------------------------------------------------------------ verdicts

SAME = [1.0] * 70 + [0.0] * 30


def test_an_unchanged_candidate_is_go(tmp_path: Path) -> None:
    """Same scores on every sample: every check passes, GO, exit code 0."""
    policy = {"benchmarks": [{"task": "b.t", "tier": "critical", "min": 0.6}]}
    result = _gate(tmp_path, policy, {"b.t": SAME}, {"b.t": SAME})
    assert result.verdict == GO and result.exit_code == 0
    assert [(c.rule, c.outcome) for c in result.checks] == [("min 0.600", PASS), ("drop <= 0.000", PASS)]
    assert result.checks[1].evidence == "paired per sample (100 pairs)"


def test_a_clear_drop_beyond_the_allowance_is_no_go(tmp_path: Path) -> None:
    """20 right answers lost and none gained: the whole interval is below -0.02, NO-GO, exit code 1."""
    candidate = [1.0] * 50 + [0.0] * 50
    result = _gate(tmp_path, {"benchmarks": [{"task": "b.t"}]}, {"b.t": SAME}, {"b.t": candidate})
    assert result.verdict == NO_GO and result.exit_code == 1
    (check,) = result.deciding
    assert check.outcome == FAIL and check.gain == pytest.approx(-0.2) and check.high is not None and check.high < -0.02
    assert "dropped 0.200, beyond the allowed 0.020" in check.reason


def test_a_drop_the_samples_cannot_confirm_is_inconclusive(tmp_path: Path) -> None:
    """Two flips one way on ten samples: beyond the allowance, but not surely: INCONCLUSIVE, exit code 2."""
    result = _gate(tmp_path, {"benchmarks": [{"task": "b.t"}]}, {"b.t": [1.0] * 10}, {"b.t": [1.0] * 8 + [0.0] * 2})
    assert result.verdict == INCONCLUSIVE and result.exit_code == 2
    (check,) = result.deciding
    assert "but the interval" in check.reason and check.low is not None and check.low < -0.02 < check.high


def test_a_non_blocking_tier_reports_without_blocking(tmp_path: Path) -> None:
    """A clear drop in an informational benchmark is reported, and the verdict stays GO."""
    policy = {"benchmarks": [{"task": "b.t", "tier": "informational"}, {"task": "b.u"}]}
    result = _gate(tmp_path, policy, {"b.t": SAME, "b.u": SAME}, {"b.t": [0.0] * 100, "b.u": SAME})
    assert result.verdict == GO
    assert [(c.task, c.outcome, c.blocking) for c in result.checks] == [("b.t", FAIL, False), ("b.u", PASS, True)]


def test_relative_drop_and_absolute_floor(tmp_path: Path) -> None:
    """A relative allowance is a share of the base's score; a floor the candidate misses surely fails."""
    benchmark = {"task": "b.t", "max_drop": None, "max_relative_drop": 0.5, "min": 0.9, "tier": "informational"}
    policy = {"benchmarks": [benchmark]}
    result = _gate(tmp_path, policy, {"b.t": SAME}, {"b.t": [1.0] * 40 + [0.0] * 60})
    drop = next(c for c in result.checks if c.rule.startswith("relative"))
    assert drop.outcome == PASS and "allowed drop of 0.350" in drop.reason  # 50 % of 0.7
    floor = next(c for c in result.checks if c.rule == "min 0.900")
    assert floor.outcome == FAIL and floor.high is not None and floor.high < 0.9


def test_lower_is_better_scores_count_a_rise_as_a_drop(tmp_path: Path) -> None:
    """For a score where lower is better (failure rates), a clear rise is the regression."""
    policy = {"benchmarks": [{"task": "b.t", "score": "accuracy.correct", "higher_is_better": False, "max_drop": 0.0}]}
    result = _gate(tmp_path, policy, {"b.t": [0.0] * 100}, {"b.t": [1.0] * 50 + [0.0] * 50})
    assert result.verdict == NO_GO and result.checks[0].gain == pytest.approx(-0.5)


def test_missing_failed_and_optional_benchmarks(tmp_path: Path) -> None:
    """A required benchmark missing or failed by its endpoint is inconclusive; an optional one is skipped."""
    optional = {"task": "b.extra", "required": False}
    policy = {"benchmarks": [{"task": "b.gone"}, {"task": "b.dead"}, optional, {"task": "b.t"}]}
    result = _gate(tmp_path, policy, {"b.t": SAME, "b.dead": SAME}, {"b.t": SAME, "b.dead": [ERROR] * 5})
    outcomes = {c.task: (c.outcome, c.reason) for c in result.checks}
    assert outcomes["b.gone"] == ("inconclusive", "no job of this task in the candidate run")
    assert outcomes["b.dead"][0] == "inconclusive" and "5 of 5 requests" in outcomes["b.dead"][1]
    assert outcomes["b.extra"][0] == SKIPPED and outcomes["b.t"][0] == PASS
    assert result.verdict == INCONCLUSIVE


def test_a_score_that_is_not_there_is_inconclusive_naming_the_scores(tmp_path: Path) -> None:
    """A policy naming a score the job lacks cannot be judged: the check lists the job's scores."""
    result = _gate(tmp_path, {"benchmarks": [{"task": "b.t", "score": "f1.macro"}]}, {"b.t": SAME}, {"b.t": SAME})
    (check,) = result.checks
    assert check.outcome == "inconclusive" and "no score 'f1.macro'" in check.reason
    assert "t.accuracy.correct" in check.reason


def test_without_samples_the_scores_stderr_decides(tmp_path: Path) -> None:
    """With no samples kept, the drop's interval comes from the two scores' stderr."""
    base_run, cand_run = _runs(tmp_path, {"b.t": SAME}, {"b.t": [1.0] * 40 + [0.0] * 60})
    for run in (base_run, cand_run):
        (run.jobs[0].artifacts / "samples.jsonl").unlink()
    policy = policy_from_mapping({"benchmarks": [{"task": "b.t", "score": "accuracy.correct"}]})
    result = evaluate_gate(policy, base_run, cand_run)
    (check,) = result.checks
    assert check.evidence == "the scores' stderr" and check.outcome == FAIL and result.verdict == NO_GO
