"""Sample sizes for two proportions and two means (rpact); shared helpers of the survival sizes."""

from __future__ import annotations

import dataclasses
import math

from scipy import optimize, stats

from regmed.design._base import DesignResult
from regmed.design._checks import Checker
from regmed.design.group_sequential import GroupSequentialResult

__all__ = [
    "SampleSizeResult",
    "sample_size_rates",
    "sample_size_means",
]


@dataclasses.dataclass(frozen=True)
class SampleSizeResult(DesignResult):
    """Sample size of a two-group design.

    ``n_treated``, ``n_control`` and ``n_total`` are unrounded, as rpact reports them
    (``nFixed1``, ``nFixed2``, ``nFixed``; with a group-sequential ``design`` the maximum
    sample sizes ``maxNumberOfSubjects1`` ...); the ``*_rounded`` values round each group up
    to a whole patient and add them (``n_total_rounded = n_treated_rounded +
    n_control_rounded``). ``n_fixed_total`` is the fixed-design total,
    ``inflation_factor`` the design's (1 without a design), ``n_total_by_stage`` the
    cumulative totals at each analysis and ``expected_n_total_h1`` the expected total under H1.
    """

    n_treated: float
    n_control: float
    n_total: float
    n_treated_rounded: int
    n_control_rounded: int
    n_total_rounded: int
    n_fixed_total: float
    inflation_factor: float
    n_total_by_stage: list[float]
    expected_n_total_h1: float


def _z(p: float) -> float:
    return float(stats.norm.isf(p))


def _groups(n_total: float, allocation_ratio: float) -> tuple[float, float]:
    n_treated = n_total * allocation_ratio / (1.0 + allocation_ratio)
    return n_treated, n_total / (1.0 + allocation_ratio)


def _result(cls, options, n_treated, n_control, design=None, by_stage=None, expected=None,
            **extra):
    """The result; ``by_stage``/``expected`` (totals) default to the information rates times
    the maximum and the design's expected sample size times the fixed total."""
    inflation = 1.0 if design is None else design.inflation_factor
    rates = [1.0] if design is None else list(design.information_rates)
    n_fixed = n_treated + n_control
    if expected is None:
        expected = (1.0 if design is None else design.expected_sample_size_h1) * n_fixed
    n_treated, n_control = n_treated * inflation, n_control * inflation
    if by_stage is None:
        by_stage = [t * (n_treated + n_control) for t in rates]
    nt, nc = math.ceil(n_treated - 1e-9), math.ceil(n_control - 1e-9)
    return cls(
        options=options,
        n_treated=float(n_treated),
        n_control=float(n_control),
        n_total=float(n_treated + n_control),
        n_treated_rounded=int(nt),
        n_control_rounded=int(nc),
        n_total_rounded=int(nt + nc),
        n_fixed_total=float(n_fixed),
        inflation_factor=float(inflation),
        n_total_by_stage=[float(n) for n in by_stage],
        expected_n_total_h1=float(expected),
        **extra,
    )


def _levels(check: Checker, design, alpha, power, sided) -> tuple[float, float, int]:
    """alpha, power and sided: from the design when one is given, else the defaults."""
    if design is None:
        return (0.025 if alpha is None else alpha, 0.8 if power is None else power,
                1 if sided is None else sided)
    if not isinstance(design, GroupSequentialResult):
        check.add("design", "must be a result of group_sequential()")
        return 0.025, 0.8, 1
    for name, value in (("alpha", alpha), ("power", power), ("sided", sided)):
        if value is not None:
            check.add(name, "comes from the design; do not give it with design=")
    o = design.options
    return o["alpha"], 1.0 - o["beta"], o["sided"]


def _common(check: Checker, alpha, power, sided, allocation_ratio) -> None:
    check.probability("alpha", alpha)
    check.probability("power", power)
    check.sided(sided)
    check.number("allocation_ratio", allocation_ratio, low=0.0, low_open=True, high=100.0)
    if check.number("alpha", alpha) and check.number("power", power):
        if 0 < alpha < 1 and 0 < power < 1 and power <= alpha / (sided if sided in (1, 2) else 1):
            check.add("power", "must exceed the one-sided significance level")


