"""Propensity scores by logistic regression, fitted as R's ``glm`` fits them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats
from scipy.linalg.blas import dsyrk as _syrk
from threadpoolctl import threadpool_limits

from regmed.errors import ConvergenceError, DataError, Problem
from regmed.evidence._design import check_columns, model_matrix, treatment_array
from regmed.results import ESTIMATE_COLUMNS, Result, format_table

__all__ = ["PropensityScore", "fit_propensity"]

_EPS = float(np.finfo(float).eps)
_BLOCK = 8_192  # rows per block (fits in cache)


@dataclasses.dataclass(frozen=True)
class PropensityScore(Result):
    """A fitted propensity-score model.

    Attributes
    ----------
    ps : pandas.Series
        Estimated probability of treatment per row (index of the input DataFrame).
    logit_ps : pandas.Series
        The linear predictor (logit of ``ps``), MatchIt's ``link = "linear.logit"``.
    treatment, covariates, strata
        Column names used; ``strata`` entered the model as factors.
    terms : tuple of str
        Model-matrix column names (R's ``model.matrix`` names, first level dropped).
    estimates : pandas.DataFrame
        Tidy coefficient table (Wald statistics from the observed information).
    auc : float
        Area under the ROC curve (c statistic) of ``ps`` for the treatment.
    preference : pandas.Series
        Preference score (Walker et al. 2013).
    equipoise : float
        Share of rows with preference score in [0.3, 0.7].
    n, n_treated : int
    converged : bool
    iterations : int
    deviance : float
    warnings : tuple of str
        Separation, positivity and fitting warnings.
    options : dict
    """

    ps: pd.Series
    logit_ps: pd.Series
    treatment: str
    covariates: tuple[str, ...]
    strata: tuple[str, ...]
    terms: tuple[str, ...]
    estimates: pd.DataFrame
    auc: float
    preference: pd.Series
    equipoise: float
    n: int
    n_treated: int
    converged: bool
    iterations: int
    deviance: float
    warnings: tuple[str, ...]
    options: dict[str, Any]

    def summary(self) -> str:
        head = (
            f"Propensity score (logistic), n={self.n}, treated={self.n_treated}, "
            f"AUC={self.auc:.4f}, equipoise={self.equipoise:.3f}"
        )
        lines = [head, format_table(self.estimates)]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _auc(score: np.ndarray, t: np.ndarray) -> float:
    """Mann-Whitney AUC, P(score_treated > score_control) + P(tie)/2."""
    controls = np.sort(score[t == 0])
    treated = score[t == 1]
    below = np.searchsorted(controls, treated, side="left").astype(np.float64)
    upto = np.searchsorted(controls, treated, side="right").astype(np.float64)
    return float(np.sum(below + upto) / 2 / (len(treated) * len(controls)))


def _pass(
    xs: np.ndarray, y: np.ndarray, beta: np.ndarray | None, eta_out: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """One fused pass over the rows: linear predictor, deviance, X'WX and X'Wz.

    With ``beta=None`` the pass starts from R's ``mustart = (y + 0.5) / 2``. Blocks are small
    enough to stay in cache, so each IRLS iteration reads the design matrix once.
    """
    p = xs.shape[1]
    a = np.zeros((p, p), order="F")
    b = np.zeros(p)
    dev = 0.0
    buf = np.empty((min(_BLOCK, xs.shape[0]), p), order="F")
    for s in range(0, xs.shape[0], _BLOCK):
        xb = xs[s : s + _BLOCK]
        yb = y[s : s + _BLOCK]
        if beta is None:
            mu = (yb + 0.5) / 2.0
            eta = np.log(mu / (1 - mu))
        else:
            eta = xb @ beta
            mu = special.expit(np.clip(eta, -30, 30))
        eta_out[s : s + _BLOCK] = eta
        dev += _deviance(yb, mu)
        w = mu * (1 - mu)
        np.maximum(w, _EPS, out=w)
        xw = buf[: len(yb)]
        np.multiply(xb, np.sqrt(w)[:, None], out=xw)
        a = _syrk(1.0, xw, beta=1.0, c=a, trans=1, lower=0, overwrite_c=1)  # a += xw'xw
        w *= eta
        w += yb
        w -= mu
        b += xb.T @ w
    a = np.triu(a) + np.triu(a, 1).T  # dsyrk fills the upper triangle
    return dev, a, b


Pass = Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]]


def _irls(
    step: Pass,
    pen: np.ndarray | None,
    maxit: int,
    epsilon: float,
    start: tuple[float, np.ndarray, np.ndarray],
) -> tuple[np.ndarray, bool, int, float, np.ndarray]:
    """Fisher scoring as in R's ``glm.fit`` (same start, same convergence rule).

    ``step(beta)`` is one pass over the rows at ``beta`` — deviance, X'WX and X'Wz of the
    design with columns scaled to unit RMS (to keep the normal equations well conditioned;
    the scaling does not change the fit) — in one block of memory (:func:`_pass`) or summed
    over partitions (:mod:`regmed.evidence.partitioned`). Returns the coefficients of the
    scaled columns, convergence, iterations, deviance and X'WX with the working weights of
    the last iteration (from which R's ``summary.glm`` takes the covariance). ``start`` is
    the result of the first pass (from R's ``mustart``).
    """
    dev_old, a, b = start
    beta = np.zeros(len(b))
    info = a
    converged = False
    iterations = 0
    dev = dev_old
    for it in range(1, maxit + 1):
        iterations = it
        if pen is not None:
            a[np.diag_indices_from(a)] += pen
        try:
            beta = np.linalg.solve(a, b)
        except np.linalg.LinAlgError as exc:
            raise ConvergenceError("the propensity model is singular") from exc
        info = a
        dev, a, b = step(beta)
        if pen is not None:
            dev += float(np.sum(pen * beta**2))
        if abs(dev - dev_old) / (abs(dev) + 0.1) < epsilon:
            converged = True
            break
        dev_old = dev
    return beta, converged, iterations, dev, info


def _deviance(y: np.ndarray, mu: np.ndarray) -> float:
    is1 = y == 1
    ll = np.sum(np.log(np.maximum(mu[is1], 1e-300)))
    ll += np.sum(np.log1p(-np.minimum(mu[~is1], 1 - 1e-16)))
    return float(-2 * ll)


def _qr_r(xs: np.ndarray) -> np.ndarray:
    """The R factor of ``xs`` by a blocked (tall-skinny) Householder QR, one pass over the rows."""
    r = np.zeros((0, xs.shape[1]))
    for s in range(0, xs.shape[0], _BLOCK):
        r = np.asarray(np.linalg.qr(np.vstack([r, xs[s : s + _BLOCK]]), mode="r"))
    return r


def _dqrdc2_rank(r: np.ndarray, norms: np.ndarray, tol: float) -> list[int]:
    """Columns kept by LINPACK ``dqrdc2``'s limited pivoting, applied to an R factor.

    ``dqrdc2`` (R's ``src/appl/dqrdc2.f``, called by ``glm.fit`` through ``C_Cdqrls``) works
    through the columns in order and moves a column to the end, unused, when the norm of its
    part orthogonal to the columns kept so far falls below ``tol`` times its original norm
    ``norms[j]``. The orthogonal parts are the same for the design and for its R factor, so
    the test runs on the small ``p x p`` matrix (classical Gram-Schmidt, twice).
    """
    keep: list[int] = []
    basis = np.zeros((r.shape[0], 0))
    for j in range(r.shape[1]):
        v = r[:, j].copy()
        for _ in range(2):
            v -= basis @ (basis.T @ v)
        res = float(np.linalg.norm(v))
        if res >= tol * norms[j] and res > 0:
            keep.append(j)
            basis = np.column_stack([basis, v / res])
    return keep


def _drop_aliased(
    r_factor: Callable[[], np.ndarray], gram: np.ndarray, norms: np.ndarray, tol: float
) -> list[int]:
    """Columns to keep, decided as R's ``glm.fit`` decides aliasing (pivoting QR, ``tol``).

    ``r_factor()`` gives the R factor of the design with the non-intercept columns centred
    and scaled (the span, and so each column's orthogonal part, is unchanged up to the
    column's scale); ``norms`` are the original column norms in the same scale. The Cholesky
    factor of the Gram matrix decides when every column is far from aliased (its orthogonal
    part well above both the rounding of the cross-products and R's threshold); otherwise
    the R factor (an exact QR of the design) decides.
    """
    p = gram.shape[0]
    try:
        diag = np.abs(np.diag(np.linalg.cholesky(gram)))
        floor = np.sqrt(_EPS * p * max(float(np.max(np.diag(gram))), 1.0))
        if np.all(diag > 1e3 * np.maximum(tol * norms, floor)):
            return list(range(p))
    except np.linalg.LinAlgError:
        pass
    return _dqrdc2_rank(r_factor(), norms, tol)


def _estimates(names: Sequence[str], beta_s: np.ndarray, info: np.ndarray,
               centre: np.ndarray, scale: np.ndarray) -> pd.DataFrame:
    """The tidy coefficient table on the user's scale from the fit of the centred and scaled
    columns: ``beta = T beta_s``, ``cov = T info^-1 T'`` (Wald statistics, R's
    ``summary.glm``)."""
    back = np.diag(1.0 / scale)
    back[0, 1:] = -centre[1:] / scale[1:]
    beta = back @ beta_s
    try:
        cov = back @ np.linalg.inv(info) @ back.T
        se = np.sqrt(np.maximum(np.diag(cov), 0))
    except np.linalg.LinAlgError:
        se = np.full(len(beta), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        zval = beta / se
    q = stats.norm.ppf(0.975)
    return pd.DataFrame(
        {
            "term": list(names),
            "estimate": beta,
            "std_error": se,
            "ci_lower": beta - q * se,
            "ci_upper": beta + q * se,
            "statistic": zval,
            "p_value": 2 * stats.norm.sf(np.abs(zval)),
        },
        columns=list(ESTIMATE_COLUMNS),
    )


def fit_propensity(
    df: pd.DataFrame,
    treatment: str,
    covariates: Sequence[str],
    method: str = "logistic",
    *,
    penalty: float | None = None,
    strata: Sequence[str] | None = None,
    positivity_bounds: tuple[float, float] = (0.01, 0.99),
    maxit: int = 25,
    epsilon: float = 1e-8,
) -> PropensityScore:
    """Fit a propensity-score model by logistic regression.

    Without ``penalty`` the fit is the maximum-likelihood fit of R's
    ``glm(treatment ~ covariates, family = binomial)``: Fisher scoring from R's starting
    values with R's convergence rule (relative deviance change < ``epsilon``, at most
    ``maxit`` iterations). Categorical columns (character, category, boolean) enter as
    indicators of every level but the first (R's treatment contrasts).

    Aliasing is decided as ``glm.fit`` decides it: LINPACK ``dqrdc2`` with limited column
    pivoting on the (weighted) design, tolerance ``min(1e-7, epsilon / 1000)``; a column is
    dropped (coefficient ``NA`` in R) when the norm of its part orthogonal to the earlier kept
    columns is below the tolerance times its own norm. Internally the non-intercept columns
    are centred and scaled before the Fisher scoring, which changes neither the fitted values
    nor the coefficients reported on the user's scale, so a covariate with a large mean
    (calendar year, age in days) gives R's fit. One deliberate difference: R runs the QR at
    every iteration with the current weights; regmed decides aliasing once, at R's start
    (constant weights, where R's first QR is that of the design), so a column that becomes
    aliased only under extreme fitted weights stays in the model.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per patient; not modified.
    treatment : str
        0/1 (or boolean) treatment column.
    covariates : sequence of str
        Columns of the model.
    method : {"logistic"}
        Only logistic regression is available.
    penalty : float, optional
        L2 (ridge) strength λ: the fit minimises deviance/2 + λ/2·Σβ_j² over the
        non-intercept coefficients of the standardized columns (centred, unit standard
        deviation, as glmnet standardizes), so the penalty does not depend on units.
    strata : sequence of str, optional
        Stratifying variables (site, era) added to the model as factors.
    positivity_bounds : (float, float)
        Scores outside these bounds are reported as a positivity warning.
    maxit, epsilon : int, float
        R's ``glm.control`` settings.

    Returns
    -------
    PropensityScore

    Raises
    ------
    DataError
        Unknown columns, missing values, a treatment that is not 0/1.

    References
    ----------
    R Core Team, ``stats::glm.fit`` (IRLS; ``src/library/stats/R/glm.R``) and
    ``src/appl/dqrdc2.f`` (Dongarra et al. 1979, LINPACK Users' Guide, SIAM).
    Rosenbaum & Rubin (1983), Biometrika 70:41-55.
    Walker et al. (2013), Comparative Effectiveness Research 3:11-20 (preference score,
    equipoise 0.3-0.7). Albert & Anderson (1984), Biometrika 71:1-10 (separation).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"t": [0, 0, 1, 1, 0, 1], "age": [50, 61, 58, 70, 44, 52]})
    >>> fit = fit_propensity(df, "t", ["age"])
    >>> round(fit.auc, 3)
    0.778
    """
    covariates = tuple(covariates)
    strata = tuple(strata or ())
    problems: list[Problem] = []
    if method != "logistic":
        problems.append(Problem(f"unknown method {method!r}; use 'logistic'", field="method"))
    if penalty is not None and (not np.isfinite(penalty) or penalty < 0):
        problems.append(Problem("penalty must be a non-negative number", field="penalty"))
    if not covariates:
        problems.append(Problem("no covariates given", field="covariates"))
    problems += check_columns(df, (treatment, *covariates, *strata), "")
    if not problems:
        t, tp = treatment_array(df, treatment)
        problems += tp
    if problems:
        raise DataError("cannot fit the propensity model", problems)

    x, names = model_matrix(df, (*covariates, *strata), drop_first=True, intercept=True)
    n = len(x)
    # Centre and scale the non-intercept columns (in place: x is our own copy). The span, the
    # fitted values and the aliasing decision are unchanged; the normal equations stay well
    # conditioned for columns with a large mean (calendar year, age in days, dates).
    centre = x.mean(axis=0)
    centre[0] = 0.0
    x -= centre
    scale = np.sqrt(np.einsum("ij,ij->j", x, x) / n)
    scale[0] = 1.0
    scale[scale == 0] = 1.0
    x /= scale
    norms = np.sqrt(n * (1.0 + (centre / scale) ** 2))  # the original column norms, same scale
    y = t.astype(np.float64)
    # At R's start every working weight is 0.1875, so the first pass also gives X'X (and R's
    # first QR, of sqrt(w) X, decides aliasing as the QR of X does).
    # The passes run BLAS single-threaded (restored afterwards): the blocks are small, so
    # threads gain little, and on a shared machine threads waiting for each other at every
    # block made a pass up to 20x slower (benchmarks/bench_matching.py).
    with threadpool_limits(limits=1, user_api="blas"):
        dev0, a0, b0 = _pass(x, y, None, np.empty(len(y)))
        keep = _drop_aliased(lambda: _qr_r(x), a0 / 0.1875, norms, min(1e-7, epsilon / 1000))
        if len(keep) < len(names):
            x = x[:, keep]
            a0 = a0[np.ix_(keep, keep)]
            b0 = b0[keep]
        pen = None
        if penalty:
            pen = np.full(len(keep), float(penalty))
            pen[0] = 0.0
        eta = np.empty(len(y))
        beta_s, converged, iterations, dev, info = _irls(
            lambda beta: _pass(x, y, beta, eta), pen, maxit, epsilon, (dev0, a0, b0))
    aliased = [names[j] for j in range(len(names)) if j not in keep]
    warnings: list[str] = []
    if aliased:
        warnings.append(
            "coefficients not defined because of singularities (dropped as R does): "
            + ", ".join(aliased)
        )
    names = [names[j] for j in keep]
    estimates = _estimates(names, beta_s, info, centre[keep], scale[keep])
    mu = special.expit(eta)
    if not converged:
        warnings.append(f"the fit did not converge in {maxit} iterations (separation?)")
    tiny = 10 * _EPS
    n_extreme = int(np.sum((mu < tiny) | (mu > 1 - tiny)))
    if n_extreme:
        warnings.append(
            f"separation: fitted probabilities numerically 0 or 1 for {n_extreme} row(s); "
            "some covariate pattern predicts treatment (quasi-)perfectly"
        )
    lo, hi = positivity_bounds
    n_out = int(np.sum((mu < lo) | (mu > hi)))
    if n_out:
        warnings.append(
            f"positivity: {n_out} row(s) have a propensity score outside [{lo}, {hi}]"
        )


    share = y.mean()
    pref_logit = eta - np.log(share / (1 - share))
    pref = special.expit(pref_logit)
    equipoise = float(np.mean((pref >= 0.3) & (pref <= 0.7)))
    index = df.index
    return PropensityScore(
        ps=pd.Series(mu, index=index, name="ps"),
        logit_ps=pd.Series(eta, index=index, name="logit_ps"),
        treatment=treatment,
        covariates=covariates,
        strata=strata,
        terms=tuple(names),
        estimates=estimates,
        auc=_auc(mu, t),
        preference=pd.Series(pref, index=index, name="preference"),
        equipoise=equipoise,
        n=len(df),
        n_treated=int(t.sum()),
        converged=converged,
        iterations=iterations,
        deviance=dev,
        warnings=tuple(warnings),
        options={
            "method": method,
            "penalty": penalty,
            "strata": list(strata),
            "positivity_bounds": list(positivity_bounds),
            "maxit": maxit,
            "epsilon": epsilon,
        },
    )
