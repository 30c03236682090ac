"""Group-sequential analysis at an interim or the final look, as rpact's ``getAnalysisResults``.

Given a :func:`~regmed.design.group_sequential` design and the data of the stages observed so
far, :func:`analyze_group_sequential` reports per stage the boundary, the overall test
statistic and rpact's test action, the repeated confidence interval (Jennison and Turnbull
1989: the effects not rejected by the stage-k boundary) and the repeated p-value (the smallest
design level whose stage-k boundary the statistic crosses); and, once the trial stops for
efficacy or reaches its last stage, the stage-wise-ordering p-value, median unbiased estimate
and confidence interval (Tsiatis, Rosner and Mehta 1984; Wassmer and Brannath 2016, ch. 4).

The computations follow rpact 3.3.4's group-sequential branch literally (its test statistics,
rates' Farrington-Manning score, the t tests of means mapped to the normal scale through their
p-values, the survival log-rank scale, and the shifts of its decision matrix on the planned
information rates), so that the numbers are rpact's; ``tests/reference/design/analysis`` holds
rpact's values. One rpact convention to know: a two-sided design that stops at stage 1 reports
the one-sided stage-1 p-value as its final p-value (later stages report the two-sided one).
Futility bounds of the design are non-binding and do not enter the inference.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from regmed.design._base import DesignResult
from regmed.design._checks import Checker
from regmed.design._stagewise import COLUMNS, QNORM_MAX, StageData
from regmed.design.group_sequential import (
    GroupSequentialResult,
    _critical_values,
    rejection_probabilities,
)
from regmed.design.spending import spending_value
from regmed.errors import DataError
from regmed.results import ESTIMATE_COLUMNS, format_table

__all__ = ["GroupSequentialAnalysis", "analyze_group_sequential"]

KINDS = ("rates", "means", "survival")
_FUTILITY_DEFAULT = -6.0  # rpact's C_FUTILITY_BOUNDS_DEFAULT, the lower edge of its integration
_XTOL = 1e-13
EFFECTS = {("rates", 2): "risk_difference", ("rates", 1): "rate",
           ("means", 2): "mean_difference", ("means", 1): "mean",
           ("survival", 2): "hazard_ratio"}


@dataclasses.dataclass(frozen=True)
class GroupSequentialAnalysis(DesignResult):
    """The analysis of a group-sequential trial at its latest look.

    Attributes
    ----------
    kind : str
        ``"rates"``, ``"means"`` or ``"survival"``.
    effect : str
        The effect measure: ``risk_difference``, ``rate``, ``mean_difference``, ``mean`` or
        ``hazard_ratio`` (treated vs control).
    stage : int
        The last observed stage (1-based); ``k_max`` the planned number of stages.
    stages : pandas.DataFrame
        One row per observed stage: ``stage, information_rate, critical_value,
        futility_bound, test_statistic`` (rpact's overall statistic at ``theta_h0``: z, t or
        log-rank), ``z_value`` (its one-sided p-value in the chosen direction on the normal
        scale, the value compared with the boundary), ``effect_size`` (naive
        overall estimate), ``decision`` (rpact's ``testActions``: "reject and stop", "accept
        and stop", "continue", "reject", "accept"), ``rci_lower, rci_upper`` (repeated
        confidence interval) and ``repeated_p_value``, and the cumulative sizes.
    rejected : bool
        Whether a boundary has been crossed.
    final_stage : int or None
        The stage at which inference is final (the stopping stage, or ``k_max``); ``None``
        while the trial continues.
    final_p_value, median_unbiased, final_ci
        Stage-wise-ordering p-value, median unbiased estimate and confidence interval (NaN
        before the final stage).
    confidence_level : float
        Level of the repeated and final intervals.
    estimates : pandas.DataFrame
        Tidy table: a row ``stage k`` per look (naive estimate, repeated CI, repeated p-value)
        and a row ``final`` (median unbiased estimate, final CI, final p-value) once final.
    design : GroupSequentialResult
        The design analysed (not serialized).
    """

    kind: str
    effect: str
    stage: int
    k_max: int
    stages: pd.DataFrame
    rejected: bool
    final_stage: int | None
    final_p_value: float
    median_unbiased: float
    final_ci: tuple[float, float]
    confidence_level: float
    estimates: pd.DataFrame
    design: GroupSequentialResult = dataclasses.field(repr=False, compare=False)

    def summary(self) -> str:
        head = (f"GroupSequentialAnalysis ({self.kind}, {self.effect}): stage {self.stage} of "
                f"{self.k_max}, {self.confidence_level:.0%} intervals")
        return head + "\n" + format_table(self.stages, digits=6) + "\n\n" + format_table(
            self.estimates, title="estimates", digits=6)


# -- inputs ------------------------------------------------------------------------------------
def _frame(stage_data: Any, check: Checker) -> pd.DataFrame | None:
    try:
        frame = stage_data if isinstance(stage_data, pd.DataFrame) else pd.DataFrame(stage_data)
    except (TypeError, ValueError) as error:
        check.add("stage_data", f"must be a table of stages (one row per stage): {error}")
        return None
    if frame.empty:
        check.add("stage_data", "has no stages")
        return None
    return frame.reset_index(drop=True)


def _columns(kind: str, frame: pd.DataFrame, check: Checker) -> tuple[int, dict[str, Any]]:
    if kind == "survival":
        needed = ["events"]
        if "log_rank" in frame.columns and "hazard_ratio" in frame.columns:
            check.add("stage_data", "give log_rank or hazard_ratio per stage, not both")
        elif "log_rank" not in frame.columns and "hazard_ratio" not in frame.columns:
            check.add("stage_data", "survival needs log_rank (overall z) or hazard_ratio")
        needed += [c for c in ("log_rank", "hazard_ratio") if c in frame.columns]
        arms = 2
    else:
        arms = 2 if "n_treated" in frame.columns else 1
        needed = list(COLUMNS[(kind, arms)])
    out: dict[str, Any] = {}
    for col in needed:
        if col not in frame.columns:
            check.add(f"stage_data.{col}", f"is required for kind={kind!r} "
                      f"({', '.join(needed)} per stage)")
            continue
        values = pd.to_numeric(frame[col], errors="coerce")
        for i, v in enumerate(values, start=1):
            if not np.isfinite(v):
                check.add(f"stage_data[{i}].{col}", f"must be a number, got {frame[col][i - 1]!r}")
            elif col.startswith(("n", "events", "sd")) and v <= 0 and col != "events_treated" \
                    and col != "events_control" and not (kind == "rates" and col == "events"):
                check.add(f"stage_data[{i}].{col}", f"must be positive, got {v!r}")
            elif col.startswith("events") and v < 0:
                check.add(f"stage_data[{i}].{col}", f"must not be negative, got {v!r}")
            elif col == "hazard_ratio" and v <= 0:
                check.add(f"stage_data[{i}].{col}", f"must be positive, got {v!r}")
        out[col] = values.to_numpy(float)
    if kind == "rates" and not check.problems:
        pairs = (("events_treated", "n_treated"), ("events_control", "n_control"),
                 ("events", "n"))
        for e, n in pairs:
            if e in out and np.any(out[e] > out[n]):
                check.add(f"stage_data.{e}", f"events exceed {n} at a stage")
    if kind == "survival" and "events" in out and np.any(np.diff(out["events"]) <= 0):
        check.add("stage_data.events", "survival events are cumulative and must increase")
    return arms, out


# -- the pieces of rpact's analysis -------------------------------------------------------------
def _design_levels(design: GroupSequentialResult, level: float, stages: int) -> list[float]:
    """Critical values of stages 1..``stages`` of the design re-run at total ``alpha=level``."""
    o = design.options
    t = np.asarray(design.information_rates[:stages])
    spent = np.array([spending_value(o["spending"], level / o["sided"], x, o["gamma"])
                      for x in t])
    crit = _critical_values(t, spent * o["sided"], o["sided"])
    return [QNORM_MAX if math.isinf(c) else c for c in crit]


def _root(f, lo: float, hi: float) -> float:
    """A root of ``f`` in [lo, hi], NaN when there is no sign change (rpact: NA)."""
    flo, fhi = f(lo), f(hi)
    if flo == 0:
        return lo
    if fhi == 0:
        return hi
    if not (np.isfinite(flo) and np.isfinite(fhi)) or flo * fhi > 0:
        return math.nan
    return float(optimize.brentq(f, lo, hi, xtol=_XTOL, rtol=4 * np.finfo(float).eps,
                                 maxiter=200))


def _open_root(f, start: float) -> float:
    """A root of a monotone ``f`` on the real line: expand from ``start`` (rpact doubles)."""
    lo, hi = -abs(start), abs(start)
    for _ in range(60):
        if f(lo) * f(hi) <= 0:
            return _root(f, lo, hi)
        lo, hi = 2 * lo, 2 * hi
    return math.nan


def _effect_root(data: StageData, k: int, upper: bool, target: float) -> float:
    """The effect at which the overall statistic (direction ``upper``) equals ``target``."""
    if data.kind == "survival":
        return math.exp(_open_root(lambda g: data.z(k, math.exp(g), upper) - target, 1.0))
    if data.kind == "means":
        return _open_root(lambda th: data.z(k, th, upper) - target, 1.0)
    lo, hi = data.bracket()
    return _root(lambda th: data.z(k, th, upper) - target, lo, hi)


def _rci(data: StageData, k: int, crit: float) -> tuple[float, float]:
    if crit >= QNORM_MAX:
        return math.nan, math.nan
    if data.kind == "rates" and data.arms == 1:
        lower = 0.0 if data.e1[k] == 0 else _effect_root(data, k, True, crit)
        upper = 1.0 if data.e1[k] == data.n1[k] else _effect_root(data, k, False, crit)
    else:
        lower, upper = _effect_root(data, k, True, crit), _effect_root(data, k, False, crit)
    if lower > upper:
        return math.nan, math.nan
    return lower, upper


def _repeated_p(design: GroupSequentialResult, z: float, k: int) -> float:
    """Smallest level whose stage-k boundary ``z`` reaches (rpact searches in [tol, 0.5])."""
    stat = abs(z) if design.options["sided"] == 2 else z
    lo, hi = 1e-11, 0.5

    def gap(level: float) -> float:
        return _design_levels(design, level, k + 1)[k] - stat

    if gap(hi) >= 0:
        return hi
    if gap(lo) <= 0:
        return lo
    return float(optimize.brentq(gap, lo, hi, xtol=1e-15, rtol=1e-12, maxiter=200))


def _stopping_stage(design: GroupSequentialResult, zs: list[float], crit: list[float]) -> int:
    """rpact's ``.getStageGroupSeq``: the first stage whose boundary is crossed, else 0."""
    for k, (z, c) in enumerate(zip(zs, crit, strict=False)):
        if z >= c or (design.options["sided"] == 2 and z <= -c):
            return k + 1
    return 0


