"""The comparison statistics (standard library only) against hand-computed values."""

from __future__ import annotations

import math

import pytest

from nel_core.results.stats import (
    mcnemar_exact,
    mean_interval,
    normal_interval,
    paired_binary_interval,
    t_quantile,
    wilson_interval,
    z_test,
)

# ------------------------------------------------------------------ hand-computed cases


@pytest.mark.parametrize(
    ("b", "c", "expected"),
    [
        (0, 0, 1.0),  # no discordant pair: nothing to test
        (0, 5, 2 / 32),  # 2 x (1/2)^5
        (1, 9, 2 * 11 / 1024),  # 2 x (C(10,0) + C(10,1)) / 2^10
        (3, 3, 1.0),  # a tie is no evidence (capped at 1)
        (2, 8, 2 * (1 + 10 + 45) / 1024),
    ],
)
def test_mcnemar_exact_by_hand(b: int, c: int, expected: float) -> None:
    """McNemar's exact p-value is twice the binomial tail of the smaller discordant count."""
    assert mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-12)


def test_t_quantiles_from_the_table() -> None:
    """Known t quantiles: 12.706 (df 1), 2.262 (df 9), 1.984 (df 100) at 97.5 %, 0 at the median."""
    assert t_quantile(0.975, 1) == pytest.approx(12.7062047, rel=1e-6)
    assert t_quantile(0.975, 9) == pytest.approx(2.2621572, rel=1e-6)
    assert t_quantile(0.975, 100) == pytest.approx(1.9839715, rel=1e-6)
    assert t_quantile(0.5, 7) == 0.0 and t_quantile(0.025, 9) == pytest.approx(-2.2621572, rel=1e-6)


def test_mean_interval_by_hand() -> None:
    """Mean 2, sample sd 1, n 4: 2 ± 3.182446 x 1/2."""
    values = [1.0, 2.0, 3.0, 2.0]
    mean, low, high = mean_interval(values, 0.95)
    sd = math.sqrt(sum((v - 2.0) ** 2 for v in values) / 3)
    half = 3.1824463 * sd / 2
    assert mean == 2.0 and low == pytest.approx(2.0 - half, rel=1e-6) and high == pytest.approx(2.0 + half, rel=1e-6)
    assert mean_interval([0.5]) == (0.5, 0.5, 0.5)
    with pytest.raises(ValueError):
        mean_interval([])


def test_wilson_interval_by_hand() -> None:
    """Wilson's interval of 8/10 at 95 % is [0.4902, 0.9433]; 0/10 starts at 0."""
    p, low, high = wilson_interval(8, 10)
    assert p == 0.8 and low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)
    assert wilson_interval(0, 10)[1] == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


def test_paired_binary_interval_by_hand() -> None:
    """0 worse, 5 better of 10 pairs: delta 0.5, interval 0.5 x (2 x [0.4782, 1] - 1) = [-0.0218, 0.5]."""
    delta, low, high = paired_binary_interval(0, 5, 10)
    assert delta == 0.5 and low == pytest.approx(0.5 * (2 * 0.4781762 - 1), abs=1e-6) and high == 0.5
    assert paired_binary_interval(0, 0, 10) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError):
        paired_binary_interval(6, 5, 10)


def test_normal_interval_and_z_test() -> None:
    """An estimate 1.96 standard errors from 0 has p = 0.05 and an interval touching 0."""
    assert z_test(1.96, 1.0) == pytest.approx(0.05, abs=1e-4)
    _, low, _ = normal_interval(1.96, 1.0)
    assert low == pytest.approx(0.0, abs=1e-4)
    assert z_test(0.0, 0.0) == 1.0 and z_test(0.1, 0.0) == 0.0
