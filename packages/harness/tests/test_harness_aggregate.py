"""Tests of the aggregation into the harness contract's results structure."""

from __future__ import annotations

import pytest

from core_evals.nel_bench.aggregate import SampleOutcome, build_results, score_stats


def _ok(correct: bool, subset: str = "arithmetic", n: int = 0) -> SampleOutcome:
    return SampleOutcome(id=f"{subset}-{n}", subset=subset, correct=correct, response="x")


def _failed(n: int = 0) -> SampleOutcome:
    return SampleOutcome(id=f"f-{n}", subset="arithmetic", correct=False, error="HTTP 500")


def test_score_stats_uses_population_stddev_and_stderr() -> None:
    """8 of 20 wrong gives mean 0.6, stddev sqrt(.24), stderr stddev/sqrt(20)."""
    result = score_stats([1.0] * 12 + [0.0] * 8)
    assert result["value"] == 0.6
    assert result["stats"] == {"count": 20, "mean": 0.6, "stddev": 0.489898, "stderr": 0.109545}


def test_score_stats_of_one_value_has_zero_spread() -> None:
    """A single sample has stddev and stderr 0, not a division error."""
    assert score_stats([1.0])["stats"] == {"count": 1, "mean": 1.0, "stddev": 0.0, "stderr": 0.0}


def test_score_stats_refuses_empty_input() -> None:
    """No values means no score, never a silent 0."""
    with pytest.raises(ValueError):
        score_stats([])


def test_results_follow_the_harness_contract_shape() -> None:
    """tasks.<task>.metrics.accuracy.scores.correct holds value and stats."""
    results = build_results("arithmetic", [_ok(True, n=1), _ok(False, n=2)])
    assert results["groups"] == {}
    score = results["tasks"]["arithmetic"]["metrics"]["accuracy"]["scores"]["correct"]
    assert score["value"] == 0.5
    assert set(score["stats"]) == {"count", "mean", "stddev", "stderr"}


def test_failed_requests_count_as_wrong_and_as_failures() -> None:
    """A failed request lowers accuracy and raises requests.failure_rate."""
    results = build_results("arithmetic", [_ok(True, n=1), _failed(2), _ok(True, n=3), _failed(4)])
    metrics = results["tasks"]["arithmetic"]["metrics"]
    assert metrics["accuracy"]["scores"]["correct"]["value"] == 0.5
    assert metrics["accuracy"]["scores"]["correct"]["stats"]["count"] == 4
    assert metrics["requests"]["scores"]["failure_rate"]["value"] == 0.5


def test_all_failed_writes_no_scores() -> None:
    """When every request failed the results have no task at all."""
    assert build_results("arithmetic", [_failed(1), _failed(2)]) == {"tasks": {}, "groups": {}}
    assert build_results("arithmetic", []) == {"tasks": {}, "groups": {}}


def test_mixed_task_reports_each_subset() -> None:
    """mini reports overall accuracy plus one score per dataset."""
    outcomes = [_ok(True, "arithmetic", 1), _ok(False, "capitals", 2), _ok(True, "capitals", 3)]
    scores = build_results("mini", outcomes)["tasks"]["mini"]["metrics"]["accuracy"]["scores"]
    assert set(scores) == {"correct", "arithmetic", "capitals"}
    assert scores["arithmetic"]["value"] == 1.0
    assert scores["capitals"]["value"] == 0.5
    assert scores["correct"]["stats"]["count"] == 3
