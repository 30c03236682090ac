"""Composition ↔ potency: does a cluster's share across lots track a lot-level covariate?"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from regmed.errors import DataError, Problem
from regmed.results import Result, format_table
from regmed.singlecell._common import clr, lot_covariate
from regmed.singlecell._ebayes import moderated_slope_t, t_pvalue
from regmed.singlecell.composition import composition_counts

__all__ = ["CompositionAssociation", "associate_composition", "min_detectable_r",
           "transform_shares"]

METHODS = ("clr", "logit", "propeller")
COLUMNS = ["cluster", "estimate", "p_value", "q_value", "stable"]


@dataclasses.dataclass(frozen=True)
class CompositionAssociation(Result):
    """Per-cluster association of its share with a lot-level covariate.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per cluster, most significant first: ``cluster, estimate, p_value, q_value,
        stable`` then ``statistic`` (t, or limma's moderated t for ``propeller``),
        ``p_parametric``, ``loo_min_abs`` (smallest absolute estimate when each lot is left
        out), ``mean_share``. ``estimate`` is Pearson's correlation of the transformed share
        with the covariate; ``p_value`` is from permutations of the covariate over lots;
        ``q_value`` Benjamini-Hochberg over clusters; ``stable`` is True when every
        leave-one-lot-out refit keeps the sign and stays below ``alpha`` (parametric p).
    values : pandas.DataFrame
        Lots × clusters transformed shares, plus the covariate column.
    min_detectable_r : float
        Smallest |correlation| detectable with ``power`` at two-sided ``alpha`` with these
        lots (Fisher's z); ``min_detectable_r_bonferroni`` at ``alpha`` / clusters.
    min_detectable_r_bonferroni : float
    warnings : list of str
    options : dict
        ``method``, ``lot_key``, ``cluster_key``, ``covariate``, ``n_permutations``,
        ``pseudocount``, ``alpha``, ``power``, ``n_lots``, ``seed``.
    """

    table: pd.DataFrame
    values: pd.DataFrame
    min_detectable_r: float
    min_detectable_r_bonferroni: float
    warnings: list[str]
    options: dict[str, Any]

    @property
    def top(self) -> str:
        """The cluster with the smallest p-value (ties: largest |estimate|)."""
        return str(self.table["cluster"].iloc[0])

    def significant(self, q: float = 0.05) -> list[str]:
        """Clusters with a q-value below ``q``."""
        return self.table.loc[self.table["q_value"] < q, "cluster"].astype(str).tolist()

    def summary(self) -> str:
        o = self.options
        title = (f"Cluster share ↔ {o['covariate']} ({o['method']}, {o['n_lots']} lots, "
                 f"{o['n_permutations']} permutations; minimum detectable |r| = "
                 f"{self.min_detectable_r:.2f})")
        return format_table(self.table, title=title)


def min_detectable_r(n: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest |correlation| a two-sided test at ``alpha`` detects with ``power`` (n pairs).

    Uses Fisher's z: ``tanh((z_{1-α/2} + z_{power}) / sqrt(n - 3))``.

    References
    ----------
    .. [1] Cohen J (1988). Statistical Power Analysis for the Behavioral Sciences, 2nd ed.,
       chapter 3; Hulley SB, et al. (2013). Designing Clinical Research, 4th ed., appendix 6C.
    """
    if n <= 3:
        return float("nan")
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return float(np.tanh(z / np.sqrt(n - 3)))


def transform_shares(counts: np.ndarray, method: str, pseudocount: float) -> np.ndarray:
    """CLR (``clr``) or logit of the shares (``logit``, ``propeller``), with a pseudocount."""
    c = np.asarray(counts, dtype=float)
    if method == "clr":
        return clr(c, pseudocount)
    p = (c + pseudocount) / (c.sum(axis=1, keepdims=True) + 2 * pseudocount)
    return np.log(p / (1 - p))


def _statistics(x: np.ndarray, y: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
    """(statistic, parametric p) per row of ``x`` (permutations) and column of ``y``."""
    n = y.shape[0]
    if method == "propeller":
        t, dft, _ = moderated_slope_t(x, y)
        return t, t_pvalue(t, dft[:, None])
    r = _corr(x, y)
    t = r * np.sqrt((n - 2) / np.maximum(1 - r**2, 1e-12))
    return t, t_pvalue(t, n - 2)


def _corr(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    x2 = np.atleast_2d(np.asarray(x, dtype=float))
    xc = x2 - x2.mean(axis=1, keepdims=True)
    yc = y - y.mean(axis=0)
    den = np.sqrt((xc**2).sum(axis=1))[:, None] * np.sqrt((yc**2).sum(axis=0))[None, :]
    return np.where(den > 0, xc @ yc / np.where(den > 0, den, 1.0), 0.0)


def associate_composition(
    adata: Any,
    potency: pd.Series,
    *,
    lot_key: str = "lot",
    cluster_key: str = "leiden",
    method: str = "clr",
    n_permutations: int = 9999,
    pseudocount: float = 0.5,
    alpha: float = 0.05,
    power: float = 0.8,
    key_added: str | None = "composition_association",
    rng: int | np.random.Generator | None = 0,
) -> CompositionAssociation:
    """Test, per cluster, whether its share across lots tracks a lot-level covariate.

    Each lot's cluster counts (plus ``pseudocount``) are transformed — centred log-ratios
    (``clr``), or logits of the shares (``logit``, and ``propeller``, which then moderates the
    per-cluster regression variances by empirical Bayes as limma does). The estimate is the
    correlation of the transformed share with the covariate; the p-value comes from
    ``n_permutations`` random permutations of the covariate over lots (``(1 + b) / (1 + B)``),
    which is exact whatever the distribution; q-values are Benjamini-Hochberg over clusters.
    Because a handful of lots gives little power, the minimum detectable correlation is
    reported; each lot is also left out in turn to flag associations carried by one lot.

    Parameters
    ----------
    adata : anndata.AnnData
        With ``obs[lot_key]`` and ``obs[cluster_key]``.
    potency : pandas.Series
        The covariate (potency, clinical response rate) indexed by lot; every lot of
        ``adata`` needs a value.
    lot_key, cluster_key : str
    method : {"clr", "logit", "propeller"}
    n_permutations : int
    pseudocount : float
        Added to counts before the transformation (zeros are common in small clusters).
    alpha, power : float
        For ``stable`` and the minimum detectable correlation.
    key_added : str, optional
        Writes ``uns[key_added] = {"params", "table"}``.
    rng : int or numpy.random.Generator, optional
        Seed of the permutations.

    Returns
    -------
    CompositionAssociation

    Raises
    ------
    DataError
        Unknown method, missing columns, lots without a covariate value, fewer than 4 lots
        or 2 clusters.

    References
    ----------
    .. [1] Aitchison J (1986). The Statistical Analysis of Compositional Data (CLR).
    .. [2] Phipson B, Sim CB, Porrello ER, et al. (2022). propeller: testing for differences
       in cell type proportions in single cell data. Bioinformatics 38:4720-4726.
    .. [3] Smyth GK (2004). Stat Appl Genet Mol Biol 3:Article3 (moderated t).
    .. [4] Phipson B, Smyth GK (2010). Permutation p-values should never be zero. Stat Appl
       Genet Mol Biol 9:Article39.
    .. [5] Benjamini Y, Hochberg Y (1995). J R Stat Soc B 57:289-300.
    """
    problems = []
    if method not in METHODS:
        problems.append(Problem(f"unknown method {method!r} (one of {', '.join(METHODS)})",
                                field="method"))
    if n_permutations < 99:
        problems.append(Problem("at least 99 permutations are needed", field="n_permutations"))
    if pseudocount <= 0:
        problems.append(Problem("must be positive", field="pseudocount"))
    if problems:
        raise DataError("associate_composition: bad options", problems)
    counts = composition_counts(adata, lot_key, cluster_key)
    counts = counts.loc[:, counts.sum(axis=0) > 0]
    lots = list(map(str, counts.index))
    potency = potency if isinstance(potency, pd.Series) else pd.Series(potency)
    cov = lot_covariate(potency, lots, name=str(potency.name or "potency"))
    n, k = counts.shape
    if n < 4 or k < 2:
        raise DataError(f"associate_composition: {n} lots and {k} clusters; at least 4 lots "
                        "and 2 clusters are needed")
    warnings = []
    unused = sorted(set(map(str, potency.index)) - set(lots))
    if unused:
        warnings.append(f"covariate values of lots without cells ignored: {', '.join(unused)}")
    if cov.std() == 0:
        raise DataError("associate_composition: the covariate is the same for every lot")

    y = transform_shares(counts.to_numpy(), method, pseudocount)
    x = cov.to_numpy()
    r = _corr(x, y)[0]
    stat, p_par = (a[0] for a in _statistics(x, y, method))

    gen = np.random.default_rng(rng)
    seed = rng if isinstance(rng, int) else None
    perms = np.argsort(gen.random((n_permutations, n)), axis=1)
    hits = np.zeros(k)
    for chunk in np.array_split(np.arange(n_permutations), max(1, n_permutations // 2000)):
        t_perm, _ = _statistics(x[perms[chunk]], y, method)
        hits += (np.abs(t_perm) >= np.abs(stat)[None, :] * (1 - 1e-10)).sum(axis=0)
    p_perm = (1 + hits) / (1 + n_permutations)

    loo_r = np.empty((n, k))
    loo_p = np.empty((n, k))
    for i in range(n):
        keep = np.arange(n) != i
        y_i = transform_shares(counts.to_numpy()[keep], method, pseudocount)
        loo_r[i] = _corr(x[keep], y_i)[0]
        loo_p[i] = _statistics(x[keep], y_i, method)[1][0]
    same_sign = (np.sign(loo_r) == np.sign(r)[None, :]).all(axis=0)
    stable = same_sign & (loo_p < alpha).all(axis=0)

    table = pd.DataFrame({
        "cluster": list(map(str, counts.columns)), "estimate": r, "p_value": p_perm,
        "q_value": stats.false_discovery_control(p_perm, method="bh"), "stable": stable,
        "statistic": stat, "p_parametric": p_par, "loo_min_abs": np.abs(loo_r).min(axis=0),
        "mean_share": counts.div(counts.sum(axis=1), axis=0).mean(axis=0).to_numpy(),
    })
    order = np.lexsort((-np.abs(table["statistic"].to_numpy()), table["p_value"].to_numpy()))
    table = table.iloc[order].reset_index(drop=True)
    values = pd.DataFrame(y, index=counts.index, columns=counts.columns)
    values[cov.name or "potency"] = x
    options = {"method": method, "lot_key": lot_key, "cluster_key": cluster_key,
               "covariate": str(cov.name or "potency"), "n_permutations": int(n_permutations),
               "pseudocount": float(pseudocount), "alpha": float(alpha), "power": float(power),
               "n_lots": int(n), "seed": seed}
    result = CompositionAssociation(
        table=table, values=values, min_detectable_r=min_detectable_r(n, alpha, power),
        min_detectable_r_bonferroni=min_detectable_r(n, alpha / k, power),
        warnings=warnings, options=options)
    if key_added:
        adata.uns[key_added] = {"params": {k_: v for k_, v in options.items() if v is not None},
                                "table": table.copy()}
    return result
