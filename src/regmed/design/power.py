"""Power with given group sizes: "what power do we have with N" (pwr and rpact)."""

from __future__ import annotations

import dataclasses
import math

from scipy import stats

from regmed.design._base import DesignResult
from regmed.design._checks import Checker
from regmed.design.sample_size import farrington_manning_diff

__all__ = ["PowerResult", "power_rates", "power_means", "power_survival"]


@dataclasses.dataclass(frozen=True)
class PowerResult(DesignResult):
    """Power of a fixed two-group design.

    Attributes
    ----------
    power : float
        Probability of rejecting H0 under the assumed effect.
    effect_size : float
        The standardized effect used: Cohen's h (rates, arcsine), Cohen's d (means),
        ``log(hazard_ratio)`` (survival) or the risk difference (rates, normal).
    """

    power: float
    effect_size: float


def _two_groups(check: Checker, n_treated, n_control, alpha, sided) -> None:
    check.number("n_treated", n_treated, low=2.0)
    check.number("n_control", n_control, low=2.0)
    check.probability("alpha", alpha)
    check.sided(sided)


def power_rates(
    *,
    p_treated: float,
    p_control: float,
    n_treated: float,
    n_control: float,
    alpha: float = 0.025,
    sided: int = 1,
    method: str = "arcsine",
) -> PowerResult:
    """Power to compare two proportions with ``n_treated`` and ``n_control`` patients.

    ``method="arcsine"`` is ``pwr::pwr.2p2n.test`` with Cohen's
    ``h = 2 asin(sqrt(p_treated)) - 2 asin(sqrt(p_control))`` (one-sided: the alternative in
    the direction of the assumed difference; two-sided: ``alpha`` split over both sides).
    ``method="normal"`` is the normal approximation of :func:`sample_size_rates` (pooled
    variance under H0, unpooled under H1), as ``rpact::getPowerRates`` for a fixed design
    (R/f_design_plan_rates.R): the test statistic is taken as normal with unit variance and
    mean ``theta sqrt(N) = |d| / sd1 + z (1 - sd0 / sd1)`` (``sd0`` pooled at the
    Farrington-Manning restricted rates, ``sd1`` unpooled), and power is
    ``P(Z >= z - drift)`` plus, two-sided, ``P(Z <= -z - drift)``. The upper region is exact
    for the normal approximation; rpact's lower region applies the same drift (the exact
    lower tail would be ``Phi((-z sd0 - |d|) / sd1)``, larger by about 3e-6 at typical sizes,
    e.g. 0.692591 instead of 0.692588). regmed follows rpact so that the numbers agree.

    References
    ----------
    Cohen J (1988). Statistical Power Analysis for the Behavioral Sciences, 2nd ed., ch. 6.
    pwr 1.3, ``pwr.2p2n.test``. rpact 3.3.4, ``getPowerRates``.

    Examples
    --------
    >>> round(power_rates(p_treated=0.45, p_control=0.25, n_treated=49, n_control=102).power, 3)
    0.683
    """
    check = Checker("power_rates")
    check.probability("p_treated", p_treated)
    check.probability("p_control", p_control)
    _two_groups(check, n_treated, n_control, alpha, sided)
    check.choice("method", method, ("arcsine", "normal"))
    check.raise_if_any()
    if p_treated == p_control:
        check.add("p_treated", "must differ from p_control")
        check.raise_if_any()
    options = dict(
        p_treated=p_treated, p_control=p_control, n_treated=n_treated, n_control=n_control,
        alpha=alpha, sided=sided, method=method,
    )
    if method == "arcsine":
        h = 2 * math.asin(math.sqrt(p_treated)) - 2 * math.asin(math.sqrt(p_control))
        shift = abs(h) * math.sqrt(n_treated * n_control / (n_treated + n_control))
        z = stats.norm.isf(alpha / sided)
        value = stats.norm.sf(z - shift)
        if sided == 2:
            value += stats.norm.cdf(-z - shift)
        return PowerResult(options=options, power=float(value), effect_size=float(h))
    r = n_treated / n_control
    ml1, ml2 = farrington_manning_diff(p_treated, p_control, 0.0, r)
    sd0 = math.sqrt(ml1 * (1 - ml1) / n_treated + ml2 * (1 - ml2) / n_control)
    sd1 = math.sqrt(
        p_treated * (1 - p_treated) / n_treated + p_control * (1 - p_control) / n_control
    )
    diff = abs(p_treated - p_control)
    z = stats.norm.isf(alpha / sided)
    # rpact's drift: the standardized difference plus the pooled/unpooled correction,
    # theta sqrt(N) = |d| / sd1 + z (1 - sd0 / sd1); both regions are |Z| >= z shifted by it.
    drift = diff / sd1 + z * (1 - sd0 / sd1)
    value = stats.norm.sf(z - drift)
    if sided == 2:
        value += stats.norm.cdf(-z - drift)
    return PowerResult(options=options, power=float(value), effect_size=float(diff))


