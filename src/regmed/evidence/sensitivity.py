"""Sensitivity analyses: E-values for unmeasured confounding, tipping points for missing outcomes.

References
----------
.. [1] VanderWeele TJ, Ding P (2017). Sensitivity analysis in observational research:
   introducing the E-value. Annals of Internal Medicine 167:268-274.
.. [2] Mathur MB, Ding P, Riddell CA, VanderWeele TJ (2018). Website and R package for computing
   E-values. Epidemiology 29:e45-e47 (R package ``EValue``).
.. [3] Ding P, VanderWeele TJ (2016). Sensitivity analysis without assumptions. Epidemiology
   27:368-377 (bounding factor for the risk difference).
.. [4] Chinn S (2000). A simple method for converting an odds ratio to effect size for use in
   meta-analysis. Statistics in Medicine 19:3127-3131 (the 0.91 factor for mean differences).
.. [5] Yan X, Lee S, Li N (2009). Missing data handling methods in medical device clinical
   trials. J Biopharm Stat 19:1085-1098 (tipping-point analysis).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from regmed.errors import DataError, Problem
from regmed.results import Result, format_table

__all__ = ["EValue", "TippingPoint", "e_value", "e_value_rd", "tipping_point"]

_MEASURES = ("risk_ratio", "odds_ratio", "hazard_ratio", "mean_difference")


@dataclasses.dataclass(frozen=True)
class EValue(Result):
    """E-values for a point estimate and the confidence limit closer to the null.

    Attributes
    ----------
    measure : str
        The input measure.
    risk_ratio, risk_ratio_lower, risk_ratio_upper : float
        The estimate and CI converted to the risk-ratio scale.
    e_value : float
        Minimum strength of association (risk-ratio scale) an unmeasured confounder needs with
        both treatment and outcome to explain away the estimate.
    e_value_ci : float
        The same for the CI limit closer to the null (1 when the CI includes the null).
    options : dict
    """

    measure: str
    risk_ratio: float
    risk_ratio_lower: float
    risk_ratio_upper: float
    e_value: float
    e_value_ci: float
    options: dict[str, Any]


def _evalue_rr(rr: float, true: float = 1.0) -> float:
    if rr <= 0 or math.isnan(rr):
        return math.nan
    x = rr / true
    if x < 1:
        x = 1 / x
    return float(x + math.sqrt(x * (x - 1)))


def _to_rr(value: float, measure: str, rare: bool) -> float:
    if measure == "risk_ratio" or (measure in ("odds_ratio", "hazard_ratio") and rare):
        return value
    if measure == "odds_ratio":
        return math.sqrt(value)
    if measure == "hazard_ratio":
        return (1 - 0.5 ** math.sqrt(value)) / (1 - 0.5 ** math.sqrt(1 / value))
    raise AssertionError(measure)


def e_value(
    estimate: float,
    ci_lower: float | None = None,
    ci_upper: float | None = None,
    *,
    measure: str = "risk_ratio",
    rare: bool = False,
    sd: float | None = None,
    se: float | None = None,
    true: float = 1.0,
) -> EValue:
    """E-value of an estimate and of its confidence limit (VanderWeele & Ding 2017).

    Parameters
    ----------
    estimate : float
        The estimate on its natural scale (ratio, or difference).
    ci_lower, ci_upper : float, optional
        Its confidence limits (same scale).
    measure : {"risk_ratio", "odds_ratio", "hazard_ratio", "mean_difference"}
        Odds and hazard ratios are converted to risk ratios as in VanderWeele & Ding (2017)
        Table 2: unchanged when the outcome is ``rare`` (< 15%), otherwise ``sqrt(OR)`` and
        ``(1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR))``. A mean difference is standardized by
        ``sd`` to d and converted to ``exp(0.91 d)``, its CI to ``exp(0.91 d ± 1.78 se/sd)``
        (``se`` required, as ``EValue::evalues.MD``). For a risk difference use
        :func:`e_value_rd`.
    rare : bool
        Whether the outcome is rare (odds and hazard ratios only).
    sd, se : float, optional
        Outcome SD and the estimate's SE, for ``mean_difference``.
    true : float
        The true value to shift to (risk-ratio scale), default 1 (no effect).

    Returns
    -------
    EValue

    References
    ----------
    .. [1] VanderWeele TJ, Ding P (2017). Annals of Internal Medicine 167:268-274.
    .. [2] Mathur MB et al. (2018). Epidemiology 29:e45-e47.

    Examples
    --------
    >>> ev = e_value(3.9, 1.8, 8.7)            # VanderWeele & Ding (2017), breastfeeding
    >>> round(ev.e_value, 2), round(ev.e_value_ci, 2)
    (7.26, 3.0)
    """
    if measure == "risk_difference":
        raise DataError("For a risk difference use e_value_rd() with the 2x2 counts.")
    if measure not in _MEASURES:
        raise DataError(f"measure must be one of {', '.join(_MEASURES)}, not {measure!r}.")
    problems: list[Problem] = []
    lo = math.nan if ci_lower is None else float(ci_lower)
    hi = math.nan if ci_upper is None else float(ci_upper)
    if measure == "mean_difference":
        if sd is None or sd <= 0 or se is None or se < 0:
            problems.append(Problem("a mean difference needs sd > 0 and se >= 0", field="sd"))
        else:
            d = estimate / sd
            rr = math.exp(0.91 * d)
            rr_lo, rr_hi = math.exp(0.91 * d - 1.78 * se / sd), math.exp(0.91 * d + 1.78 * se / sd)
    else:
        if estimate <= 0 or (not math.isnan(lo) and lo <= 0) or (not math.isnan(hi) and hi <= 0):
            problems.append(Problem("ratios and their limits must be positive", field="estimate"))
        else:
            rr = _to_rr(estimate, measure, rare)
            rr_lo = math.nan if math.isnan(lo) else _to_rr(lo, measure, rare)
            rr_hi = math.nan if math.isnan(hi) else _to_rr(hi, measure, rare)
    if problems:
        raise DataError("The E-value cannot be computed.", problems)
    if not math.isnan(rr_lo) and not math.isnan(rr_hi) and not rr_lo <= rr <= rr_hi:
        raise DataError("The estimate must lie within its confidence limits.")
    ev = _evalue_rr(rr, true)
    # the limit closer to the null; 1 when the interval contains the true value
    if rr > true:
        ev_ci = math.nan if math.isnan(rr_lo) else (1.0 if rr_lo <= true
                                                    else _evalue_rr(rr_lo, true))
    elif rr < true:
        ev_ci = math.nan if math.isnan(rr_hi) else (1.0 if rr_hi >= true
                                                    else _evalue_rr(rr_hi, true))
    else:
        ev_ci = 1.0
    return EValue(
        measure=measure, risk_ratio=rr, risk_ratio_lower=rr_lo, risk_ratio_upper=rr_hi,
        e_value=ev, e_value_ci=ev_ci,
        options={"estimate": estimate, "ci_lower": ci_lower, "ci_upper": ci_upper,
                 "measure": measure, "rare": rare, "sd": sd, "se": se,
                 "true": true},
    )


def e_value_rd(
    n11: float, n10: float, n01: float, n00: float, *, true: float = 0.0, alpha: float = 0.05
) -> EValue:
    """E-value for a risk difference from a 2x2 table (Ding & VanderWeele 2016).

    A confounder with bounding factor B (risk-ratio scale, E-value ``B + sqrt(B(B-1))``) can
    reduce the risk difference at most to ``(p1 - p0 B)(f + (1 - f)/B)``, f the treated share.
    The point E-value solves that for ``true``; the CI E-value is the smallest B at which the
    lower Wald limit of the bias-adjusted difference (delta method in f, p1, p0, as the R
    package ``EValue``'s ``evalues.RD``, which searches a grid of B where this finds the root)
    reaches ``true`` — 1 when the unadjusted lower limit already does.

    Parameters
    ----------
    n11, n10 : float
        Treated with and without the outcome (weighted counts are allowed).
    n01, n00 : float
        Controls with and without the outcome.
    true : float
        The risk difference to shift to (default 0).
    alpha : float
        Two-sided level of the interval.

    Returns
    -------
    EValue
        ``risk_ratio`` holds the bounding factor of the estimate.

    References
    ----------
    .. [1] Ding P, VanderWeele TJ (2016). Epidemiology 27:368-377.
    .. [2] Mathur MB et al. (2018). Epidemiology 29:e45-e47.

    Examples
    --------
    >>> round(e_value_rd(50, 50, 25, 75).e_value, 3)   # p1 0.5, p0 0.25: B = 2
    3.414
    """
    from scipy.optimize import brentq

    counts = np.array([n11, n10, n01, n00], dtype=float)
    if (counts < 0).any() or n11 + n10 == 0 or n01 + n00 == 0:
        raise DataError("The 2x2 counts must be non-negative with both arms present.")
    n1, n0 = n11 + n10, n01 + n00
    n = n1 + n0
    f = n1 / n
    p1, p0 = n11 / n1, n01 / n0
    if p1 - p0 <= true:
        raise DataError("The risk difference must exceed `true` (relabel the arms if it is "
                        "negative).")
    if p0 == 0:
        raise DataError("The control risk is 0: no confounder can explain the difference away.")
    diff = p0 * (1 - f) - p1 * f
    bf = (math.sqrt((true + diff) ** 2 + 4 * p1 * p0 * f * (1 - f)) - (true + diff)) / (2 * p0 * f)
    z = float(stats.norm.ppf(1 - alpha / 2))
    v1, v0, vf = p1 * (1 - p1) / n1, p0 * (1 - p0) / n0, f * (1 - f) / n

    def lower(b: float) -> float:
        adj = (p1 - p0 * b) * (f + (1 - f) / b)
        g1, g0, gf = f + (1 - f) / b, -(b * f + 1 - f), (p1 - p0 * b) * (1 - 1 / b)
        return adj - z * math.sqrt(g1**2 * v1 + g0**2 * v0 + gf**2 * vf) - true

    lo = p1 - p0 - z * math.sqrt(v1 + v0)
    if lo <= true:
        ev_ci, b_ci = 1.0, 1.0
    else:
        b_ci = float(brentq(lower, 1.0, bf, xtol=1e-12))
        ev_ci = _evalue_rr(b_ci)
    return EValue(
        measure="risk_difference", risk_ratio=bf, risk_ratio_lower=b_ci,
        risk_ratio_upper=math.nan, e_value=_evalue_rr(bf), e_value_ci=ev_ci,
        options={"n11": n11, "n10": n10, "n01": n01, "n00": n00, "true": true, "alpha": alpha},
    )


@dataclasses.dataclass(frozen=True)
class TippingPoint(Result):
    """Tipping-point analysis of a binary outcome with missing outcomes.

    Attributes
    ----------
    grid : pandas.DataFrame
        One row per imputation: ``responders_missing_treated``, ``responders_missing_control``
        (how many of the missing patients are imputed as responders), ``risk_treated``,
        ``risk_control``, ``risk_difference``, ``ci_lower``, ``ci_upper``, ``p_value``,
        ``significant``.
    tipping_points : pandas.DataFrame
        Per number of control responders among the control missing, the smallest number of
        treated missing who must be responders for the result to stay significant
        (``min_responders_missing_treated``; NaN if never).
    significant_observed, significant_worst_case : bool
        Significance in the complete cases and when every missing treated patient fails and
        every missing control responds.
    options : dict
    """

    grid: pd.DataFrame
    tipping_points: pd.DataFrame
    significant_observed: bool
    significant_worst_case: bool
    options: dict[str, Any]

    def summary(self) -> str:
        return format_table(self.tipping_points, title="Tipping points")


def _test(r1: np.ndarray, n1: int, r0: np.ndarray, n0: int, method: str, alpha: float,
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    p1, p0 = r1 / n1, r0 / n0
    rd = p1 - p0
    se = np.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    z = stats.norm.ppf(1 - alpha / 2)
    lo, hi = rd - z * se, rd + z * se
    if method == "wald":
        with np.errstate(divide="ignore", invalid="ignore"):
            p = np.where(se > 0, 2 * stats.norm.sf(np.abs(rd / se)), np.where(rd == 0, 1.0, 0.0))
    else:
        p = np.array([stats.fisher_exact([[a, n1 - a], [b, n0 - b]])[1]
                      for a, b in zip(r1, r0, strict=True)])
    return rd, lo, hi, p


def tipping_point(
    responders_treated: int,
    observed_treated: int,
    missing_treated: int,
    responders_control: int,
    observed_control: int,
    missing_control: int = 0,
    *,
    alpha: float = 0.05,
    method: str = "wald",
) -> TippingPoint:
    """Tipping-point analysis for a binary outcome with missing outcomes.

    Every combination of outcomes for the missing patients is imputed (0..m responders among
    the m missing in each arm) and the treated-minus-control comparison repeated, showing how
    many missing treated patients would have to be failures (and missing controls successes)
    to overturn a significant result.

    Parameters
    ----------
    responders_treated, observed_treated, missing_treated : int
        Treated responders among the observed, observed count and missing count.
    responders_control, observed_control, missing_control : int
        The same for the control arm.
    alpha : float
        Two-sided significance level.
    method : {"wald", "fisher"}
        Wald test of the risk difference (unpooled SE; significant when the lower limit of the
        1 - alpha CI is above 0), or Fisher's exact test (significant when p < alpha and the
        risk difference is positive).

    Returns
    -------
    TippingPoint

    References
    ----------
    .. [1] Yan X, Lee S, Li N (2009). J Biopharm Stat 19:1085-1098.

    Examples
    --------
    >>> tp = tipping_point(35, 50, 8, 25, 50, 4)
    >>> tp.significant_observed, tp.significant_worst_case
    (True, False)
    """
    counts = {"responders_treated": responders_treated, "observed_treated": observed_treated,
              "missing_treated": missing_treated, "responders_control": responders_control,
              "observed_control": observed_control, "missing_control": missing_control}
    problems = [Problem("must be a non-negative integer", field=k)
                for k, v in counts.items() if int(v) != v or v < 0]
    if responders_treated > observed_treated:
        problems.append(Problem("more responders than observed", field="responders_treated"))
    if responders_control > observed_control:
        problems.append(Problem("more responders than observed", field="responders_control"))
    if method not in ("wald", "fisher"):
        problems.append(Problem("method must be 'wald' or 'fisher'", field="method"))
    if observed_treated == 0 or observed_control == 0:
        problems.append(Problem("each arm needs observed patients", field="observed_treated"))
    if problems:
        raise DataError("The tipping-point analysis cannot be run.", problems)
    n1 = observed_treated + missing_treated
    n0 = observed_control + missing_control
    x1, x0 = np.meshgrid(np.arange(missing_treated + 1), np.arange(missing_control + 1),
                         indexing="ij")
    x1, x0 = x1.ravel(), x0.ravel()
    r1 = (responders_treated + x1).astype(float)
    r0 = (responders_control + x0).astype(float)
    rd, lo, hi, p = _test(r1, n1, r0, n0, method, alpha)
    sig = (lo > 0) if method == "wald" else ((p < alpha) & (rd > 0))
    grid = pd.DataFrame({
        "responders_missing_treated": x1, "responders_missing_control": x0,
        "risk_treated": r1 / n1, "risk_control": r0 / n0, "risk_difference": rd,
        "ci_lower": lo, "ci_upper": hi, "p_value": p, "significant": sig,
    })
    tips = []
    for x0v, part in grid.groupby("responders_missing_control"):
        ok = part.loc[part["significant"], "responders_missing_treated"]
        tips.append({"responders_missing_control": int(x0v),
                     "min_responders_missing_treated": float(ok.min()) if len(ok) else math.nan})
    obs_rd, obs_lo, _, obs_p = _test(np.array([float(responders_treated)]), observed_treated,
                                     np.array([float(responders_control)]), observed_control,
                                     method, alpha)
    sig_obs = bool(obs_lo[0] > 0) if method == "wald" else bool(obs_p[0] < alpha and obs_rd[0] > 0)
    worst = grid[(grid["responders_missing_treated"] == 0)
                 & (grid["responders_missing_control"] == missing_control)]
    return TippingPoint(
        grid=grid,
        tipping_points=pd.DataFrame(tips),
        significant_observed=sig_obs,
        significant_worst_case=bool(worst["significant"].iloc[0]),
        options={**counts, "alpha": alpha, "method": method},
    )
