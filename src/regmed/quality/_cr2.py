"""Bias-reduced (CR2) cluster-robust variance of a linear model, Satterthwaite df."""

from __future__ import annotations

import numpy as np

from regmed.evidence._glm import standardized

__all__ = ["cr2_linear"]


def _inverse_sqrt(a: np.ndarray, tol: float = 1e-12) -> np.ndarray:
    """Symmetric inverse square root; eigenvalues below ``tol`` are dropped (pseudo-inverse)."""
    vals, vecs = np.linalg.eigh(a)
    inv = np.where(vals > tol, 1.0 / np.sqrt(np.clip(vals, tol, None)), 0.0)
    return (vecs * inv) @ vecs.T


def cr2_linear(design: np.ndarray, resid: np.ndarray, groups: np.ndarray,
               index: int) -> tuple[np.ndarray, float]:
    """CR2 covariance of ordinary least squares and the Satterthwaite df of one coefficient.

    With ``M = (X'X)^-1`` and, for cluster j, ``A_j = (I - X_j M X_j')^(-1/2)`` (the symmetric
    inverse square root; a pseudo-inverse when a cluster is fully leveraged), the variance is
    ``M [sum_j X_j' A_j e_j e_j' A_j X_j] M`` (Bell & McCaffrey 2002). The degrees of freedom
    of coefficient ``index`` are those of the Satterthwaite approximation under the working
    model of independent, homoskedastic errors (Pustejovsky & Tipton 2018, section 3.1):
    with ``g_j = (I - H)_j' A_j X_j M c``, ``df = (sum_j g_j'g_j)^2 / sum_ij (g_i'g_j)^2``.
    This is R's ``clubSandwich::vcovCR(fit, cluster, type = "CR2")`` with
    ``coef_test(..., test = "Satterthwaite")`` for an unweighted ``lm``.

    Parameters
    ----------
    design : numpy.ndarray
        The n x p model matrix X (with the intercept), of full column rank.
    resid : numpy.ndarray
        The n OLS residuals e.
    groups : numpy.ndarray
        Cluster label of each row.
    index : int
        Column of ``design`` whose Satterthwaite df is returned.

    Returns
    -------
    vcov : numpy.ndarray
        The p x p CR2 covariance.
    df : float
        Satterthwaite degrees of freedom of coefficient ``index``.

    References
    ----------
    .. [1] Bell RM, McCaffrey DF (2002). Bias reduction in standard errors for linear
       regression with multi-stage samples. Survey Methodology 28:169-181.
    .. [2] Pustejovsky JE, Tipton E (2018). Small-sample methods for cluster-robust variance
       estimation and hypothesis testing in fixed effects models. Journal of Business &
       Economic Statistics 36:672-683.
    """
    # centred and scaled columns (the hat matrices are unchanged; coefficient ``index``, not
    # the intercept, only rescales, so its df are too), then the covariance mapped back
    x, back = standardized(np.asarray(design, dtype=float))
    e = np.asarray(resid, dtype=float)
    m = np.linalg.inv(x.T @ x)
    c = m[:, index]  # M c with c the unit vector of the coefficient
    meat = np.zeros((x.shape[1], x.shape[1]))
    u_sq, w_cols = [], []
    for label in np.unique(groups):
        rows = np.flatnonzero(groups == label)
        xj = x[rows]
        a = _inverse_sqrt(np.eye(len(rows)) - xj @ m @ xj.T)
        s = xj.T @ (a @ e[rows])
        meat += np.outer(s, s)
        u = a @ (xj @ c)  # u_j = A_j X_j M c; g_j = (I - H)_j' u_j
        u_sq.append(float(u @ u))
        w_cols.append(xj.T @ u)
    w = np.column_stack(w_cols)
    # g_i'g_j = delta_ij u_i'u_i - (X_i'u_i)' M (X_j'u_j), as (I - H) is idempotent
    gram = np.diag(u_sq) - w.T @ m @ w
    df = float(np.trace(gram) ** 2 / np.sum(gram ** 2))
    return back @ (m @ meat @ m) @ back.T, df