def _ordering_probability(design: GroupSequentialResult, stage: int, z_obs: float,
                          drift: float) -> float:
    """P(stopping earlier for efficacy, or at ``stage`` with Z >= z_obs) under ``drift``."""
    t = design.information_rates[:stage]
    upper = [*design.critical_values[: stage - 1], z_obs]
    up, _, _ = rejection_probabilities(t, upper, drift, sided=1,
                                       futility_bounds=[_FUTILITY_DEFAULT] * stage)
    return float(up.sum())


def _final_p(design: GroupSequentialResult, data: StageData, s: int, z: float) -> float:
    if s == 1:
        # rpact 3.3.4 reports the one-sided stage-1 p-value, also for two-sided designs (its
        # doubling sits in the branch of later stages); kept so that the numbers are rpact's
        return 1 - float(stats.norm.cdf(z))
    p = _ordering_probability(design, s, z, 0.0)
    if design.options["sided"] == 2:
        p = 2 * min(p, _ordering_probability(design, s, -z, 0.0))
    return p


def _final_general(design: GroupSequentialResult, data: StageData, s: int, z: float,
                   alpha_side: float) -> tuple[float, float, float]:
    """rpact's ``.getDecisionMatrixRoot``: CI bounds and median on the standardized scale."""
    if z >= 8:
        return math.nan, math.nan, math.nan
    scale = data.information(s - 1) / math.sqrt(design.information_rates[s - 1])

    def prob(theta: float) -> float:
        return _ordering_probability(design, s, z, theta * scale)

    lower = _root(lambda th: prob(th) - alpha_side, -8.0, 8.0)
    upper = _root(lambda th: 1 - prob(th) - alpha_side, -8.0, 8.0)
    median = _root(lambda th: prob(th) - 0.5, -8.0, 8.0)
    return lower, upper, median


