"""The comparison statistics against SciPy's, on values Hypothesis draws (SciPy is a test-only dependency)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nel_core.results.stats import (
    clopper_pearson,
    mcnemar_exact,
    mean_interval,
    paired_binary_interval,
    regularized_beta,
    t_cdf,
    t_quantile,
    wilson_interval,
)

stats = pytest.importorskip("scipy.stats", reason="SciPy is a test-only dependency (nox installs it)")
special = pytest.importorskip("scipy.special")


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 300), st.integers(0, 300))
def test_mcnemar_exact_matches_scipy_binomtest(b: int, c: int) -> None:
    """Our McNemar p-value equals SciPy's exact two-sided binomial test of b in b + c at 1/2."""
    expected = 1.0 if b + c == 0 else stats.binomtest(b, b + c, 0.5).pvalue
    assert mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-9, abs=1e-300)


@settings(max_examples=60, deadline=None)
@given(st.integers(1001, 4000), st.floats(0.0, 0.5))
def test_mcnemar_exact_in_log_space_matches_scipy(n: int, share: float) -> None:
    """Beyond 1000 discordant pairs (summed in log space) it still matches SciPy."""
    b = int(n * share)
    expected = stats.binomtest(b, n, 0.5).pvalue
    if expected < 1e-250:  # SciPy's terms underflow to 0 there; ours, summed in log space, do not
        assert mcnemar_exact(b, n - b) < 1e-250
    else:
        assert mcnemar_exact(b, n - b) == pytest.approx(expected, rel=1e-7)


@settings(max_examples=200, deadline=None)
@given(st.floats(0.01, 50), st.floats(0.01, 50), st.floats(0.0, 1.0, allow_subnormal=False))
def test_regularized_beta_matches_scipy(a: float, b: float, x: float) -> None:
    """I_x(a, b) equals scipy.special.betainc."""
    assert regularized_beta(a, b, x) == pytest.approx(special.betainc(a, b, x), abs=1e-10)


@settings(max_examples=200, deadline=None)
@given(st.floats(0.5005, 0.9995), st.integers(1, 5000))
def test_t_quantile_matches_scipy(p: float, df: int) -> None:
    """The t quantile equals scipy.stats.t.ppf, and t_cdf inverts it."""
    expected = stats.t.ppf(p, df)
    assert t_quantile(p, df) == pytest.approx(expected, rel=1e-7, abs=1e-9)
    assert t_cdf(expected, df) == pytest.approx(p, abs=1e-10)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from([-1.0, 0.0, 1.0]) | st.floats(-1, 1), min_size=2, max_size=300),
    st.sampled_from([0.9, 0.95, 0.99]),
)
def test_mean_interval_matches_scipy(values: list[float], confidence: float) -> None:
    """The paired delta's interval is SciPy's t interval of the mean (sem of the differences)."""
    mean, low, high = mean_interval(values, confidence)
    assert mean == pytest.approx(sum(values) / len(values), abs=1e-12)
    sem = stats.sem(values)
    if sem == 0 or not math.isfinite(sem):
        assert low == pytest.approx(mean, abs=1e-9) and high == pytest.approx(mean, abs=1e-9)
        return
    expected_low, expected_high = stats.t.interval(confidence, len(values) - 1, loc=mean, scale=sem)
    assert low == pytest.approx(expected_low, abs=1e-9) and high == pytest.approx(expected_high, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 2000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_interval_matches_scipy(case: tuple[int, int]) -> None:
    """Wilson's interval equals SciPy's binomtest(...).proportion_ci(method='wilson')."""
    successes, n = case
    ci = stats.binomtest(successes, n).proportion_ci(0.95, method="wilson")
    _, low, high = wilson_interval(successes, n)
    assert low == pytest.approx(ci.low, abs=1e-9) and high == pytest.approx(ci.high, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_clopper_pearson_matches_scipy(case: tuple[int, int]) -> None:
    """The exact interval equals SciPy's binomtest(...).proportion_ci(method='exact')."""
    successes, n = case
    ci = stats.binomtest(successes, n).proportion_ci(0.95, method="exact")
    _, low, high = clopper_pearson(successes, n)
    assert low == pytest.approx(ci.low, abs=1e-9) and high == pytest.approx(ci.high, abs=1e-9)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 60), st.integers(0, 60), st.integers(0, 200), st.sampled_from([0.9, 0.95, 0.99]))
def test_paired_interval_excludes_zero_exactly_when_mcnemar_rejects(
    worse: int, better: int, ties: int, level: float
) -> None:
    """The paired delta's interval and McNemar's exact test never disagree on significance."""
    n = worse + better + ties
    if n == 0:
        return
    delta, low, high = paired_binary_interval(worse, better, n, level)
    assert low <= delta <= high and delta == pytest.approx((better - worse) / n)
    rejects = mcnemar_exact(worse, better) < 1 - level
    excludes = low > 1e-12 or high < -1e-12
    assert rejects == excludes