def farrington_manning_diff(
    rate1: float, rate2: float, theta: float, allocation: float
) -> tuple[float, float]:
    """Restricted maximum-likelihood rates under H0: p1 - p2 = theta (Farrington-Manning).

    References
    ----------
    Farrington CP, Manning G (1990). Test statistics and sample size formulae for comparative
    binomial trials with null hypothesis of non-zero risk difference or non-unity relative
    risk. Statistics in Medicine 9:1447-1454. Closed form as in rpact 3.3.4.
    """
    if theta == 0:
        ml = (allocation * rate1 + rate2) / (1 + allocation)
        return ml, ml
    a = 1 + 1 / allocation
    b = -(1 + 1 / allocation + rate1 + rate2 / allocation + theta * (1 / allocation + 2))
    c = theta**2 + theta * (2 * rate1 + 1 / allocation + 1) + rate1 + rate2 / allocation
    d = -theta * (1 + theta) * rate1
    v = b**3 / (3 * a) ** 3 - b * c / (6 * a**2) + d / (2 * a)
    root = math.sqrt(max(b**2 / (3 * a) ** 2 - c / (3 * a), 0.0))
    if v == 0:
        u, w = root, math.pi / 2
    else:
        u = math.copysign(root, v)
        w = (math.pi + math.acos(max(-1.0, min(1.0, v / u**3)))) / 3
    ml1 = min(max(0.0, 2 * u * math.cos(w) - b / (3 * a)), 1.0)
    ml2 = min(max(0.0, ml1 - theta), 1.0)
    return ml1, ml2


def sample_size_rates(
    *,
    p_treated: float,
    p_control: float,
    alpha: float | None = None,
    power: float | None = None,
    sided: int | None = None,
    allocation_ratio: float = 1.0,
    theta_h0: float = 0.0,
    design: GroupSequentialResult | None = None,
) -> SampleSizeResult:
    """Sample size to compare two proportions (normal approximation, as rpact).

    The variance under H0 uses the Farrington-Manning restricted estimates (for
    ``theta_h0 = 0`` the pooled rate ``(r p1 + p2) / (1 + r)``); the variance under H1 the
    unpooled rates, exactly as ``rpact::getSampleSizeRates(normalApproximation = TRUE)``.

    Parameters
    ----------
    p_treated, p_control : float
        Response probabilities assumed in the treated and the control group.
    alpha : float
        Significance level (default 0.025); with ``sided=2`` it is split over both sides.
    power : float
        Target power, 1 - beta (default 0.8).
    sided : {1, 2}
        One- or two-sided test (default 1).
    allocation_ratio : float
        n_treated / n_control (0.5 means two controls per treated patient).
    theta_h0 : float
        Difference p_treated - p_control under H0 (non-zero for non-inferiority).
    design : GroupSequentialResult, optional
        A group-sequential design: alpha, power and sided come from it and the sample
        sizes become the maxima, fixed size times the inflation factor (as rpact's
        ``getSampleSizeRates(design, ...)$maxNumberOfSubjects``).

    Returns
    -------
    SampleSizeResult

    References
    ----------
    Wassmer G, Brannath W (2016). Group Sequential and Confirmatory Adaptive Designs in
    Clinical Trials. Springer. rpact 3.3.4, ``getSampleSizeRates``. Farrington and Manning
    (1990), Statistics in Medicine 9:1447-1454.

    Examples
    --------
    >>> r = sample_size_rates(p_treated=0.45, p_control=0.25, allocation_ratio=0.5)
    >>> round(r.n_total, 2)
    193.99
    """
    check = Checker("sample_size_rates")
    check.probability("p_treated", p_treated)
    check.probability("p_control", p_control)
    check.number("theta_h0", theta_h0, low=-1.0, high=1.0, low_open=True, high_open=True)
    alpha, power, sided = _levels(check, design, alpha, power, sided)
    _common(check, alpha, power, sided, allocation_ratio)
    check.raise_if_any()
    if p_treated - p_control == theta_h0:
        check.add("p_treated", "the assumed difference equals theta_h0; no sample size exists")
        check.raise_if_any()
    r = float(allocation_ratio)
    ml1, ml2 = farrington_manning_diff(p_treated, p_control, theta_h0, r)
    za, zb = _z(alpha / sided), _z(1 - power)
    n1 = (
        za * math.sqrt(ml1 * (1 - ml1) + ml2 * (1 - ml2) * r)
        + zb * math.sqrt(p_treated * (1 - p_treated) + p_control * (1 - p_control) * r)
    ) ** 2 / (p_treated - p_control - theta_h0) ** 2
    options = dict(
        p_treated=p_treated, p_control=p_control, alpha=alpha, power=power, sided=sided,
        allocation_ratio=allocation_ratio, theta_h0=theta_h0,
        design=None if design is None else design.options,
    )
    return _result(SampleSizeResult, options, n1, n1 / r, design)


