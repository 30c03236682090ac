"""Kaplan-Meier curves, restricted mean survival and survival effects in adjusted samples.

``kaplan_meier`` follows R's ``survival::survfit`` (optionally weighted, counts weighted),
with Greenwood's variance of the cumulative hazard and R's default ``conf.type = "log"``
intervals; medians and their confidence limits as ``print.survfit``; the restricted mean
(RMST) and its standard error as ``print.survfit(rmean = tau)``.

References
----------
.. [1] Kaplan EL, Meier P (1958). Nonparametric estimation from incomplete observations. JASA
   53:457-481.
.. [2] Therneau T (2023). survival: Survival Analysis, R package 3.5 (``survfit``,
   ``print.survfit``).
.. [3] Royston P, Parmar MKB (2013). Restricted mean survival time: an alternative to the hazard
   ratio. BMC Med Res Methodol 13:152. (RMST; ``survRM2`` default horizon.)
.. [4] Austin PC (2014). The use of propensity score methods with survival or time-to-event
   outcomes. Statistics in Medicine 33:1242-1258.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from regmed.errors import DataError, Problem
from regmed.evidence.cox import CoxFit, fit_cox
from regmed.evidence.sample import AdjustedSample
from regmed.results import ESTIMATE_COLUMNS, Result, format_table

__all__ = ["KaplanMeier", "SurvivalEffect", "kaplan_meier", "estimate_survival_effect"]

_TOL = math.sqrt(np.finfo(float).eps)


@dataclasses.dataclass(frozen=True)
class KaplanMeier(Result):
    """Kaplan-Meier curves, one per group.

    Attributes
    ----------
    table : pandas.DataFrame
        ``group, time, n_risk, n_event, n_censor, surv, std_err, lower, upper`` at every
        distinct time (as ``survfit``); ``std_err`` is the SE of log survival (Greenwood, or
        the infinitesimal jackknife when ``robust``).
    medians : pandas.DataFrame
        ``group, n, events, median, lower, upper`` (``print.survfit``).
    options : dict
        ``time, event, group, weights, conf_level``.
    """

    table: pd.DataFrame
    medians: pd.DataFrame
    options: dict[str, Any]

    @property
    def groups(self) -> list[Any]:
        """The group labels in order."""
        return list(self.medians["group"])

    def survival_at(self, times: Sequence[float]) -> pd.DataFrame:
        """Survival and its CI at ``times`` per group (``summary(fit, times=)``).

        Times after a group's last follow-up time give NaN (R drops them).
        """
        rows = []
        for g in self.groups:
            part = self.table[self.table["group"] == g]
            tt = part["time"].to_numpy()
            for t in times:
                i = int(np.searchsorted(tt, t, side="right")) - 1
                if t > tt[-1]:
                    rows.append((g, float(t), math.nan, math.nan, math.nan))
                elif i < 0:
                    rows.append((g, float(t), 1.0, 1.0, 1.0))
                else:
                    r = part.iloc[i]
                    rows.append((g, float(t), r["surv"], r["lower"], r["upper"]))
        return pd.DataFrame(rows, columns=["group", "time", "surv", "lower", "upper"])

    def rmst(self, tau: float) -> pd.DataFrame:
        """Restricted mean survival time up to ``tau`` per group: ``group, tau, rmst, std_err``.

        As ``print(survfit, rmean = tau)``: the area under the curve from 0 to ``tau`` and the
        variance ``sum_j A_j^2 d_j / (n_j (n_j - d_j))`` over event times before ``tau``.
        """
        rows = []
        for g in self.groups:
            part = self.table[self.table["group"] == g]
            keep = part["time"].to_numpy() <= tau
            time = part["time"].to_numpy()[keep]
            surv = part["surv"].to_numpy()[keep]
            n = part["n_risk"].to_numpy()[keep]
            d = part["n_event"].to_numpy()[keep]
            with np.errstate(divide="ignore", invalid="ignore"):
                hh = np.where(n - d == 0, 0.0, d / (n * (n - d)))
            temptime = np.append(time, tau)
            tempsurv = np.append(surv, surv[-1] if len(surv) else 1.0)
            hh = np.append(hh, 0.0)
            delta = np.diff(np.concatenate([[0.0], temptime]))
            rect = delta * np.concatenate([[1.0], tempsurv[:-1]])
            var = float(np.sum(np.cumsum(rect[1:][::-1]) ** 2 * hh[::-1][1:]))
            rows.append((g, float(tau), float(rect.sum()), math.sqrt(var)))
        return pd.DataFrame(rows, columns=["group", "tau", "rmst", "std_err"])

    def summary(self) -> str:
        return format_table(self.medians, title="Kaplan-Meier median survival")


def _minmin(y: np.ndarray, x: np.ndarray) -> float:
    keep = ~np.isnan(y) & (y < 0.5 + _TOL)
    if not keep.any():
        return math.nan
    x, y = x[keep], y[keep]
    if abs(y[0] - 0.5) < _TOL and (y < y[0]).any():
        return float((x[0] + x[np.flatnonzero(y < y[0])[0]]) / 2)
    return float(x[0])


def _clustered_ij(inv: np.ndarray, event: np.ndarray, w: np.ndarray, a: np.ndarray,
                  nd: np.ndarray, cluster: np.ndarray, m: int) -> np.ndarray:
    """Variance of log S(t) from the influences summed within clusters (sum_g F_g(t)^2)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        jump = w * (a[inv] - np.where(event > 0, event / nd[inv], 0.0))
    codes, _ = pd.factorize(pd.Series(cluster))
    g = int(codes.max()) + 1
    var = np.zeros(m)
    block = max(1, 4_000_000 // max(m, 1))
    for start in range(0, g, block):
        sel = (codes >= start) & (codes < start + block)
        rows = codes[sel] - start
        size = min(block, g - start)
        m1 = np.zeros((size, m))
        m2 = np.zeros((size, m))
        np.add.at(m1, (rows, inv[sel]), jump[sel])
        np.add.at(m2, (rows, inv[sel]), w[sel])
        later = m2.sum(axis=1, keepdims=True) - np.cumsum(m2, axis=1)
        f = np.cumsum(m1, axis=1) + a[None, :] * later
        var += np.sum(f**2, axis=0)
    return var


def _km_one(time: np.ndarray, event: np.ndarray, w: np.ndarray, z: float,
            robust: bool, cluster: np.ndarray | None = None) -> pd.DataFrame:
    ut, inv = np.unique(time, return_inverse=True)
    d = np.bincount(inv, weights=w * event, minlength=len(ut))
    c = np.bincount(inv, weights=w * (1 - event), minlength=len(ut))
    tot = np.bincount(inv, weights=w, minlength=len(ut))
    n = np.cumsum(tot[::-1])[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1.0 - d / n)
        if cluster is not None:
            a = np.cumsum(np.where(d > 0, d / (n * (n - d)), 0.0))
            se = np.sqrt(_clustered_ij(inv, event, w, a, n - d, cluster, len(ut)))
        elif robust:
            # infinitesimal jackknife: influence of subject i on log S(t) is
            # -(e_i 1{t_i <= t} / (n - d)(t_i) - A(min(t, t_i))), A = cumsum d / (n (n - d))
            a = np.cumsum(np.where(d > 0, d / (n * (n - d)), 0.0))
            ci = event / (n - d)[inv] - a[inv]
            ci = np.where(event > 0, ci, -a[inv])
            early = np.cumsum(np.bincount(inv, weights=(w * ci) ** 2, minlength=len(ut)))
            w2 = np.bincount(inv, weights=w**2, minlength=len(ut))
            later = np.cumsum(w2[::-1])[::-1] - w2  # subjects with time > t
            se = np.sqrt(early + a**2 * later)
        else:
            se = np.sqrt(np.cumsum(np.where(d > 0, d / (n * (n - d)), 0.0)))
        lower = np.exp(np.log(surv) - z * se)
        upper = np.minimum(1.0, np.exp(np.log(surv) + z * se))
    bad = (surv <= 0) | ~np.isfinite(se)
    lower[bad] = np.nan
    upper[bad] = np.nan
    return pd.DataFrame({"time": ut, "n_risk": n, "n_event": d, "n_censor": c, "surv": surv,
                         "std_err": se, "lower": lower, "upper": upper})


def kaplan_meier(
    df: pd.DataFrame,
    time: str,
    event: str,
    group: str | None = None,
    weights: str | None = None,
    *,
    conf_level: float = 0.95,
    robust: bool | None = None,
    cluster: str | None = None,
) -> KaplanMeier:
    """Kaplan-Meier estimate per group, as ``survfit(Surv(time, event) ~ group, weights=)``.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per subject.
    time, event : str
        Follow-up time and event indicator (1 = event).
    group : str, optional
        Column defining the curves; one curve labelled ``"all"`` without it.
    weights : str, optional
        Case weights (weighted numbers at risk and events).
    conf_level : float
        Level of the pointwise log-transformed intervals.
    robust : bool, optional
        Infinitesimal-jackknife (robust) standard errors instead of Greenwood's. Default as
        ``survfit`` in survival 3.5: robust when the weights are not all integers or a
        ``cluster`` is given.
    cluster : str, optional
        Column of clusters (e.g. ``subclass`` of matched sets): the robust variance sums the
        influences within clusters (``survfit(..., cluster = )``).

    Returns
    -------
    KaplanMeier

    References
    ----------
    .. [1] Kaplan EL, Meier P (1958). JASA 53:457-481.
    .. [2] Therneau T. survival R package 3.5, ``survfit.formula`` and ``print.survfit``.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"t": [1, 2, 3, 4], "e": [1, 0, 1, 1]})
    >>> kaplan_meier(d, "t", "e").survival_at([1, 3])["surv"].round(3).tolist()
    [0.75, 0.375]
    """
    cols = [time, event] + [c for c in (group, weights, cluster) if c]
    problems = [Problem(f"column {c!r} is not in the data", field=c)
                for c in cols if c not in df.columns]
    if problems:
        raise DataError("The Kaplan-Meier curves cannot be computed.", problems)
    if cluster and df[cluster].isna().any():
        problems.append(Problem("cluster has missing values", field=cluster))
    used = df[cols].dropna()
    t = pd.to_numeric(used[time], errors="coerce")
    e = pd.to_numeric(used[event], errors="coerce")
    if t.isna().any() or (t < 0).any():
        problems.append(Problem("times must be non-negative numbers", field=time))
    if not e.isin([0, 1]).all():
        problems.append(Problem("event must be 0/1", field=event))
    w = used[weights].astype(float) if weights else pd.Series(1.0, index=used.index)
    if (w < 0).any():
        problems.append(Problem("weights must be non-negative", field=weights))
    if len(used) == 0:
        problems.append(Problem("no complete rows", field=time))
    if problems:
        raise DataError("The Kaplan-Meier curves cannot be computed.", problems)
    z = float(stats.norm.ppf(0.5 + conf_level / 2))
    if robust is None:
        robust = bool((w != np.floor(w)).any()) or cluster is not None
    labels = used[group] if group else pd.Series("all", index=used.index)
    tables, meds = [], []
    for g in sorted(pd.unique(labels)):
        sel = (labels == g).to_numpy()
        tab = _km_one(t.to_numpy(float)[sel], e.to_numpy(float)[sel], w.to_numpy(float)[sel], z,
                     robust, used[cluster].to_numpy()[sel] if cluster and robust else None)
        tab.insert(0, "group", g)
        tables.append(tab)
        x = tab["time"].to_numpy()
        meds.append({
            "group": g, "n": int(sel.sum()), "events": float(tab["n_event"].sum()),
            "median": _minmin(tab["surv"].to_numpy(), x),
            "lower": _minmin(tab["lower"].to_numpy(), x),
            "upper": _minmin(tab["upper"].to_numpy(), x),
        })
    return KaplanMeier(
        table=pd.concat(tables, ignore_index=True),
        medians=pd.DataFrame(meds, columns=["group", "n", "events", "median", "lower", "upper"]),
        options={"time": time, "event": event, "group": group, "weights": weights,
                 "conf_level": conf_level, "robust": robust, "cluster": cluster},
    )


@dataclasses.dataclass(frozen=True)
class SurvivalEffect(Result):
    """The effect of treatment on a time-to-event outcome in an adjusted sample.

    Attributes
    ----------
    measure : str
        ``"hazard_ratio"``.
    estimates : pandas.DataFrame
        Tidy rows ``log_hazard_ratio`` (Cox, robust SE) and ``rmst_difference``.
    log_hazard_ratio, log_hazard_ratio_se : float
        Cox log hazard ratio (treated vs control) and its robust SE: clustered on the sample's
        cluster column (``subclass``) for matching, the individual dfbeta sandwich otherwise.
    hazard_ratio, hazard_ratio_ci, hazard_ratio_p
        Exponentiated estimate, CI and Wald p-value.
    rmst_treated, rmst_control, rmst_difference, rmst_difference_se, rmst_difference_ci
        Restricted mean survival per arm up to ``tau`` (weighted ``survfit``), their
        difference, and its SE (the arms' SEs combined as independent).
    tau : float
        RMST horizon (default: the smaller of the arms' largest follow-up times, as survRM2).
    km : KaplanMeier
        Weighted Kaplan-Meier curves per arm (groups 0 and 1); robust variance clustered on the
        sample's cluster column for matching (``survfit(..., weights =, cluster = subclass)``).
    cox : CoxFit
        The Cox fit.
    n_treated, n_control : int
        Rows per arm; ``events_treated``, ``events_control`` the (unweighted) events.
    options : dict
    """

    measure: str
    estimates: pd.DataFrame
    log_hazard_ratio: float
    log_hazard_ratio_se: float
    hazard_ratio: float
    hazard_ratio_ci: tuple[float, float]
    hazard_ratio_p: float
    rmst_treated: float
    rmst_control: float
    rmst_difference: float
    rmst_difference_se: float
    rmst_difference_ci: tuple[float, float]
    tau: float
    km: KaplanMeier
    cox: CoxFit
    n_treated: int
    n_control: int
    events_treated: int
    events_control: int
    options: dict[str, Any]

    def measure_value(self, measure: str) -> tuple[float, float, float]:
        """``(estimate, ci_lower, ci_upper)`` for ``hazard_ratio`` or ``rmst_difference``."""
        if measure == "hazard_ratio":
            return (self.hazard_ratio, *self.hazard_ratio_ci)
        if measure == "rmst_difference":
            return (self.rmst_difference, *self.rmst_difference_ci)
        raise DataError(f"The survival effect has no measure {measure!r}.")

    def summary(self) -> str:
        title = (f"Survival effect ({self.n_treated} treated, {self.n_control} control; "
                 f"HR {self.hazard_ratio:.3g}, RMST to {self.tau:g})")
        return format_table(self.estimates, title=title)


def estimate_survival_effect(
    sample: AdjustedSample,
    *,
    time: str,
    event: str,
    conf_level: float = 0.95,
    tau: float | None = None,
) -> SurvivalEffect:
    """Cox hazard ratio, weighted Kaplan-Meier and RMST difference in an adjusted sample.

    Called by ``estimate_effect(sample, time=, event=, kind="survival")``. The Cox model is
    ``coxph(Surv(time, event) ~ treat, weights = weights, cluster = subclass, ties = "efron")``
    for matching without replacement, and the same with ``robust = TRUE`` and no cluster for
    weighting (Austin 2014).

    References
    ----------
    .. [1] Austin PC (2014). Statistics in Medicine 33:1242-1258.
    .. [2] Royston P, Parmar MKB (2013). BMC Med Res Methodol 13:152.
    """
    data = sample.data
    cols = [time, event, sample.treatment, "weights"]
    if sample.cluster:
        cols.append(sample.cluster)
    problems = [Problem(f"column {c!r} is not in the adjusted sample", field=c)
                for c in cols if c not in data.columns]
    if sample.cluster and data[sample.cluster].isna().any():
        problems.append(Problem("cluster column has missing values", field=sample.cluster))
    if problems:
        raise DataError("The adjusted sample cannot be analysed.", problems)
    used = data[cols].dropna()
    if not used[sample.treatment].isin([0, 1]).all() or used[sample.treatment].nunique() < 2:
        raise DataError("Treatment must be 0/1 with both arms present.",
                        [Problem("need 0/1 with both arms", field=sample.treatment)])
    cox = fit_cox(used, time, event, [sample.treatment], weights="weights",
                  cluster=sample.cluster, robust=True, conf_level=conf_level)
    km = kaplan_meier(used, time, event, group=sample.treatment, weights="weights",
                      conf_level=conf_level, cluster=sample.cluster)
    arms = used[sample.treatment].to_numpy()
    if tau is None:
        tau = float(min(used.loc[arms == 1, time].max(), used.loc[arms == 0, time].max()))
    rm = km.rmst(tau).set_index("group")
    diff = float(rm.loc[1, "rmst"] - rm.loc[0, "rmst"])
    diff_se = float(math.hypot(rm.loc[1, "std_err"], rm.loc[0, "std_err"]))
    z = float(stats.norm.ppf(0.5 + conf_level / 2))
    row = cox.estimates.iloc[0]
    rmst_row: dict[str, Any] = {"term": "rmst_difference", "estimate": diff, "std_error": diff_se,
                "ci_lower": diff - z * diff_se, "ci_upper": diff + z * diff_se,
                "statistic": diff / diff_se if diff_se > 0 else math.nan,
                "p_value": float(2 * stats.norm.sf(abs(diff / diff_se))) if diff_se > 0
                else math.nan}
    est = pd.DataFrame([{**row.to_dict(), "term": "log_hazard_ratio"}, rmst_row],
                       columns=list(ESTIMATE_COLUMNS))
    ev = used[event].to_numpy()
    return SurvivalEffect(
        measure="hazard_ratio",
        estimates=est,
        log_hazard_ratio=float(row["estimate"]),
        log_hazard_ratio_se=float(row["std_error"]),
        hazard_ratio=math.exp(row["estimate"]),
        hazard_ratio_ci=(math.exp(row["ci_lower"]), math.exp(row["ci_upper"])),
        hazard_ratio_p=float(row["p_value"]),
        rmst_treated=float(rm.loc[1, "rmst"]),
        rmst_control=float(rm.loc[0, "rmst"]),
        rmst_difference=diff,
        rmst_difference_se=diff_se,
        rmst_difference_ci=(rmst_row["ci_lower"], rmst_row["ci_upper"]),
        tau=tau,
        km=km,
        cox=cox,
        n_treated=int((arms == 1).sum()),
        n_control=int((arms == 0).sum()),
        events_treated=int(ev[arms == 1].sum()),
        events_control=int(ev[arms == 0].sum()),
        options={"time": time, "event": event, "conf_level": conf_level, "tau": tau,
                 "cluster": sample.cluster, "method": sample.method,
                 "estimand": sample.estimand, "treatment": sample.treatment,
                 "variance": "coxph robust (dfbeta sandwich"
                             + (f", clustered on {sample.cluster})" if sample.cluster else ")")},
    )
