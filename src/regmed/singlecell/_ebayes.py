"""Empirical-Bayes moderated t statistics for a simple regression (limma's squeezeVar).

Vectorized over rows so that permutations can be evaluated together: ``s2`` may be a
matrix (replicates × features); the prior is estimated per row across features.

References
----------
.. [1] Smyth GK (2004). Linear models and empirical Bayes methods for assessing differential
   expression in microarray experiments. Stat Appl Genet Mol Biol 3:Article3.
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

__all__ = ["trigamma_inverse", "fit_f_dist", "moderated_slope_t", "slope_stats"]


def trigamma_inverse(x: np.ndarray) -> np.ndarray:
    """Solve ``trigamma(y) = x`` for ``y`` by Newton's method (Smyth's algorithm, limma)."""
    x = np.asarray(x, dtype=float)
    y = 0.5 + 1.0 / x
    big, small = x > 1e7, x < 1e-6
    y = np.where(big, 1.0 / np.sqrt(np.where(big, x, 1.0)), y)
    y = np.where(small, 1.0 / np.where(small, x, 1.0), y)
    todo = ~(big | small)
    for _ in range(50):
        if not todo.any():
            break
        tri = special.polygamma(1, y)
        dif = tri * (1.0 - tri / x) / special.polygamma(2, y)
        y = np.where(todo, y + dif, y)
        todo &= (-dif / y) > 1e-8
    return y


def fit_f_dist(s2: np.ndarray, df: float) -> tuple[np.ndarray, np.ndarray]:
    """Prior degrees of freedom ``d0`` and scale ``s0²`` of the variances, per row of ``s2``.

    ``d0`` is ``inf`` when the variances are no more dispersed than chance allows.
    """
    s2 = np.atleast_2d(np.maximum(np.asarray(s2, dtype=float), 1e-12))
    k = s2.shape[1]
    e = np.log(s2) - special.digamma(df / 2) + np.log(df / 2)
    emean = e.mean(axis=1)
    evar = ((e - emean[:, None]) ** 2).sum(axis=1) / max(k - 1, 1) - special.polygamma(1, df / 2)
    d0 = np.full(s2.shape[0], np.inf)
    pos = evar > 0
    if pos.any():
        d0[pos] = 2.0 * trigamma_inverse(evar[pos])
    s0 = np.where(np.isfinite(d0),
                  np.exp(emean + special.digamma(np.where(pos, d0, 1.0) / 2)
                         - np.log(np.where(pos, d0, 1.0) / 2)),
                  np.exp(emean))
    return d0, s0


def slope_stats(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Least-squares slopes of each column of ``y`` on ``x`` (rows of ``x`` may be many).

    ``x`` is (r × n) or (n,), ``y`` is (n × k). Returns slopes (r × k), residual variances
    (r × k, on n - 2 df) and ``Sxx`` (the same for every row of a permutation of ``x``).
    """
    x2 = np.atleast_2d(np.asarray(x, dtype=float))
    xc = x2 - x2.mean(axis=1, keepdims=True)
    yc = y - y.mean(axis=0)
    sxx = float((xc[0] ** 2).sum())
    slope = xc @ yc / sxx
    syy = (yc**2).sum(axis=0)
    n = y.shape[0]
    s2 = np.maximum(syy[None, :] - slope**2 * sxx, 0.0) / (n - 2)
    return slope, s2, sxx


def moderated_slope_t(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Moderated t of each column's slope on ``x``; returns (t, df_total, slope) per row.

    With one feature (``k == 1``) no prior can be estimated and the ordinary t is returned.
    """
    slope, s2, sxx = slope_stats(x, y)
    n, k = y.shape
    df = n - 2.0
    if k < 3:
        post, dft = s2, np.full(slope.shape[0], df)
    else:
        d0, s0 = fit_f_dist(s2, df)
        fin = np.isfinite(d0)
        d0c = np.where(fin, d0, 0.0)[:, None]
        post = np.where(fin[:, None], (df * s2 + d0c * s0[:, None]) / (df + d0c),
                        s0[:, None] * np.ones_like(s2))
        dft = np.where(fin, df + d0c[:, 0], np.inf)
    t = slope / np.sqrt(np.maximum(post, 1e-300) / sxx)
    return t, dft, slope


def t_pvalue(t: np.ndarray, df: np.ndarray | float) -> np.ndarray:
    """Two-sided p-value of ``t`` on ``df`` degrees of freedom (normal when ``df`` is inf)."""
    df = np.broadcast_to(np.asarray(df, dtype=float), np.shape(t))
    return np.where(np.isfinite(df), 2 * stats.t.sf(np.abs(t), np.where(np.isfinite(df),
                                                                            df, 1.0)),
                    2 * stats.norm.sf(np.abs(t)))