def _final_inference(design: GroupSequentialResult, data: StageData, s: int, z: float,
                     theta_h0: float, upper: bool, alpha_side: float
                     ) -> tuple[float, float, float]:
    """Final (lower, upper, median unbiased) on the effect scale, rpact's retransformation."""
    k = s - 1
    q = float(stats.norm.isf(alpha_side))
    sign = 1.0 if upper else -1.0
    if s == 1:
        if data.kind == "rates":
            lo, hi = _effect_root(data, 0, True, q), _effect_root(data, 0, False, q)
            med = data.effect(0)
        elif data.kind == "means":
            sd = data.pooled_sd[0] if data.arms == 2 else data.s1[0]
            se = sd / data.information(0)
            med = data.effect(0)
            lo, hi = med - q * se, med + q * se
        else:
            r = data.ratio[0]
            stat = data.log_rank[0] - math.sqrt(data.events[0] * r) / (1 + r) * math.log(theta_h0)
            se = (1 + r) / math.sqrt(r) / math.sqrt(data.events[0])
            lo, hi, med = (math.exp(se * (stat - q)), math.exp(se * (stat + q)),
                           math.exp(se * stat))
        ci = sorted((lo, hi))
    else:
        g_lo, g_hi, g_med = _final_general(design, data, s, z, alpha_side)
        if math.isnan(g_lo):
            return math.nan, math.nan, math.nan
        if data.kind == "survival":
            r = data.ratio[k]
            vals = [math.exp(g * (1 + r) / math.sqrt(r) + sign * math.log(theta_h0))
                    for g in (g_lo, g_hi, g_med)]
            if not upper:
                vals = [1 / v for v in vals]
        else:
            if data.kind == "means":
                unit = data.pooled_sd[k] if data.arms == 2 else data.s1[k]
            elif data.arms == 1:
                p1 = data.e1[k] / data.n1[k]
                unit = math.sqrt(p1 * (1 - p1))
            else:
                p1, p2 = data.e1[k] / data.n1[k], data.e2[k] / data.n2[k]
                se = math.sqrt(p1 * (1 - p1) / data.n1[k] + p2 * (1 - p2) / data.n2[k])
                unit = se * data.information(k)
            vals = [g * unit + sign * theta_h0 for g in (g_lo, g_hi, g_med)]
            if not upper:
                vals = [-v for v in vals]
        med = vals[2]
        ci = sorted(vals[:2])
    if data.kind == "rates":
        ci = [max(0.0 if data.arms == 1 else -1.0, ci[0]), min(1.0, ci[1])]
    return ci[0], ci[1], med


