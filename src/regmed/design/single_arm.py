"""Exact single-arm binomial design against a performance goal."""

from __future__ import annotations

import dataclasses

from scipy import stats

from regmed.design._base import DesignResult
from regmed.design._checks import Checker

__all__ = ["SingleArmResult", "sample_size_single_arm", "power_single_arm"]


@dataclasses.dataclass(frozen=True)
class SingleArmResult(DesignResult):
    """A single-arm exact binomial design: reject H0 (p <= p0) when responders >= critical.

    Attributes
    ----------
    n : int
        Number of patients.
    critical : int
        Smallest number of responders that declares success.
    size : float
        Exact type I error ``P(X >= critical | p0)``.
    power : float
        Exact power ``P(X >= critical | p1)``.
    """

    n: int
    critical: int
    size: float
    power: float


def _critical(n: int, p0: float, alpha: float) -> int:
    """Smallest r with P(X >= r | n, p0) <= alpha."""
    r = int(stats.binom.isf(alpha, n, p0)) + 1  # P(X > isf) <= alpha
    while r > 0 and stats.binom.sf(r - 2, n, p0) <= alpha:
        r -= 1
    while stats.binom.sf(r - 1, n, p0) > alpha:
        r += 1
    return r


def _check(function: str, p0, p1, alpha) -> Checker:
    check = Checker(function)
    check.probability("p0", p0)
    check.probability("p1", p1)
    check.probability("alpha", alpha)
    if not check.problems and p1 <= p0:
        check.add("p1", "must exceed p0 (the performance goal)")
    return check


def power_single_arm(*, p0: float, p1: float, n: int, alpha: float = 0.025) -> SingleArmResult:
    """Exact size and power of the single-arm binomial test with ``n`` patients.

    References
    ----------
    A'Hern RP (2001). Sample size tables for exact single-stage phase II designs.
    Statistics in Medicine 20:859-866.

    Examples
    --------
    >>> r = power_single_arm(p0=0.15, p1=0.35, n=40)
    >>> r.critical
    12
    """
    check = _check("power_single_arm", p0, p1, alpha)
    check.number("n", n, low=1, integer=True)
    check.raise_if_any()
    n = int(n)
    r = _critical(n, p0, alpha)
    options = dict(p0=p0, p1=p1, n=n, alpha=alpha)
    return SingleArmResult(
        options=options, n=n, critical=r,
        size=float(stats.binom.sf(r - 1, n, p0)), power=float(stats.binom.sf(r - 1, n, p1)),
    )


def sample_size_single_arm(
    *, p0: float, p1: float, alpha: float = 0.025, power: float = 0.8, max_n: int = 10_000
) -> SingleArmResult:
    """Smallest ``n`` whose exact binomial test has size <= alpha and power >= ``power``.

    For each ``n`` the critical value is the smallest number of responders ``r`` with
    ``P(X >= r | p0) <= alpha``; the first ``n`` (counting up from 1) whose exact power
    ``P(X >= r | p1)`` reaches the target is returned. Power is not monotone in ``n``, so a
    slightly larger ``n`` may have lower power (A'Hern 2001).

    Parameters
    ----------
    p0 : float
        Response rate under H0 (the performance goal from external controls).
    p1 : float
        Response rate under H1 (greater than ``p0``).
    alpha : float
        One-sided significance level.
    power : float
        Target power.
    max_n : int
        Largest ``n`` searched.

    Returns
    -------
    SingleArmResult

    References
    ----------
    A'Hern RP (2001). Sample size tables for exact single-stage phase II designs.
    Statistics in Medicine 20:859-866.

    Examples
    --------
    >>> r = sample_size_single_arm(p0=0.15, p1=0.35)
    >>> r.n, r.critical
    (34, 10)
    """
    check = _check("sample_size_single_arm", p0, p1, alpha)
    check.probability("power", power)
    check.number("max_n", max_n, low=1, integer=True)
    check.raise_if_any()
    for n in range(1, int(max_n) + 1):
        r = _critical(n, p0, alpha)
        if r > n:
            continue
        achieved = float(stats.binom.sf(r - 1, n, p1))
        if achieved >= power:
            options = dict(p0=p0, p1=p1, alpha=alpha, power=power, max_n=max_n)
            return SingleArmResult(
                options=options, n=n, critical=r,
                size=float(stats.binom.sf(r - 1, n, p0)), power=achieved,
            )
    check.add("max_n", f"no n up to {max_n} reaches power {power}")
    check.raise_if_any()
    raise AssertionError("unreachable")