def power_means(
    *,
    difference: float,
    sd: float,
    n_treated: float,
    n_control: float,
    alpha: float = 0.025,
    sided: int = 1,
) -> PowerResult:
    """Power of the two-sample t-test with ``n_treated`` and ``n_control`` patients.

    ``pwr::pwr.t2n.test`` with ``d = |difference| / sd``: non-central t with
    ``df = n1 + n2 - 2`` and ``ncp = d / sqrt(1/n1 + 1/n2)``; two-sided counts both tails.

    References
    ----------
    Cohen J (1988). Statistical Power Analysis for the Behavioral Sciences, 2nd ed., ch. 2.
    pwr 1.3, ``pwr.t2n.test``.

    Examples
    --------
    >>> round(power_means(difference=5, sd=12, n_treated=49, n_control=102).power, 3)
    0.663
    """
    check = Checker("power_means")
    if check.number("difference", difference) and float(difference) == 0:
        check.add("difference", "must not be zero")
    check.number("sd", sd, low=0.0, low_open=True)
    _two_groups(check, n_treated, n_control, alpha, sided)
    check.raise_if_any()
    d = abs(float(difference)) / float(sd)
    df = n_treated + n_control - 2
    ncp = d / math.sqrt(1 / n_treated + 1 / n_control)
    q = stats.t.isf(alpha / sided, df)
    value = stats.nct.sf(q, df, ncp)
    if sided == 2:
        value += stats.nct.cdf(-q, df, ncp)
    options = dict(
        difference=difference, sd=sd, n_treated=n_treated, n_control=n_control,
        alpha=alpha, sided=sided,
    )
    return PowerResult(options=options, power=float(value), effect_size=float(d))


def power_survival(
    *,
    hazard_ratio: float,
    events: float,
    alpha: float = 0.025,
    sided: int = 1,
    allocation_ratio: float = 1.0,
) -> PowerResult:
    """Power of the log-rank test after ``events`` events (Schoenfeld).

    ``Phi(sqrt(events r) / (1 + r) |log HR| - z_{alpha/sided})`` (plus the opposite tail
    when two-sided), as rpact's
    ``getPowerSurvival`` for a fixed design with ``maxNumberOfEvents = events``.

    References
    ----------
    Schoenfeld DA (1981). Biometrika 68:316-319. rpact 3.3.4, ``getPowerSurvival``.

    Examples
    --------
    >>> round(power_survival(hazard_ratio=0.6, events=100).power, 3)
    0.724
    """
    check = Checker("power_survival")
    if check.number("hazard_ratio", hazard_ratio, low=0.0, low_open=True) and hazard_ratio == 1:
        check.add("hazard_ratio", "must differ from 1")
    check.number("events", events, low=1.0)
    check.probability("alpha", alpha)
    check.sided(sided)
    check.number("allocation_ratio", allocation_ratio, low=0.0, low_open=True, high=100.0)
    check.raise_if_any()
    r = float(allocation_ratio)
    shift = math.sqrt(events * r) / (1 + r) * abs(math.log(hazard_ratio))
    z = stats.norm.isf(alpha / sided)
    value = stats.norm.sf(z - shift)
    if sided == 2:
        value += stats.norm.cdf(-z - shift)
    options = dict(
        hazard_ratio=hazard_ratio, events=events, alpha=alpha, sided=sided,
        allocation_ratio=allocation_ratio,
    )
    return PowerResult(options=options, power=float(value), effect_size=math.log(hazard_ratio))
