"""Cox proportional-hazards regression as R's ``survival::coxph`` (Efron or Breslow ties).

The partial likelihood, its score and information are computed in numpy, vectorized over the
distinct event times (with the Efron terms expanded once per tied event), and maximized by
Newton-Raphson with step halving. The robust variance is coxph's: the weighted dfbeta
residuals, summed within clusters, D'D.

References
----------
.. [1] Therneau TM, Grambsch PM (2000). Modeling Survival Data: Extending the Cox Model.
   Springer. (Efron approximation §3.3; robust variance §7.2.)
.. [2] Efron B (1977). The efficiency of Cox's likelihood function for censored data. JASA 72.
.. [3] Lin DY, Wei LJ (1989). The robust inference for the Cox proportional hazards model.
   JASA 84:1074-1078.
.. [4] Therneau T (2023). survival: Survival Analysis, R package 3.5 (``coxph``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from regmed.errors import ConvergenceError, DataError, Problem
from regmed.evidence._design import is_categorical, model_matrix
from regmed.results import ESTIMATE_COLUMNS, Result, format_table

__all__ = ["CoxFit", "fit_cox"]

_EPS_LOGLIK = 1e-9  # survival::coxph.control(eps = 1e-9); toler.inf = sqrt(eps)


@dataclasses.dataclass(frozen=True)
class CoxFit(Result):
    """A fitted Cox model.

    Attributes
    ----------
    estimates : pandas.DataFrame
        Tidy table per covariate: ``estimate`` is the log hazard ratio, ``std_error`` the robust
        SE when ``robust`` else the model-based SE; CI and Wald z and p-value use it.
    coef : pandas.Series
        Log hazard ratios by covariate.
    hazard_ratios : pandas.DataFrame
        ``term, hazard_ratio, ci_lower, ci_upper`` (exponentiated).
    naive_se, robust_se : pandas.Series
        Model-based SE (inverse information) and robust SE (NaN when not robust).
    vcov : numpy.ndarray
        The variance used (robust if ``robust``).
    loglik : tuple of float
        Partial log-likelihood at zero and at the estimate.
    n, n_events : int
        Rows used and events.
    iterations : int
        Newton-Raphson iterations.
    options : dict
        ``ties``, ``robust``, ``strata``, ``cluster``, ``weights``, ``conf_level``.
    """

    estimates: pd.DataFrame
    coef: pd.Series
    hazard_ratios: pd.DataFrame
    naive_se: pd.Series
    robust_se: pd.Series
    vcov: np.ndarray
    loglik: tuple[float, float]
    n: int
    n_events: int
    iterations: int
    options: dict[str, Any]

    def summary(self) -> str:
        title = f"Cox model ({self.n} rows, {self.n_events} events, ties={self.options['ties']})"
        return format_table(self.estimates, title=title)


@dataclasses.dataclass
class _Stratum:
    x: np.ndarray  # covariates, sorted by time ascending
    w: np.ndarray
    event: np.ndarray
    rows: np.ndarray  # positions in the analysis data
    first: np.ndarray  # per distinct event time: index of the first row with time >= t
    death_time: np.ndarray  # per row that is an event: index of its event time
    ndead: np.ndarray  # deaths per event time (count)
    deadwt: np.ndarray  # sum of weights of deaths per event time
    k_time: np.ndarray  # per Efron term: its event time
    k_frac: np.ndarray  # per Efron term: k / d  (0 for Breslow)
    at_time: np.ndarray  # per row: number of event times <= its time (cumulative index)


def _prepare(time: np.ndarray, event: np.ndarray, x: np.ndarray, w: np.ndarray,
             rows: np.ndarray, ties: str) -> _Stratum:
    order = np.argsort(time, kind="mergesort")
    time, event, x, w, rows = time[order], event[order], x[order], w[order], rows[order]
    dead = event == 1
    etimes = np.unique(time[dead])
    first = np.searchsorted(time, etimes, side="left")
    death_time = np.searchsorted(etimes, time[dead])
    ndead = np.bincount(death_time, minlength=len(etimes)).astype(float)
    deadwt = np.bincount(death_time, weights=w[dead], minlength=len(etimes))
    if ties == "efron":
        counts = ndead.astype(int)
        k_time = np.repeat(np.arange(len(etimes)), counts)
        start = np.repeat(np.cumsum(counts) - counts, counts)
        k_frac = (np.arange(len(k_time)) - start) / ndead[k_time]
    else:
        k_time = np.arange(len(etimes))
        k_frac = np.zeros(len(etimes))
    at_time = np.searchsorted(etimes, time, side="right")
    return _Stratum(x, w, event, rows, first, death_time, ndead, deadwt, k_time, k_frac,
                    at_time)


def _terms(s: _Stratum, beta: np.ndarray, ties: str) -> dict[str, np.ndarray]:
    """Risk-set sums and the per-Efron-term means and denominators."""
    eta = s.x @ beta
    r = s.w * np.exp(eta)
    dead = s.event == 1
    rc0 = np.cumsum(r[::-1])[::-1]
    rc1 = np.cumsum((r[:, None] * s.x)[::-1], axis=0)[::-1]
    s0 = rc0[s.first]
    s1 = rc1[s.first]
    m = len(s.first)
    e0 = np.bincount(s.death_time, weights=r[dead], minlength=m)
    e1 = np.zeros_like(s1)
    np.add.at(e1, s.death_time, r[dead][:, None] * s.x[dead])
    kt, kf = s.k_time, s.k_frac
    denom = s0[kt] - kf * e0[kt]
    xbar = (s1[kt] - kf[:, None] * e1[kt]) / denom[:, None]
    # Breslow uses all deaths' weight in one term; Efron spreads the mean weight over d terms
    wt = s.deadwt[kt] / s.ndead[kt] if ties == "efron" else s.deadwt[kt]
    return {"eta": eta, "r": r, "denom": denom, "xbar": xbar, "wt": wt}


def _loglik_score_info(s: _Stratum, beta: np.ndarray, ties: str,
                       want_info: bool = True) -> tuple[float, np.ndarray, np.ndarray]:
    t = _terms(s, beta, ties)
    dead = s.event == 1
    p = s.x.shape[1]
    ll = float(np.sum(s.w[dead] * t["eta"][dead]) - np.sum(t["wt"] * np.log(t["denom"])))
    u = (s.w[dead][:, None] * s.x[dead]).sum(axis=0) - (t["wt"][:, None] * t["xbar"]).sum(axis=0)
    info = np.zeros((p, p))
    if want_info:
        # second moments of the risk sets: sum r x x' over the risk set minus the tied part
        r = t["r"]
        xx = r[:, None, None] * s.x[:, :, None] * s.x[:, None, :]
        rc2 = np.cumsum(xx[::-1], axis=0)[::-1]
        s2 = rc2[s.first]
        e2 = np.zeros_like(s2)
        np.add.at(e2, s.death_time, xx[dead])
        kt, kf = s.k_time, s.k_frac
        second = (s2[kt] - kf[:, None, None] * e2[kt]) / t["denom"][:, None, None]
        outer = t["xbar"][:, :, None] * t["xbar"][:, None, :]
        info = np.einsum("k,kij->ij", t["wt"], second - outer)
    return ll, u, info


def _score_residuals(s: _Stratum, beta: np.ndarray, ties: str) -> np.ndarray:
    """Unweighted score residuals (as residuals.coxph type 'score' / weights)."""
    t = _terms(s, beta, ties)
    m = len(s.first)
    kt, kf = s.k_time, s.k_frac
    haz = t["wt"] / t["denom"]
    h = np.bincount(kt, weights=haz, minlength=m)
    hx = np.zeros((m, s.x.shape[1]))
    np.add.at(hx, kt, haz[:, None] * t["xbar"])
    h2 = np.bincount(kt, weights=haz * (1 - kf), minlength=m)
    hx2 = np.zeros_like(hx)
    np.add.at(hx2, kt, (haz * (1 - kf))[:, None] * t["xbar"])
    ch = np.concatenate([[0.0], np.cumsum(h)])
    chx = np.vstack([np.zeros((1, s.x.shape[1])), np.cumsum(hx, axis=0)])
    risk = np.exp(t["eta"])
    a = s.at_time
    resid = -risk[:, None] * (s.x * ch[a][:, None] - chx[a])
    dead = np.flatnonzero(s.event == 1)
    j = s.death_time
    # a death in a tied set is only partly in the later Efron denominators
    corr = s.x[dead] * (h[j] - h2[j])[:, None] - (hx[j] - hx2[j])
    resid[dead] += risk[dead][:, None] * corr
    mean_xbar = np.zeros_like(hx)
    np.add.at(mean_xbar, kt, t["xbar"])
    counts = np.bincount(kt, minlength=m).astype(float)
    resid[dead] += s.x[dead] - (mean_xbar / counts[:, None])[j]
    return resid


def fit_cox(
    df: pd.DataFrame,
    time: str,
    event: str,
    covariates: Sequence[str],
    *,
    strata: str | None = None,
    cluster: str | None = None,
    weights: str | None = None,
    ties: str = "efron",
    robust: bool | None = None,
    conf_level: float = 0.95,
    max_iter: int = 20,
) -> CoxFit:
    """Fit a Cox proportional-hazards model as ``survival::coxph``.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per subject (right-censored data).
    time, event : str
        Follow-up time and event indicator (1 = event, 0 = censored).
    covariates : sequence of str
        Covariates: numeric columns as they are; categorical ones (character, category,
        boolean) as indicators of every level but the first, named ``<column><level>`` as
        R's ``coxph(Surv(t, e) ~ factor)`` names them.
    strata : str, optional
        Column whose levels get separate baseline hazards (``strata()`` in R).
    cluster : str, optional
        Column of clusters for the robust variance (``cluster()`` in R); implies ``robust``.
    weights : str, optional
        Case weights (``weights=`` in R).
    ties : {"efron", "breslow"}
        Tie handling, R's default ``"efron"``.
    robust : bool, optional
        Use the robust (dfbeta sandwich) variance. Default as R 3.5: robust when ``cluster`` is
        given or the weights are not all integers.
    conf_level : float
        Level of the confidence intervals.
    max_iter : int
        ``coxph.control(iter.max = 20)``.

    Returns
    -------
    CoxFit

    Notes
    -----
    Newton-Raphson from zero with step halving, stopped as ``coxph`` stops
    (``survival/src/coxfit6.c``): when the partial log-likelihood changes by a relative
    ``|1 - loglik_old / loglik_new| <= 1e-9`` after a full step. The iterates are the same for
    any units of the covariates, so the coefficients scale as the covariates do (pbc with
    bilirubin in g/dL gives 135.3, SE 13.7, as ``coxph``). Times of 0 are accepted (a death on
    the day of entry), as ``coxph`` accepts them. Deliberate differences from R: where
    ``coxph`` warns "Ran out of iterations" or "Loglik converged before variable ...;
    coefficient may be infinite" (its ``coxph.fit`` check: the next Newton step exceeds both
    ``eps`` and ``sqrt(eps)`` times the coefficient) and returns the fit, regmed raises
    ``ConvergenceError``: a hazard ratio of infinity is not an estimate to report.

    Raises
    ------
    DataError
        Unknown or non-numeric columns, events not 0/1, negative times or weights, no events.
    ConvergenceError
        Singular information, no convergence, or a coefficient that may be infinite.

    References
    ----------
    .. [1] Therneau TM, Grambsch PM (2000). Modeling Survival Data. Springer.
    .. [2] Lin DY, Wei LJ (1989). JASA 84:1074-1078.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6], "e": [1, 1, 0, 1, 1, 0],
    ...                   "x": [1, 0, 1, 0, 1, 0]})
    >>> round(float(fit_cox(d, "t", "e", ["x"]).coef["x"]), 4)
    0.2739
    """
    covariates = list(covariates)
    if ties not in ("efron", "breslow"):
        raise DataError(f"ties must be 'efron' or 'breslow', not {ties!r}.")
    cols = [time, event, *covariates] + [c for c in (strata, cluster, weights) if c]
    problems = [Problem(f"column {c!r} is not in the data", field=c)
                for c in cols if c not in df.columns]
    if not covariates:
        problems.append(Problem("at least one covariate is needed", field="covariates"))
    if problems:
        raise DataError("The Cox model cannot be fitted.", problems)
    used = df[cols].dropna()
    numeric = [time, event] + ([weights] if weights else [])
    numeric += [c for c in covariates if not is_categorical(used[c])]
    for c in numeric:
        if not pd.api.types.is_numeric_dtype(used[c]):
            problems.append(Problem("must be numeric", field=c))
    if problems:
        raise DataError("The Cox model cannot be fitted.", problems)
    t_all = used[time].to_numpy(dtype=float)
    e_all = used[event].to_numpy(dtype=float)
    if not np.isin(e_all, (0.0, 1.0)).all():
        problems.append(Problem("event must be 0/1", field=event))
    if (t_all < 0).any():
        problems.append(Problem("times must not be negative", field=time))
    w_all = used[weights].to_numpy(dtype=float) if weights else np.ones(len(used))
    if (w_all < 0).any():
        problems.append(Problem("weights must be non-negative", field=weights))
    if e_all.sum() == 0:
        problems.append(Problem("there are no events", field=event))
    if problems:
        raise DataError("The Cox model cannot be fitted.", problems)
    options = {"covariates": covariates}
    # factors enter as treatment contrasts named as R names them (``sizeB``, ``rxLev``)
    x_all, covariates = model_matrix(used, covariates, drop_first=True, intercept=False)
    # R centres covariates internally; the estimates do not depend on it, numerics do
    x_all = x_all - x_all.mean(axis=0)
    rows = np.arange(len(used))
    groups = used[strata].to_numpy() if strata else np.zeros(len(used))
    parts = []
    for level in pd.unique(groups):
        sel = groups == level
        parts.append(_prepare(t_all[sel], e_all[sel].astype(int), x_all[sel], w_all[sel],
                              rows[sel], ties))

    def total(beta: np.ndarray, want_info: bool = True) -> tuple[float, np.ndarray, np.ndarray]:
        p = len(beta)
        ll, u, info = 0.0, np.zeros(p), np.zeros((p, p))
        for s in parts:
            if s.first.size == 0:
                continue
            a, b, c = _loglik_score_info(s, beta, ties, want_info)
            ll, u, info = ll + a, u + b, info + c
        return ll, u, info

    beta = np.zeros(len(covariates))
    ll0, u, info = total(beta)
    ll = ll0

    def newton(b: np.ndarray, score: np.ndarray, imat: np.ndarray) -> np.ndarray:
        try:
            return b + np.linalg.solve(imat, score)
        except np.linalg.LinAlgError as exc:
            raise ConvergenceError("The Cox information matrix is singular.") from exc

    # coxph's loop (survival/src/coxfit6.c): test convergence first, then halve or step
    new = newton(beta, u, info)
    iterations, halving, converged = 0, 0, False
    for iterations in range(1, max_iter + 1):  # noqa: B007 (reported below)
        ll_new, u_new, info_new = total(new)
        if halving == 0 and math.isfinite(ll_new) and abs(1 - ll / ll_new) <= _EPS_LOGLIK:
            beta, ll, u, info, converged = new, ll_new, u_new, info_new, True
            break
        if iterations == max_iter:
            break
        if not math.isfinite(ll_new) or ll_new < ll:
            halving += 1
            new = (new + beta) / 2
        else:
            halving = 0
            beta, ll, u, info = new, ll_new, u_new, info_new
            new = newton(beta, u, info)
    if not converged or not np.all(np.isfinite(beta)):
        raise ConvergenceError(
            f"The Cox model did not converge in {max_iter} iterations (a coefficient may be "
            "infinite: check for covariates that perfectly separate events)."
        )
    try:
        nxt = np.abs(np.linalg.solve(info, u))
    except np.linalg.LinAlgError as exc:
        raise ConvergenceError("The Cox information matrix is singular.") from exc
    # coxph.fit's check: the next Newton step is large relative to the coefficient
    infinite = (nxt > _EPS_LOGLIK) & (nxt > math.sqrt(_EPS_LOGLIK) * np.abs(beta))
    if infinite.any():
        names = ", ".join(c for c, bad in zip(covariates, infinite, strict=True) if bad)
        raise ConvergenceError(
            f"The Cox log-likelihood converged before the coefficient of {names}; the "
            "coefficient may be infinite (a covariate perfectly separates events)."
        )
    naive = np.linalg.inv(info)
    if robust is None:
        robust = cluster is not None or bool(np.any(w_all != np.floor(w_all)))
    vcov = naive
    if robust:
        resid = np.zeros((len(used), len(covariates)))
        for s in parts:
            if s.first.size:
                resid[s.rows] = _score_residuals(s, beta, ties)
        dfbeta = (resid * w_all[:, None]) @ naive
        if cluster:
            codes = pd.factorize(used[cluster])[0]
            sums = np.zeros((codes.max() + 1, len(covariates)))
            np.add.at(sums, codes, dfbeta)
            dfbeta = sums
        vcov = dfbeta.T @ dfbeta
    se = np.sqrt(np.diag(vcov))
    q = float(stats.norm.ppf(0.5 + conf_level / 2))
    z = beta / se
    table = pd.DataFrame({
        "term": covariates, "estimate": beta, "std_error": se,
        "ci_lower": beta - q * se, "ci_upper": beta + q * se,
        "statistic": z, "p_value": 2 * stats.norm.sf(np.abs(z)),
    }, columns=list(ESTIMATE_COLUMNS))
    with np.errstate(over="ignore"):  # a coefficient per tiny unit: exp() is Inf, as in R
        hr = pd.DataFrame({"term": covariates, "hazard_ratio": np.exp(beta),
                           "ci_lower": np.exp(table["ci_lower"]),
                           "ci_upper": np.exp(table["ci_upper"])})
    return CoxFit(
        estimates=table,
        coef=pd.Series(beta, index=covariates),
        hazard_ratios=hr,
        naive_se=pd.Series(np.sqrt(np.diag(naive)), index=covariates),
        robust_se=pd.Series(se if robust else np.full(len(beta), np.nan), index=covariates),
        vcov=vcov,
        loglik=(ll0, ll),
        n=len(used),
        n_events=int(e_all.sum()),
        iterations=iterations,
        options={"time": time, "event": event, **options, "strata": strata,
                 "cluster": cluster, "weights": weights, "ties": ties, "robust": robust,
                 "conf_level": conf_level},
    )
