"""Weighted generalized linear models with sandwich variances (internal).

Small numpy implementations of the fits that the MatchIt and WeightIt vignettes use for effect
estimation: ``lm(y ~ x, weights = w)``, ``glm(..., quasipoisson(link = "log"))`` and
``glm(..., quasibinomial())``, with the variances of R's ``sandwich`` package:
``vcovCL`` (cluster-robust) and ``vcovHC(type = "HC0")``.

References
----------
.. [1] Zeileis A, Köll S, Graham N (2020). Various versatile variances: an object-oriented
   implementation of clustered covariances in R. Journal of Statistical Software 95(1).
.. [2] McCullagh P, Nelder JA (1989). Generalized Linear Models, 2nd ed. Chapman & Hall.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from regmed.errors import ConvergenceError

FAMILIES = ("gaussian", "poisson_log", "binomial_logit")


@dataclasses.dataclass(frozen=True)
class GlmFit:
    """Coefficients, their sandwich variance and the residual degrees of freedom."""

    coef: np.ndarray
    vcov: np.ndarray
    bread: np.ndarray  # inverse information: the model-based variance (dispersion 1)
    df_residual: int
    family: str
    fitted: np.ndarray  # the fitted means, computed in the standardized columns
    center: np.ndarray  # the standardization of the columns (see standardized())
    spread: np.ndarray
    coef_standardized: np.ndarray

    def linear_predictor(self, x: np.ndarray) -> np.ndarray:
        """``x @ coef`` computed in the standardized columns (no cancellation of digits)."""
        return ((np.asarray(x, dtype=float) - self.center) / self.spread) @ self.coef_standardized


def _mean(eta: np.ndarray, family: str) -> np.ndarray:
    if family == "gaussian":
        return eta
    if family == "poisson_log":
        return np.exp(eta)
    return 1.0 / (1.0 + np.exp(-eta))


def standardized(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centred and scaled columns and the map of coefficients back (see _standardize)."""
    z, a, _, _ = _standardize(x)
    return z, a


