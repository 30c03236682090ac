"""Conditional power and sample-size re-estimation (inverse normal, Cui-Hung-Wang weights)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

from regmed.design._base import DesignResult
from regmed.design._checks import Checker
from regmed.design._recursion import Walk
from regmed.design.group_sequential import GroupSequentialResult

__all__ = [
    "ConditionalPowerResult",
    "ReestimationResult",
    "conditional_power",
    "reestimate_sample_size",
    "promising_zone_n2",
]

RULES = ("promising_zone", "conditional_power")


@dataclasses.dataclass(frozen=True)
class ConditionalPowerResult(DesignResult):
    """Conditional power after ``stage`` stages of an inverse-normal design.

    Attributes
    ----------
    stage : int
        Number of completed stages.
    effect : float
        Standardized effect (difference / sd) assumed for the remaining stages.
    effect_source : str
        ``"given"`` or ``"trend"`` (estimated from the stage-wise z statistics).
    conditional_power : float
        Probability of rejecting H0 at a later stage (cumulative to the last stage).
    conditional_power_by_stage : list of float
        Cumulative conditional power at each remaining stage (rpact's ``conditionalPower``).
    """

    stage: int
    effect: float
    effect_source: str
    conditional_power: float
    conditional_power_by_stage: list[float]


@dataclasses.dataclass(frozen=True)
class ReestimationResult(DesignResult):
    """A sample-size re-estimation decision at the interim of a two-stage design.

    Attributes
    ----------
    zone : str
        ``"stop_efficacy"``, ``"stop_futility"`` (non-binding advice), ``"unfavorable"``,
        ``"promising"`` or ``"favorable"``.
    n2 : int
        Stage-2 sample size (total of both groups) after re-estimation (0 when stopping).
    n_total : int
        ``n1 + n2``.
    conditional_power_trend : float
        Conditional power under the current trend with the planned stage-2 size.
    conditional_power_trend_new : float
        The same with the re-estimated stage-2 size.
    conditional_power_planned : float or None
        Conditional power under the planned effect with the re-estimated size.
    weights : list of float
        Pre-specified Cui-Hung-Wang weights ``(w1, w2)``, ``w1^2 + w2^2 = 1``.
    critical_value : float
        Final critical value for ``w1 z1 + w2 z2`` (the design's; type I error is kept).
    critical_value_stage2 : float
        The same rule on the stage-2 statistic: reject when ``z2 >= (c - w1 z1) / w2``.
    critical_value_conventional : float
        The same rule on the conventional pooled statistic of all ``n1 + n2`` patients.
    """

    zone: str
    n2: int
    n_total: int
    conditional_power_trend: float
    conditional_power_trend_new: float
    conditional_power_planned: float | None
    weights: list[float]
    critical_value: float
    critical_value_stage2: float
    critical_value_conventional: float


def conditional_power(
    *,
    design: GroupSequentialResult,
    z_stages: Sequence[float],
    n_planned: Sequence[float],
    effect: float | None = None,
    n_stages: Sequence[float] | None = None,
    allocation_ratio: float = 1.0,
) -> ConditionalPowerResult:
    """Conditional power of an inverse-normal design given the first stages, as rpact.

    The stage-wise statistics ``z_stages`` (``Phi^{-1}(1 - p_k)`` of each stage's own data)
    are combined with the weights ``w_k = sqrt(t_k - t_{k-1})`` of the design's information
    rates. Each later stage ``j`` adds ``w_j Z_j`` with ``Z_j ~ N(effect * sqrt(n_j r /
    (1 + r)^2), 1)``; the probability of crossing a later efficacy bound (futility bounds
    stop the walk) is integrated numerically, as ``rpact::getConditionalPower`` with
    ``thetaH1 / assumedStDev = effect``. Without ``effect`` the current trend is used:
    ``sum(sqrt(m_k) z_k) / sum(m_k)`` with ``m_k = n_k r / (1 + r)^2``, which needs
    ``n_stages``.

    Parameters
    ----------
    design : GroupSequentialResult
        The design (critical values, futility bounds, information rates).
    z_stages : sequence of float
        Stage-wise z statistics of the completed stages.
    n_planned : sequence of float
        Planned total sample sizes (both groups) of each remaining stage.
    effect : float, optional
        Standardized effect (difference / sd, or log hazard ratio times -1 with ``events``
        as sample size and allocation 1 for survival) under which to compute the power.
    n_stages : sequence of float, optional
        Observed total sample sizes of the completed stages (for the current trend).
    allocation_ratio : float
        n_treated / n_control.

    Returns
    -------
    ConditionalPowerResult

    References
    ----------
    Lehmacher W, Wassmer G (1999). Adaptive sample size calculations in group sequential
    trials. Biometrics 55:1286-1290. Wassmer G, Brannath W (2016), Springer, ch. 6.
    rpact 3.3.4, ``getConditionalPower``.
    """
    check = Checker("conditional_power")
    k_max = design.k_max
    z = [float(x) for x in z_stages]
    stage = len(z)
    for i, x in enumerate(z):
        check.number(f"z_stages[{i}]", x)
    if not 1 <= stage < k_max:
        check.add("z_stages", f"must hold 1 to {k_max - 1} stage-wise statistics")
    n_plan = [float(x) for x in n_planned]
    if stage < k_max and len(n_plan) != k_max - stage:
        check.add("n_planned", f"must give one sample size for each of the {k_max - stage} "
                               "remaining stages")
    for i, x in enumerate(n_plan):
        check.number(f"n_planned[{i}]", x, low=0.0, low_open=True, high=math.inf,
                     high_open=True)
    check.number("allocation_ratio", allocation_ratio, low=0.0, low_open=True)
    if effect is None:
        if n_stages is None or len(n_stages) != stage:
            check.add("n_stages", "the current trend needs the observed sample size of each "
                                  "completed stage")
        else:
            for i, x in enumerate(n_stages):
                check.number(f"n_stages[{i}]", x, low=0.0, low_open=True, high=math.inf,
                             high_open=True)
    else:
        check.number("effect", effect)
    check.raise_if_any()
    r = float(allocation_ratio)
    scale = r / (1 + r) ** 2
    if effect is None:
        m = np.asarray(n_stages, dtype=float) * scale
        theta = float(np.sum(np.sqrt(m) * np.asarray(z)) / np.sum(m))
        source = "trend"
    else:
        theta, source = float(effect), "given"
    t = np.asarray(design.information_rates)
    w = np.sqrt(np.diff(np.concatenate([[0.0], t])))
    start = float(np.dot(w[:stage], z))
    rest = np.arange(stage, k_max)
    n_eff = np.asarray(n_plan) * scale
    walk = Walk(theta * w[rest] * np.sqrt(n_eff), w[rest] ** 2, start=start)
    sided = design.options["sided"]
    cumulative, total = [], 0.0
    for j in rest:
        s = math.sqrt(t[j])
        upper = design.critical_values[j] * s
        if sided == 2:
            lower = -upper
        elif j < k_max - 1 and design.futility_bounds:
            lower = design.futility_bounds[j] * s
        else:
            lower = -math.inf
        total += walk.probabilities(upper, lower)[0]
        cumulative.append(float(total))
        if j < k_max - 1:
            walk.advance(upper, lower)
    options = dict(
        design=design.options, z_stages=z, n_planned=n_plan, effect=effect,
        n_stages=None if n_stages is None else [float(x) for x in n_stages],
        allocation_ratio=allocation_ratio,
    )
    return ConditionalPowerResult(
        options=options, stage=stage, effect=theta, effect_source=source,
        conditional_power=cumulative[-1], conditional_power_by_stage=cumulative,
    )


def _cp_trend(z1, n1, n2, b):
    """Conditional power under the trend: Phi(z1 sqrt(n2 / n1) - b)."""
    return stats.norm.cdf(z1 * np.sqrt(n2 / n1) - b)


def promising_zone_n2(
    z1: np.ndarray,
    *,
    n1: float,
    n2_planned: float,
    n2_max: float,
    w1: float,
    c2: float,
    target_power: float,
    cp_min: float,
    rule: str = "promising_zone",
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorized re-estimation rule: stage-2 size and conditional power under the trend.

    Returns ``(n2, cp)`` where ``cp`` is the conditional power under the trend with the
    planned stage-2 size. ``rule="promising_zone"`` increases ``n2`` only when
    ``cp_min <= cp < target_power`` (Mehta and Pocock 2011); ``"conditional_power"``
    re-sizes whenever ``cp < target_power``. The new ``n2`` is the smallest whole number
    reaching ``target_power`` under the trend, capped at ``n2_max``, never below
    ``n2_planned``.
    """
    z1 = np.asarray(z1, dtype=float)
    w2 = math.sqrt(1.0 - w1**2)
    b = (c2 - w1 * z1) / w2
    cp = _cp_trend(z1, n1, n2_planned, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        needed = n1 * ((b + stats.norm.isf(1 - target_power)) / z1) ** 2
    needed = np.where(z1 > 0, np.ceil(needed - 1e-9), np.inf)
    resized = np.clip(needed, n2_planned, n2_max)
    if rule == "promising_zone":
        change = (cp >= cp_min) & (cp < target_power)
    else:
        change = cp < target_power
    return np.where(change, resized, float(n2_planned)), cp


def reestimate_sample_size(
    *,
    z1: float,
    n1: float,
    n2_planned: float,
    n2_max: float,
    design: GroupSequentialResult | None = None,
    alpha: float = 0.025,
    target_power: float = 0.9,
    cp_min: float = 0.5,
    rule: str = "promising_zone",
    effect_planned: float | None = None,
    allocation_ratio: float = 1.0,
) -> ReestimationResult:
    """Re-estimate the stage-2 sample size at the interim, keeping the type I error.

    The final test is the inverse-normal combination ``w1 z1 + w2 z2 >= c`` with weights
    fixed in advance (Cui, Hung and Wang 1999): ``w1 = sqrt(t1)`` from the design's first
    information rate (without a design, ``t1 = n1 / (n1 + n2_planned)`` and ``c`` the
    fixed-design critical value ``z_{1-alpha}``). Because the weights do not depend on the
    re-estimated ``n2``, the type I error stays ``alpha`` whatever the rule. The rule
    computes conditional power under the current trend (``Phi(z1 sqrt(n2 / n1) - b)``,
    ``b = (c - w1 z1) / w2``) and, in the promising zone ``cp_min <= CP < target_power``
    (Mehta and Pocock 2011), raises ``n2`` to reach ``target_power``, up to ``n2_max``.

    Parameters
    ----------
    z1 : float
        Stage-1 z statistic.
    n1 : float
        Stage-1 sample size (total of both groups).
    n2_planned, n2_max : float
        Planned and maximal stage-2 sample sizes (totals).
    design : GroupSequentialResult, optional
        A two-stage design (interim efficacy bound ``c1``, final ``c2``, futility bound).
    alpha : float
        One-sided level when no design is given.
    target_power : float
        Conditional power to reach.
    cp_min : float
        Lower end of the promising zone.
    rule : {"promising_zone", "conditional_power"}
        Re-size only in the promising zone, or whenever CP is below target.
    effect_planned : float, optional
        Standardized planned effect; adds the conditional power under it.
    allocation_ratio : float
        n_treated / n_control (for ``effect_planned``).

    Returns
    -------
    ReestimationResult

    References
    ----------
    Cui L, Hung HMJ, Wang SJ (1999). Modification of sample size in group sequential
    clinical trials. Biometrics 55:853-857. Mehta CR, Pocock SJ (2011). Adaptive increase in
    sample size when interim results are promising: a practical guide with examples.
    Statistics in Medicine 30:3267-3284. Gao P, Ware JH, Mehta C (2008). Sample size
    re-estimation for adaptive sequential design in clinical trials. J Biopharm Stat
    18:1184-1196.
    """
    check = Checker("reestimate_sample_size")
    check.number("z1", z1)
    check.number("n1", n1, low=1.0)
    check.number("n2_planned", n2_planned, low=1.0)
    if check.number("n2_max", n2_max, low=1.0) and check.number("n2_planned", n2_planned):
        if n2_max < n2_planned:
            check.add("n2_max", "must be at least n2_planned")
    check.probability("target_power", target_power)
    check.number("cp_min", cp_min, low=0.0, high=1.0)
    check.choice("rule", rule, RULES)
    check.number("allocation_ratio", allocation_ratio, low=0.0, low_open=True)
    if design is not None:
        if design.k_max != 2:
            check.add("design", "must be a two-stage design")
        elif design.options["sided"] != 1:
            check.add("design", "must be one-sided")
    else:
        check.probability("alpha", alpha)
    if effect_planned is not None:
        check.number("effect_planned", effect_planned)
    check.raise_if_any()
    if design is not None:
        t1 = design.information_rates[0]
        c1, c2 = design.critical_values
        f1 = design.futility_bounds[0] if design.futility_bounds else -math.inf
    else:
        t1 = n1 / (n1 + n2_planned)
        c1, c2, f1 = math.inf, float(stats.norm.isf(alpha)), -math.inf
    w1, w2 = math.sqrt(t1), math.sqrt(1 - t1)
    n2_arr, cp_arr = promising_zone_n2(
        np.array([z1]), n1=n1, n2_planned=n2_planned, n2_max=n2_max, w1=w1, c2=c2,
        target_power=target_power, cp_min=cp_min, rule=rule,
    )
    cp = float(cp_arr[0])
    b = (c2 - w1 * z1) / w2
    if z1 >= c1:
        zone, n2 = "stop_efficacy", 0
    elif z1 <= f1:
        zone, n2 = "stop_futility", 0
    else:
        n2 = int(n2_arr[0])
        zone = "unfavorable" if cp < cp_min else ("favorable" if cp >= target_power else
                                                  "promising")
    n2_used = n2 if n2 > 0 else n2_planned
    cp_new = float(_cp_trend(z1, n1, n2_used, b))
    cp_planned = None
    if effect_planned is not None:
        r = float(allocation_ratio)
        drift = float(effect_planned) * math.sqrt(n2_used * r / (1 + r) ** 2)
        cp_planned = float(stats.norm.cdf(drift - b))
    conventional = (math.sqrt(n1) * z1 + math.sqrt(n2_used) * b) / math.sqrt(n1 + n2_used)
    options = dict(
        z1=z1, n1=n1, n2_planned=n2_planned, n2_max=n2_max,
        design=None if design is None else design.options, alpha=alpha,
        target_power=target_power, cp_min=cp_min, rule=rule, effect_planned=effect_planned,
        allocation_ratio=allocation_ratio,
    )
    return ReestimationResult(
        options=options, zone=zone, n2=n2, n_total=int(round(n1 + n2)),
        conditional_power_trend=cp, conditional_power_trend_new=cp_new,
        conditional_power_planned=cp_planned, weights=[w1, w2], critical_value=float(c2),
        critical_value_stage2=float(b), critical_value_conventional=float(conventional),
    )