def sample_size_means(
    *,
    difference: float,
    sd: float,
    alpha: float | None = None,
    power: float | None = None,
    sided: int | None = None,
    allocation_ratio: float = 1.0,
    design: GroupSequentialResult | None = None,
) -> SampleSizeResult:
    """Sample size to compare two means with the two-sample t-test (as rpact).

    Solves ``P(T >= t_{1-alpha/sided, df} | ncp) = power`` for the control-group size
    ``n2`` with ``df = n2 (1 + r) - 2`` and ``ncp = sqrt(n2 r / (1 + r)) |difference| / sd``
    (non-central t), as ``rpact::getSampleSizeMeans(normalApproximation = FALSE)``; with
    ``sided = 2`` the other side's rejection region is ignored (rpact's default
    ``twoSidedPower = FALSE``).

    Parameters
    ----------
    difference : float
        Assumed difference of means, treated minus control (its sign does not matter).
    sd : float
        Common standard deviation.
    alpha, power, sided, allocation_ratio, design
        As in :func:`sample_size_rates`.

    Returns
    -------
    SampleSizeResult

    References
    ----------
    rpact 3.3.4, ``getSampleSizeMeans``. Wassmer and Brannath (2016), Springer, ch. 1.

    Examples
    --------
    >>> r = sample_size_means(difference=5, sd=12, power=0.9)
    >>> r.n_total_rounded
    246
    """
    check = Checker("sample_size_means")
    if check.number("difference", difference) and float(difference) == 0:
        check.add("difference", "must not be zero")
    check.number("sd", sd, low=0.0, low_open=True)
    alpha, power, sided = _levels(check, design, alpha, power, sided)
    _common(check, alpha, power, sided, allocation_ratio)
    check.raise_if_any()
    r = float(allocation_ratio)
    effect = abs(float(difference)) / float(sd)
    level = alpha / sided
    beta = 1.0 - power

    def miss(n2: float) -> float:
        df = max(0.001, n2 * (1 + r) - 2)
        ncp = math.sqrt(n2) * math.sqrt(r / (1 + r)) * effect
        return float(stats.nct.cdf(stats.t.isf(level, df), df, ncp)) - beta

    upper = 2.0
    while miss(upper) > 0:
        upper *= 2
    n2 = optimize.brentq(miss, 0.001, upper, xtol=1e-10, rtol=1e-14)
    options = dict(
        difference=difference, sd=sd, alpha=alpha, power=power, sided=sided,
        allocation_ratio=allocation_ratio,
        design=None if design is None else design.options,
    )
    n_treated, n_control = _groups(n2 * (1 + r), r)
    return _result(SampleSizeResult, options, n_treated, n_control, design)