def _standardize(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Columns centred (when the design has a constant column) and scaled, and the map back.

    Returns ``z`` and ``a`` with ``x @ (a @ b) == z @ b`` for every ``b``: a coefficient
    vector ``b`` of ``z`` is ``a @ b`` for ``x`` and a covariance ``V`` is ``a V a'``. Fitting
    ``z`` makes a fit, its convergence test and its condition independent of the units of
    the covariates (a calendar year, an age in days, a value of 1e6 +- 1); R's ``glm`` gets
    the same from its pivoting QR of the weighted design.
    """
    x = np.asarray(x, dtype=float)
    k = x.shape[1]
    const = np.all(x == x[:1], axis=0) & (x[0] != 0)
    has_intercept = bool(const.any())
    center = np.where(const, 0.0, x.mean(axis=0)) if has_intercept else np.zeros(k)
    spread = np.sqrt(np.mean((x - center) ** 2, axis=0))
    spread = np.where(const | (spread == 0), 1.0, spread)
    z = (x - center) / spread
    a = np.diag(1.0 / spread)
    if has_intercept:
        j = int(np.flatnonzero(const)[0])
        a[j] -= center / spread / x[0, j]
        a[j, j] = 1.0 / spread[j]
    return z, a, center, spread


def fit_glm(
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    family: str,
    cluster: np.ndarray | None,
    *,
    max_iter: int = 50,
    tol: float = 1e-10,
) -> GlmFit:
    """Fit a weighted GLM by IRLS and return the sandwich covariance.

    The columns are fitted centred and scaled (:func:`standardized`) and the coefficients
    and covariances mapped back, so the fit does not depend on the covariates' units.

    With ``cluster`` given, the covariance is ``sandwich::vcovCL(fit, cluster = cluster)`` with
    its defaults: type HC1 for the linear model and HC0 for the GLMs, and the G/(G-1) cluster
    adjustment. Without clusters it is ``sandwich::vcovHC(fit, type = "HC0")``.

    Public as ``regmed.evidence.fit_glm`` (``regmed.quality`` uses it for the CQA models).

    Parameters
    ----------
    x : ndarray (n, k)
        Design matrix, intercept column included.
    y, w : ndarray (n,)
        Response and prior weights.
    family : {"gaussian", "poisson_log", "binomial_logit"}
    cluster : ndarray (n,) or None
        Cluster labels for the cluster-robust variance.

    Returns
    -------
    GlmFit
        ``coef``, ``vcov`` (sandwich), ``bread`` (model-based), ``df_residual``, ``family``.

    Raises
    ------
    regmed.errors.ConvergenceError
        No convergence, or a singular information matrix (separation).

    Examples
    --------
    >>> import numpy as np
    >>> from regmed.evidence import fit_glm
    >>> x = np.column_stack([np.ones(6), [0, 0, 0, 1, 1, 1]])
    >>> fit = fit_glm(x, np.array([1.0, 2, 3, 4, 5, 6]), np.ones(6), "gaussian", None)
    >>> [round(float(c), 6) for c in fit.coef]
    [2.0, 3.0]
    """
    x, a, center, spread = _standardize(x)
    n, k = x.shape
    # canonical links only: score_i = w_i (y_i - mu_i) x_i, working weight = w_i V(mu_i)
    if family == "gaussian":
        beta = np.linalg.lstsq(x * np.sqrt(w)[:, None], y * np.sqrt(w), rcond=None)[0]
    else:
        if family == "poisson_log":
            m = np.average(y, weights=w)
            beta = np.zeros(k)
            beta[0] = np.log(max(m, 1e-8))
        else:
            beta = np.zeros(k)
        for _ in range(max_iter):
            eta = x @ beta
            mu = _mean(eta, family)
            var = mu if family == "poisson_log" else mu * (1.0 - mu)
            info = (x * (w * var)[:, None]).T @ x
            score = x.T @ (w * (y - mu))
            try:
                step = np.linalg.solve(info, score)
            except np.linalg.LinAlgError:
                raise ConvergenceError(
                    f"The {family} model's information matrix is singular (separation: a "
                    "covariate or the attribute predicts the outcome perfectly, or the "
                    "fitted probabilities reached 0 or 1).") from None
            if not np.all(np.isfinite(step)):
                raise ConvergenceError(f"The {family} model diverged (non-finite step).")
            beta = beta + step
            if np.max(np.abs(step)) < tol * (1.0 + np.max(np.abs(beta))):
                break
        else:
            raise ConvergenceError(f"The {family} model did not converge in {max_iter} iterations.")
    eta = x @ beta
    mu = _mean(eta, family)
    if family == "gaussian":
        var = np.ones(n)
    elif family == "poisson_log":
        var = mu
    else:
        var = mu * (1.0 - mu)
    try:
        bread = np.linalg.inv((x * (w * var)[:, None]).T @ x)
    except np.linalg.LinAlgError:
        raise ConvergenceError(f"The {family} model's information matrix is singular.") from None
    ef = x * (w * (y - mu))[:, None]
    if cluster is None:
        meat = ef.T @ ef
    else:
        _, codes = np.unique(cluster, return_inverse=True)
        g = int(codes.max()) + 1
        sums = np.zeros((g, k))
        np.add.at(sums, codes, ef)
        meat = sums.T @ sums * (g / (g - 1.0))
        if family == "gaussian":
            meat = meat * (n - 1.0) / (n - k)
    vcov = a @ bread @ meat @ bread @ a.T
    df_residual = int(np.count_nonzero(w > 0)) - k
    return GlmFit(coef=a @ beta, vcov=vcov, bread=a @ bread @ a.T, df_residual=df_residual,
                  family=family, fitted=mu, center=center, spread=spread,
                  coef_standardized=beta)
