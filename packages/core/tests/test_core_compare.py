"""Two runs compared: paired per sample (flips, McNemar, interval, verdict), else by score."""

from __future__ import annotations

from pathlib import Path

import pytest

from nel_core.results import IMPROVED, NO_CHANGE, REGRESSED, RunView, compare_runs, load_run_dirs
from nel_core.results.stats import mcnemar_exact
from nel_core.testing import ERROR, write_run

Outcomes = dict[str, list[float | None]]


def _runs(tmp_path: Path, base: Outcomes, candidate: Outcomes) -> list[RunView]:
    return load_run_dirs([write_run(tmp_path, "base", base), write_run(tmp_path, "cand", candidate)])


def test_paired_comparison_counts_flips_both_ways_and_tests_them(tmp_path: Path) -> None:
    """Flips are counted each way; the p-value is McNemar's exact test of them; the verdict follows."""
    base = [1.0] * 40 + [0.0] * 20
    candidate = [1.0] * 28 + [0.0] * 12 + [1.0] * 2 + [0.0] * 18  # 12 right->wrong, 2 wrong->right
    comparison = compare_runs(*_runs(tmp_path, {"b.t": base}, {"b.t": candidate}))
    (paired,) = comparison.paired
    assert (paired.n, paired.regressed, paired.improved, paired.errors, paired.unmatched) == (60, 12, 2, 0, 0)
    assert paired.p_value == pytest.approx(mcnemar_exact(12, 2))
    assert paired.delta == pytest.approx(-10 / 60) and paired.low < paired.delta < paired.high < 0
    assert paired.binary and paired.verdict == REGRESSED and comparison.verdict == REGRESSED
    assert [f.id for f in paired.flips][:12] == [f"t-{i:04d}" for i in range(28, 40)]
    assert all(f.base_score == 1.0 and f.candidate_score == 0.0 for f in paired.flips[:12])
    assert paired.score_key == "t.accuracy.correct"


def test_failed_requests_are_left_out_of_the_pairs_and_counted_apart(tmp_path: Path) -> None:
    """A sample whose request failed in either run is no flip and no wrong answer: it is counted as an error."""
    base = [1.0] * 30
    candidate = [1.0] * 29 + [ERROR]
    (paired,) = compare_runs(*_runs(tmp_path, {"b.t": base}, {"b.t": candidate})).paired
    assert (paired.n, paired.errors, paired.regressed, paired.flips) == (29, 1, 0, [])
    assert paired.verdict == NO_CHANGE and paired.low == paired.high == 0.0


def test_few_flips_are_no_significant_difference(tmp_path: Path) -> None:
    """Three flips one way (p = 0.25) is not evidence: no significant difference, interval spanning 0."""
    comparison = compare_runs(*_runs(tmp_path, {"b.t": [0.0] * 3 + [1.0] * 7}, {"b.t": [1.0] * 10}))
    (paired,) = comparison.paired
    assert paired.improved == 3 and paired.p_value == pytest.approx(0.25)
    assert paired.low < 0 < paired.high and comparison.verdict == NO_CHANGE


def test_without_samples_scores_are_compared_by_value_and_stderr(tmp_path: Path) -> None:
    """With no samples kept, each shared score is compared by its value and stderr (z-test)."""
    base_run, cand_run = _runs(tmp_path, {"b.t": [1.0] * 50 + [0.0] * 50}, {"b.t": [1.0] * 90 + [0.0] * 10})
    for run in (base_run, cand_run):
        (run.jobs[0].artifacts / "samples.jsonl").unlink()
    comparison = compare_runs(base_run, cand_run)
    assert comparison.paired == []
    (aggregate,) = comparison.aggregate
    assert (aggregate.key, aggregate.base, aggregate.candidate) == ("t.accuracy.correct", 0.5, 0.9)
    assert aggregate.base_stderr == pytest.approx(0.05) and aggregate.candidate_stderr == pytest.approx(0.03)
    assert aggregate.p_value is not None and aggregate.p_value < 1e-9
    assert aggregate.low is not None and aggregate.low > 0 and comparison.verdict == IMPROVED


def test_tasks_missing_or_failed_on_one_side_are_named(tmp_path: Path) -> None:
    """Tasks in one run only, and tasks whose job failed, are reported instead of compared."""
    base = {"b.a": [1.0], "b.gone": [1.0], "b.dead": [1.0]}
    comparison = compare_runs(*_runs(tmp_path, base, {"b.a": [1.0], "b.new": [1.0], "b.dead": [ERROR]}))
    assert comparison.only_base == ["b.gone"] and comparison.only_candidate == ["b.new"]
    assert list(comparison.failed) == ["b.dead"] and "candidate job cand.2 failed" in comparison.failed["b.dead"]
    assert [p.task for p in comparison.paired] == ["b.a"]


def test_a_regression_anywhere_outweighs_an_improvement_elsewhere(tmp_path: Path) -> None:
    """One task clearly better and one clearly worse: the comparison's verdict is regressed."""
    good, bad = [1.0] * 40, [0.0] * 40
    comparison = compare_runs(*_runs(tmp_path, {"b.up": bad, "b.down": good}, {"b.up": good, "b.down": bad}))
    assert sorted(p.verdict for p in comparison.paired) == [IMPROVED, REGRESSED]
    assert comparison.verdict == REGRESSED
