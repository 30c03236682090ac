"""Outcome-regression adjustment with the marginal effect by g-computation.

:func:`gcomputation` fits the outcome on treatment and covariates (covariate adjustment) or on
treatment and the logit of the propensity score (propensity score as covariate), predicts every
unit of the estimand's target population with treatment set to 1 and to 0, and contrasts the
averages. The standard error is the delta method with the HC0 sandwich of the outcome model,
as ``marginaleffects::avg_comparisons(fit, variables = "treat", vcov = "HC0",
newdata = subset(treat == 1))`` (ATT) or without ``newdata`` (ATE); the intervals are normal, as
marginaleffects gives them.

For a time-to-event outcome the covariate-adjusted effect is the **conditional** hazard ratio
of ``coxph(Surv(time, event) ~ treat + covariates, robust = TRUE)``: a marginal hazard ratio by
g-computation has no settled variance (MatchIt vignette, footnote on survival outcomes).

References
----------
.. [1] Robins J (1986). A new approach to causal inference in mortality studies with a
   sustained exposure period. Mathematical Modelling 7:1393-1512.
.. [2] Snowden JM, Rose S, Mortimer KM (2011). Implementation of G-computation on a simulated
   data set. American Journal of Epidemiology 173:731-738.
.. [3] Arel-Bundock V, Greifer N, Heiss A (2024). How to interpret statistical models using
   marginaleffects for R and Python. Journal of Statistical Software 111(9).
.. [4] Greifer N, Stuart EA. MatchIt vignette "Estimating Effects After Matching".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from regmed.errors import DataError, Problem
from regmed.evidence._design import check_columns, model_matrix, treatment_array
from regmed.evidence._glm import fit_glm
from regmed.evidence.effects import Effect, effect_fields
from regmed.evidence.propensity import PropensityScore
from regmed.evidence.survival import SurvivalEffect, kaplan_meier
from regmed.results import ESTIMATE_COLUMNS

__all__ = ["gcomputation"]

_KINDS = ("binary", "continuous", "survival")
_ESTIMANDS = ("ATT", "ATE")


def _row(term: str, est: float, se: float, level: float) -> dict[str, Any]:
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    stat = est / se if se > 0 else math.nan
    return {"term": term, "estimate": est, "std_error": se, "ci_lower": est - z * se,
            "ci_upper": est + z * se, "statistic": stat,
            "p_value": float(2.0 * stats.norm.sf(abs(stat))) if se > 0 else math.nan}


def _logit_ps(df: pd.DataFrame, ps: Any, problems: list[Problem]) -> np.ndarray | None:
    if isinstance(ps, PropensityScore):
        e = ps.ps.reindex(df.index).to_numpy(dtype=float)
    else:
        e = np.asarray(ps.reindex(df.index) if isinstance(ps, pd.Series) else ps, dtype=float)
    if e.shape != (len(df),) or not np.all(np.isfinite(e)) or np.any((e <= 0) | (e >= 1)):
        problems.append(Problem("ps must be probabilities strictly between 0 and 1, one per row",
                                field="ps"))
        return None
    return np.asarray(special.logit(e))


def gcomputation(
    df: pd.DataFrame,
    *,
    treatment: str,
    outcome: str | None = None,
    time: str | None = None,
    event: str | None = None,
    covariates: Sequence[str],
    kind: str,
    estimand: str = "ATT",
    confidence_level: float = 0.95,
    ps: PropensityScore | pd.Series | np.ndarray | None = None,
) -> Effect | SurvivalEffect:
    """Marginal treatment effect by g-computation from an outcome regression.

    Without ``ps`` the model is ``outcome ~ treatment + covariates`` (covariate adjustment);
    with ``ps`` it is ``outcome ~ treatment + qlogis(ps)`` (propensity score as covariate; the
    score is taken as known, and ``covariates`` are recorded only). Binary outcomes use
    ``glm(family = binomial)`` and give the risk difference and, on the marginal risks, the log
    risk ratio ``log(p1/p0)`` and log odds ratio ``logit(p1) - logit(p0)``; continuous outcomes
    use ``lm`` and give the mean difference. ``kind="survival"`` gives the covariate-adjusted
    (conditional) Cox hazard ratio with the robust variance.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per unit (not modified). Rows with a missing outcome are dropped and counted;
        missing covariates are an error.
    treatment : str
        The 0/1 treatment column.
    outcome : str, optional
        Outcome column (0/1 for binary) for ``kind`` binary or continuous.
    time, event : str, optional
        Follow-up time and event indicator for ``kind="survival"``.
    covariates : sequence of str
        Adjustment covariates (numeric or categorical; factors enter with R's treatment
        contrasts).
    kind : {"binary", "continuous", "survival"}
    estimand : {"ATT", "ATE"}
        Target population of the averages: the treated, or everyone.
    confidence_level : float
        Level of the intervals (normal quantile), default 0.95.
    ps : PropensityScore or pandas.Series or array, optional
        Propensity score per row: adjust for its logit instead of the covariates.

    Returns
    -------
    Effect or SurvivalEffect
        ``Effect`` with rows ``risk_difference``, ``log_risk_ratio``, ``log_odds_ratio`` or
        ``mean_difference``; ``risk_treated``/``risk_control`` are the g-computed means.
        For survival a ``SurvivalEffect`` whose only estimate is the adjusted
        ``log_hazard_ratio`` (RMST fields are NaN; ``km`` holds the unadjusted curves).

    References
    ----------
    Robins (1986); Snowden, Rose & Mortimer (2011), AJE 173:731-738; Arel-Bundock, Greifer &
    Heiss (2024), JSS 111(9) (``avg_comparisons``); Zeileis (2006), JSS 16(9) (HC0).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"t": [1, 1, 1, 0, 0, 0, 1, 0], "x": [1., 2, 3, 1, 2, 3, 2, 2],
    ...                   "y": [3., 4, 6, 1, 2, 2, 5, 1]})
    >>> round(gcomputation(d, treatment="t", outcome="y", covariates=["x"],
    ...                    kind="continuous").mean_difference, 3)
    3.0
    """
    covariates = tuple(covariates)
    problems: list[Problem] = []
    if kind not in _KINDS:
        problems.append(Problem(f"kind must be one of {_KINDS}", field="kind"))
    if estimand not in _ESTIMANDS:
        problems.append(Problem(f"estimand must be one of {_ESTIMANDS} for g-computation",
                                field="estimand"))
    if not 0.0 < confidence_level < 1.0:
        problems.append(Problem("confidence_level must lie between 0 and 1",
                                field="confidence_level"))
    if kind == "survival" and (time is None or event is None):
        problems.append(Problem("kind='survival' needs time= and event=", field="time"))
    if kind in ("binary", "continuous") and outcome is None:
        problems.append(Problem(f"kind={kind!r} needs outcome=", field="outcome"))
    lps = _logit_ps(df, ps, problems) if ps is not None else None
    model_cols = () if ps is not None else covariates
    responses = tuple(c for c in ((time, event) if kind == "survival" else (outcome,)) if c)
    problems += check_columns(df, (treatment, *model_cols), "column")
    problems += [Problem("unknown outcome column", field=c) for c in responses
                 if c not in df.columns]
    if problems:
        raise DataError("cannot estimate the effect by g-computation", problems)
    t_all, tp = treatment_array(df, treatment)
    if tp:
        raise DataError("cannot estimate the effect by g-computation", tp)
    if lps is not None:
        zx, znames = lps[:, None], ["qlogis(ps)"]
    else:
        zx, znames = model_matrix(df, covariates, drop_first=True, intercept=False)
    observed = df[list(responses)].notna().all(axis=1).to_numpy()
    n_missing = int((~observed).sum())
    t, zx = t_all[observed].astype(float), zx[observed]
    if (t == 1).sum() == 0 or (t == 0).sum() == 0:
        raise DataError("Both arms need rows with an observed outcome.")
    options: dict[str, Any] = {
        "treatment": treatment, "kind": kind, "estimand": estimand,
        "confidence_level": confidence_level, "conf_level": confidence_level,
        "covariates": list(covariates),
        "method": "propensity_covariate" if ps is not None else "covariate_adjustment",
        "model_terms": [treatment, *znames], "n_missing_outcome": n_missing,
    }
    if kind == "survival":
        assert time is not None and event is not None
        return _survival(df.loc[observed], t, zx, znames, time=time, event=event,
                         treatment=treatment, level=confidence_level, options=options)
    assert outcome is not None
    y = pd.to_numeric(df.loc[observed, outcome], errors="coerce").to_numpy(dtype=float)
    if kind == "binary" and not np.isin(y, (0.0, 1.0)).all():
        raise DataError("A binary outcome must be coded 0/1.",
                        [Problem("values other than 0/1", field=outcome)])
    x = np.column_stack([np.ones_like(t), t, zx])
    family = "binomial_logit" if kind == "binary" else "gaussian"
    fit = fit_glm(x, y, np.ones_like(t), family, None)
    target = t == 1 if estimand == "ATT" else np.ones(len(t), dtype=bool)
    x1, x0 = x[target].copy(), x[target].copy()
    x1[:, 1], x0[:, 1] = 1.0, 0.0
    if kind == "binary":
        mu1, mu0 = special.expit(fit.linear_predictor(x1)), special.expit(
            fit.linear_predictor(x0))
        d1, d0 = (mu1 * (1 - mu1)) @ x1 / len(mu1), (mu0 * (1 - mu0)) @ x0 / len(mu0)
    else:
        mu1, mu0 = fit.linear_predictor(x1), fit.linear_predictor(x0)
        d1, d0 = x1.mean(axis=0), x0.mean(axis=0)
    p1, p0 = float(mu1.mean()), float(mu0.mean())

    def delta(grad: np.ndarray) -> float:
        return float(math.sqrt(grad @ fit.vcov @ grad))

    rows = [_row("risk_difference" if kind == "binary" else "mean_difference", p1 - p0,
                 delta(d1 - d0), confidence_level)]
    if kind == "binary":
        rows.append(_row("log_risk_ratio", math.log(p1 / p0), delta(d1 / p1 - d0 / p0),
                         confidence_level))
        rows.append(_row("log_odds_ratio", float(special.logit(p1) - special.logit(p0)),
                         delta(d1 / (p1 * (1 - p1)) - d0 / (p0 * (1 - p0))), confidence_level))
    extra = effect_fields(kind, rows)
    options["variance"] = "delta method, HC0 sandwich (marginaleffects vcov = 'HC0')"
    return Effect(
        kind=kind, measure="risk_difference" if kind == "binary" else "mean_difference",
        outcome=outcome, estimates=pd.DataFrame(rows, columns=list(ESTIMATE_COLUMNS)),
        risk_treated=p1, risk_control=p0, n_treated=int((t == 1).sum()),
        n_control=int((t == 0).sum()), n_clusters=None, n_missing_outcome=n_missing,
        options=options, **extra,
    )


def _survival(used: pd.DataFrame, t: np.ndarray, zx: np.ndarray, znames: list[str], *,
              time: str, event: str, treatment: str, level: float,
              options: dict[str, Any]) -> SurvivalEffect:
    from regmed.evidence.cox import fit_cox

    names = [treatment, *(f"z{j}" for j in range(len(znames)))]
    frame = pd.DataFrame(np.column_stack([t, zx]), columns=names, index=used.index)
    frame[time] = pd.to_numeric(used[time]).to_numpy(dtype=float)
    frame[event] = pd.to_numeric(used[event]).to_numpy(dtype=float)
    cox = fit_cox(frame, time, event, names, robust=True, conf_level=level)
    row = cox.estimates.iloc[0]
    km = kaplan_meier(frame, time, event, group=treatment, conf_level=level)
    est = pd.DataFrame([{**row.to_dict(), "term": "log_hazard_ratio"}],
                       columns=list(ESTIMATE_COLUMNS))
    ev = frame[event].to_numpy()
    options.update({"time": time, "event": event,
                    "variance": "coxph robust (dfbeta sandwich); conditional hazard ratio"})
    nan = math.nan
    return SurvivalEffect(
        measure="hazard_ratio", estimates=est, log_hazard_ratio=float(row["estimate"]),
        log_hazard_ratio_se=float(row["std_error"]), hazard_ratio=math.exp(row["estimate"]),
        hazard_ratio_ci=(math.exp(row["ci_lower"]), math.exp(row["ci_upper"])),
        hazard_ratio_p=float(row["p_value"]), rmst_treated=nan, rmst_control=nan,
        rmst_difference=nan, rmst_difference_se=nan, rmst_difference_ci=(nan, nan), tau=nan,
        km=km, cox=cox, n_treated=int((t == 1).sum()), n_control=int((t == 0).sum()),
        events_treated=int(ev[t == 1].sum()), events_control=int(ev[t == 0].sum()),
        options=options,
    )