def _action(design: GroupSequentialResult, z: float, k: int) -> str:
    c = design.critical_values[k]
    last = k == design.k_max - 1
    crossed = abs(z) > c if design.options["sided"] == 2 else z > c
    if last:
        return "reject" if crossed else "accept"
    if crossed:
        return "reject and stop"
    fut = design.futility_bounds[k] if k < len(design.futility_bounds) else _FUTILITY_DEFAULT
    if design.options["sided"] == 1 and z < fut:
        return "accept and stop"
    return "continue"


def analyze_group_sequential(
    design: GroupSequentialResult,
    *,
    kind: str,
    stage_data: Any,
    direction_upper: bool = True,
    theta_h0: float | None = None,
    normal_approximation: bool | None = None,
    equal_variances: bool = True,
    confidence_level: float | None = None,
) -> GroupSequentialAnalysis:
    """Analyse a group-sequential trial at its latest look, as rpact's ``getAnalysisResults``.

    Parameters
    ----------
    design : GroupSequentialResult
        The planned design (:func:`~regmed.design.group_sequential`).
    kind : {"rates", "means", "survival"}
        The endpoint.
    stage_data : DataFrame, mapping of lists, or list of dicts
        One row per observed stage (at most ``k_max``). Rates, stage-wise (not cumulative):
        ``n_treated, events_treated, n_control, events_control`` (two arms) or ``n, events``
        (single arm). Means, stage-wise: ``n_treated, mean_treated, sd_treated, n_control,
        mean_control, sd_control`` or ``n, mean, sd``. Survival, cumulative: ``events`` and
        the overall log-rank ``log_rank`` (z, positive when treated do worse, as rpact) or the
        ``hazard_ratio`` (treated vs control), optionally ``allocation_ratio`` (default 1).
    direction_upper : bool
        rpact's ``directionUpper``: the alternative is a larger effect (survival: use
        ``False`` when the treatment lowers the hazard).
    theta_h0 : float, optional
        The null effect: 0 for differences (required for a single-arm rate), 1 for a hazard
        ratio.
    normal_approximation : bool, optional
        Means: normal instead of t tests (default False); rates use the normal
        approximation (the only option).
    equal_variances : bool
        Means: pooled-variance t test (default) or Welch's.
    confidence_level : float, optional
        Level of the repeated and final intervals; default the design's ``1 - 2 alpha /
        sided``. Another level re-runs the design's spending at ``alpha' = sided (1 -
        level) / 2`` for the intervals (the decisions keep the design's level).

    Returns
    -------
    GroupSequentialAnalysis

    Raises
    ------
    DataError
        Missing or invalid stage data (every problem with its stage and column), more stages
        than planned, invalid options.

    References
    ----------
    Jennison C, Turnbull BW (1989). Interim analyses: the repeated confidence interval
    approach. JRSS B 51:305-361. Tsiatis AA, Rosner GL, Mehta CR (1984). Exact confidence
    intervals following a group sequential test. Biometrics 40:797-803. Wassmer G, Brannath W
    (2016). Group Sequential and Confirmatory Adaptive Designs in Clinical Trials. Springer.
    rpact 3.3.4, ``getAnalysisResults``.

    Examples
    --------
    >>> from regmed.design import group_sequential
    >>> d = group_sequential(information_rates=[0.5, 1], alpha=0.025, spending="OF")
    >>> a = analyze_group_sequential(d, kind="survival", direction_upper=False,
    ...     stage_data={"events": [50, 100], "log_rank": [-1.5, -2.4]})
    >>> a.final_stage, round(a.final_p_value, 4)
    (2, 0.009)
    """
    check = Checker("analyze_group_sequential", error=DataError)
    if not isinstance(design, GroupSequentialResult):
        check.add("design", "must be the result of group_sequential()")
        check.raise_if_any()
    check.choice("kind", kind, KINDS)
    check.raise_if_any()
    frame = _frame(stage_data, check)
    arms, cols = (2, {}) if frame is None else _columns(kind, frame, check)
    if frame is not None and len(frame) > design.k_max:
        check.add("stage_data", f"has {len(frame)} stages; the design plans {design.k_max}")
    if normal_approximation is False and kind == "rates":
        check.add("normal_approximation", "rates are analysed with the normal approximation")
    if confidence_level is not None:
        check.probability("confidence_level", confidence_level)
    if theta_h0 is None and kind == "rates" and arms == 1:
        check.add("theta_h0", "a single-arm rate needs the null rate theta_h0")
    elif theta_h0 is not None:
        if kind == "survival" and not theta_h0 > 0:
            check.add("theta_h0", "a null hazard ratio must be positive")
        if kind == "rates" and arms == 1 and not 0 < theta_h0 < 1:
            check.add("theta_h0", "a null rate must lie strictly between 0 and 1")
    check.raise_if_any()
    assert frame is not None

    theta0 = float(theta_h0) if theta_h0 is not None else (1.0 if kind == "survival" else 0.0)
    ratio = (pd.to_numeric(frame["allocation_ratio"]).to_numpy(float)
             if "allocation_ratio" in frame.columns else np.ones(len(frame)))
    if kind == "survival" and "hazard_ratio" in cols:
        cols["log_rank"] = (np.log(cols["hazard_ratio"]) * np.sqrt(ratio * cols["events"])
                            / (1 + ratio))
    data = StageData(kind, arms, cols, normal_approximation=bool(normal_approximation),
                     equal_variances=equal_variances, allocation_ratio=ratio)
    n = data.n_stages
    sided, alpha = design.options["sided"], design.options["alpha"]
    level = 1 - 2 * alpha / sided if confidence_level is None else float(confidence_level)
    ci_alpha = sided * (1 - level) / 2  # total alpha of the design that gives `level`
    ci_crit = (list(design.critical_values) if confidence_level is None
               else _design_levels(design, ci_alpha, design.k_max))
    ci_crit = [QNORM_MAX if math.isinf(c) else c for c in ci_crit]

    zs = [data.z(k, theta0, direction_upper) for k in range(n)]
    rows = []
    for k in range(n):
        lo, hi = _rci(data, k, ci_crit[k])
        fut = design.futility_bounds[k] if k < len(design.futility_bounds) else math.nan
        rows.append({
            "stage": k + 1, "information_rate": design.information_rates[k],
            "critical_value": design.critical_values[k], "futility_bound": fut,
            **data.sizes(k), "test_statistic": data.statistic(k, theta0), "z_value": zs[k],
            "effect_size": data.effect(k),
            "decision": _action(design, zs[k], k), "rci_lower": lo, "rci_upper": hi,
            "repeated_p_value": _repeated_p(design, zs[k], k),
        })
    stop = _stopping_stage(design, zs, list(design.critical_values))
    final_stage = stop if stop else (design.k_max if n == design.k_max else None)
    f_p = f_lo = f_hi = f_med = math.nan
    if final_stage is not None:
        z_s = zs[final_stage - 1]
        f_p = _final_p(design, data, final_stage, z_s)
        f_lo, f_hi, f_med = _final_inference(design, data, final_stage, z_s, theta0,
                                             direction_upper, ci_alpha / sided)
    stages = pd.DataFrame(rows)
    estimates = _estimates(stages, final_stage, f_med, f_lo, f_hi, f_p)
    options = {
        "design": design.options, "kind": kind, "arms": arms,
        "direction_upper": direction_upper, "theta_h0": theta0,
        "normal_approximation": bool(normal_approximation), "equal_variances": equal_variances,
        "confidence_level": level, "stage_data": frame.to_dict(orient="list"),
    }
    return GroupSequentialAnalysis(
        options=options, kind=kind, effect=EFFECTS[(kind, arms)], stage=n, k_max=design.k_max,
        stages=stages, rejected=bool(stop), final_stage=final_stage, final_p_value=f_p,
        median_unbiased=f_med, final_ci=(f_lo, f_hi), confidence_level=level,
        estimates=estimates, design=design,
    )


def _estimates(stages: pd.DataFrame, final_stage: int | None, med: float, lo: float,
               hi: float, p: float) -> pd.DataFrame:
    rows = [{"term": f"stage {int(r.stage)}", "estimate": r.effect_size, "std_error": math.nan,
             "ci_lower": r.rci_lower, "ci_upper": r.rci_upper, "statistic": r.z_value,
             "p_value": r.repeated_p_value} for r in stages.itertuples()]
    if final_stage is not None:
        rows.append({"term": "final", "estimate": med, "std_error": math.nan, "ci_lower": lo,
                     "ci_upper": hi,
                     "statistic": float(stages["z_value"].iloc[final_stage - 1]),
                     "p_value": p})
    return pd.DataFrame(rows, columns=list(ESTIMATE_COLUMNS))

