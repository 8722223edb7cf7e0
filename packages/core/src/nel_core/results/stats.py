"""The statistics of comparisons, in the standard library alone (no SciPy at run time).

- :func:`mcnemar_exact`: McNemar's exact test, the two-sided binomial test of the discordant
  pairs against p = 1/2 (what ``scipy.stats.binomtest(b, b + c).pvalue`` gives).
- :func:`t_quantile`: Student's t quantile, from the regularized incomplete beta function
  (continued fraction, as in Numerical Recipes), refined by bisection.
- :func:`mean_interval`: mean of values with its t confidence interval (a paired delta is the
  mean of the per-sample differences).
- :func:`paired_binary_interval`: the paired delta of 0/1 scores with the interval that is the
  exact dual of McNemar's test: Clopper-Pearson's interval of the share of improvements among
  the discordant pairs, scaled by their share of all pairs (conditional on their number).
- :func:`clopper_pearson` and :func:`beta_quantile`: the exact interval of a proportion.
- :func:`normal_interval` and :func:`z_test`: an estimate with a standard error (aggregate
  scores, where no samples are paired).
- :func:`wilson_interval`: the interval of a proportion.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

__all__ = [
    "Interval",
    "beta_quantile",
    "clopper_pearson",
    "mcnemar_exact",
    "mean_interval",
    "normal_interval",
    "paired_binary_interval",
    "regularized_beta",
    "t_cdf",
    "t_quantile",
    "wilson_interval",
    "z_test",
]

#: ``(estimate, low, high)``.
Interval = tuple[float, float, float]

_EPS = 1e-15
_TINY = 1e-300


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return h


def regularized_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), the regularized incomplete beta function, for a, b > 0 and 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom."""
    tail = 0.5 * regularized_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t with ``df`` > 0 degrees of freedom.

    Raises:
        ValueError: ``p`` is not in (0, 1) or ``df`` is not positive.
    """
    if not 0.0 < p < 1.0 or df <= 0:
        raise ValueError(f"t quantile needs 0 < p < 1 and df > 0 (got p={p}, df={df})")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    # Bracket from the normal quantile outwards, then bisect: monotone and robust for any df.
    low, high = 0.0, max(1.0, NormalDist().inv_cdf(p))
    while t_cdf(high, df) < p:
        low, high = high, high * 2.0
    for _ in range(200):
        mid = (low + high) / 2.0
        if t_cdf(mid, df) < p:
            low = mid
        else:
            high = mid
        if high - low < 1e-12 * max(1.0, high):
            break
    return (low + high) / 2.0


def beta_quantile(p: float, a: float, b: float) -> float:
    """The ``p`` quantile of the Beta(a, b) distribution (bisection on :func:`regularized_beta`).

    Raises:
        ValueError: ``p`` is not in [0, 1] or a shape is not positive.
    """
    if not 0.0 <= p <= 1.0 or a <= 0 or b <= 0:
        raise ValueError(f"beta quantile needs 0 <= p <= 1 and a, b > 0 (got p={p}, a={a}, b={b})")
    low, high = 0.0, 1.0
    for _ in range(200):
        mid = (low + high) / 2.0
        if regularized_beta(a, b, mid) < p:
            low = mid
        else:
            high = mid
        if high - low < 1e-15:
            break
    return (low + high) / 2.0


def clopper_pearson(successes: int, n: int, confidence: float = 0.95) -> Interval:
    """The proportion ``successes / n`` with its exact (Clopper-Pearson) interval.

    Raises:
        ValueError: ``n`` is not positive or ``successes`` is outside [0, n].
    """
    if n <= 0 or not 0 <= successes <= n:
        raise ValueError(f"a proportion needs 0 <= successes <= n, n > 0 (got {successes}/{n})")
    alpha = 1.0 - confidence
    low = 0.0 if successes == 0 else beta_quantile(alpha / 2.0, successes, n - successes + 1)
    high = 1.0 if successes == n else beta_quantile(1.0 - alpha / 2.0, successes + 1, n - successes)
    return successes / n, low, high


def paired_binary_interval(worse: int, better: int, n: int, confidence: float = 0.95) -> Interval:
    """The paired delta of 0/1 scores, ``(better - worse) / n``, with McNemar's dual interval.

    Args:
        worse: Pairs right in the base and wrong in the candidate.
        better: Pairs wrong in the base and right in the candidate.
        n: All pairs.
        confidence: The interval's confidence.

    Without a discordant pair the delta is 0 and so is its interval (conditional on there being
    none). The interval excludes 0 exactly when :func:`mcnemar_exact` is below 1 - confidence.

    Raises:
        ValueError: the counts do not fit in ``n`` pairs.
    """
    discordant = worse + better
    if n <= 0 or worse < 0 or better < 0 or discordant > n:
        raise ValueError(f"paired counts need 0 <= worse + better <= n, n > 0 (got {worse}, {better}, {n})")
    delta = (better - worse) / n
    if discordant == 0:
        return delta, delta, delta
    _, low, high = clopper_pearson(better, discordant, confidence)
    share = discordant / n
    return delta, share * (2.0 * low - 1.0), share * (2.0 * high - 1.0)


def mcnemar_exact(b: int, c: int) -> float:
    """McNemar's exact two-sided p-value for ``b`` and ``c`` discordant pairs (1.0 when none)."""
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    if n <= 1000:
        tail = sum(math.comb(n, i) for i in range(k + 1)) / float(1 << n)
    else:
        # Large n: sum the terms in log space (exact integers would have thousands of digits).
        log_all = math.lgamma(n + 1) - n * math.log(2)
        logs = [log_all - math.lgamma(i + 1) - math.lgamma(n - i + 1) for i in range(k + 1)]
        top = max(logs)
        tail = math.exp(top) * sum(math.exp(value - top) for value in logs)
    return min(1.0, 2.0 * tail)


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """Mean of ``values`` with its two-sided t interval (the mean alone for fewer than 2 values).

    Raises:
        ValueError: ``values`` is empty.
    """
    n = len(values)
    if n == 0:
        raise ValueError("no values")
    mean = math.fsum(values) / n
    if n < 2:
        return mean, mean, mean
    variance = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
    half = t_quantile(0.5 + confidence / 2.0, n - 1) * math.sqrt(variance / n)
    return mean, mean - half, mean + half


def normal_interval(estimate: float, stderr: float, confidence: float = 0.95) -> Interval:
    """``estimate`` ± z × ``stderr``."""
    half = NormalDist().inv_cdf(0.5 + confidence / 2.0) * stderr
    return estimate, estimate - half, estimate + half


def z_test(estimate: float, stderr: float) -> float:
    """Two-sided p-value of ``estimate`` against 0 given its standard error (1.0 without one)."""
    if stderr <= 0:
        return 1.0 if estimate == 0 else 0.0
    return 2.0 * (1.0 - NormalDist().cdf(abs(estimate) / stderr))


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> Interval:
    """The proportion ``successes / n`` with its Wilson score interval.

    Raises:
        ValueError: ``n`` is not positive or ``successes`` is outside [0, n].
    """
    if n <= 0 or not 0 <= successes <= n:
        raise ValueError(f"a proportion needs 0 <= successes <= n, n > 0 (got {successes}/{n})")
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    p = successes / n
    denominator = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return p, max(0.0, centre - half), min(1.0, centre + half)
