"""Per-lot composition of the reference clusters, and each lot's distance from the reference."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from regmed.errors import DataError, Problem
from regmed.results import Result, format_table
from regmed.singlecell._common import clr, require_obs

__all__ = ["Composition", "Deviation", "lot_composition", "composition_deviation",
           "composition_counts"]


@dataclasses.dataclass(frozen=True)
class Composition(Result):
    """Lots × clusters cell counts and proportions.

    Attributes
    ----------
    counts : pandas.DataFrame
        Cells per lot (rows) and cluster (columns).
    proportions : pandas.DataFrame
        ``counts`` divided by each lot's total.
    options : dict
        ``lot_key``, ``cluster_key``.
    """

    counts: pd.DataFrame
    proportions: pd.DataFrame
    options: dict[str, Any]

    @property
    def table(self) -> pd.DataFrame:
        """Tidy form: ``lot, cluster, n_cells, proportion``."""
        c = self.counts.stack().rename("n_cells")
        p = self.proportions.stack().rename("proportion")
        out = pd.concat([c, p], axis=1).reset_index()
        out.columns = ["lot", "cluster", "n_cells", "proportion"]
        return out

    def to_dict(self) -> dict[str, Any]:
        from regmed.results import to_jsonable

        return {"type": "Composition", "lots": list(map(str, self.counts.index)),
                "clusters": list(map(str, self.counts.columns)),
                "counts": to_jsonable(self.counts.to_numpy()),
                "proportions": to_jsonable(self.proportions.to_numpy()),
                "options": self.options}

    def summary(self) -> str:
        return format_table(self.proportions.reset_index(), title="Cluster shares per lot")


@dataclasses.dataclass(frozen=True)
class Deviation(Result):
    """Each lot's Aitchison distance from the reference composition, with an outlier flag.

    Attributes
    ----------
    table : pandas.DataFrame
        ``lot, n_cells, distance, outlier``; ``outlier`` is ``distance > threshold``.
    center : pandas.Series
        The reference composition (closed geometric mean of the reference lots' shares).
    threshold : float
        Tukey's upper fence of the reference lots' distances, ``Q3 + fence × IQR``.
    options : dict
        ``pseudocount``, ``fence``, ``n_reference_lots``.
    """

    table: pd.DataFrame
    center: pd.Series
    threshold: float
    options: dict[str, Any]

    @property
    def outliers(self) -> list[str]:
        """Lots flagged as outlying."""
        return self.table.loc[self.table["outlier"], "lot"].tolist()

    def summary(self) -> str:
        return format_table(self.table, title=f"Aitchison distance from the reference "
                                              f"(outlier above {self.threshold:.3g})")


def composition_counts(adata: Any, lot_key: str, cluster_key: str,
                       clusters: list[str] | None = None) -> pd.DataFrame:
    """Lots × clusters counts from ``adata.obs`` (clusters in their categorical order)."""
    require_obs(adata, [lot_key, cluster_key], "composition")
    obs = adata.obs
    lot = obs[lot_key].astype(str)
    cl = obs[cluster_key]
    if clusters is None:
        clusters = ([str(c) for c in cl.cat.categories] if isinstance(cl.dtype, pd.CategoricalDtype)
                    else sorted(map(str, cl.unique())))
    counts = pd.crosstab(lot, cl.astype(str)).reindex(columns=clusters, fill_value=0)
    counts.index.name = "lot"
    counts.columns.name = "cluster"
    return counts.astype(int)


def lot_composition(
    adata: Any,
    *,
    lot_key: str = "lot",
    cluster_key: str = "leiden",
    key_added: str | None = "lot_composition",
) -> Composition:
    """Cell counts and proportions of each cluster in each lot.

    Parameters
    ----------
    adata : anndata.AnnData
        With ``obs[lot_key]`` and ``obs[cluster_key]``.
    lot_key, cluster_key : str
    key_added : str, optional
        Writes ``uns[key_added] = {"params", "counts"}`` (``None``: writes nothing).

    Returns
    -------
    Composition

    Examples
    --------
    >>> import anndata as ad, pandas as pd, numpy as np
    >>> a = ad.AnnData(np.zeros((4, 1)), obs=pd.DataFrame(
    ...     {"lot": ["A", "A", "B", "B"], "leiden": ["0", "1", "1", "1"]},
    ...     index=[f"c{i}" for i in range(4)]))
    >>> lot_composition(a).proportions.loc["B", "1"]
    np.float64(1.0)
    """
    counts = composition_counts(adata, lot_key, cluster_key)
    if counts.empty:
        raise DataError("composition: no cells")
    props = counts.div(counts.sum(axis=1), axis=0)
    options = {"lot_key": lot_key, "cluster_key": cluster_key}
    if key_added:
        adata.uns[key_added] = {"params": options, "counts": counts.copy()}
    return Composition(counts=counts, proportions=props, options=options)


def composition_deviation(
    composition: Composition,
    reference: Composition | None = None,
    *,
    pseudocount: float = 0.5,
    fence: float = 1.5,
) -> Deviation:
    """Aitchison distance of each lot's composition from the reference, and outliers.

    Counts get ``pseudocount`` added (zero replacement) and are CLR-transformed; the
    reference centre is the mean of the reference lots' CLR vectors (the CLR of their closed
    geometric mean). A lot's distance is the Euclidean distance of its CLR vector from that
    centre — the Aitchison distance. The reference lots' own distances set the outlier
    threshold: Tukey's upper fence ``Q3 + fence × IQR``.

    Parameters
    ----------
    composition : Composition
        The lots to judge.
    reference : Composition, optional
        The reference lots (default: ``composition`` itself). Clusters are aligned by name.
    pseudocount : float
        Added to every count before the log-ratio.
    fence : float
        IQR multiplier of the outlier threshold.

    Returns
    -------
    Deviation

    References
    ----------
    .. [1] Aitchison J (1986). The Statistical Analysis of Compositional Data. Chapman & Hall.
    .. [2] Martín-Fernández JA, Barceló-Vidal C, Pawlowsky-Glahn V (2003). Dealing with zeros
       and missing values in compositional data sets. Math Geol 35:253-278.
    .. [3] Tukey JW (1977). Exploratory Data Analysis. Addison-Wesley (fences).
    """
    ref = reference if reference is not None else composition
    clusters = list(ref.counts.columns)
    extra = [c for c in composition.counts.columns if c not in clusters
             and composition.counts[c].sum() > 0]
    if extra:
        raise DataError("composition_deviation: clusters absent from the reference",
                        [Problem("cluster not in the reference", field=f"cluster {c}")
                         for c in extra])
    if pseudocount <= 0:
        raise DataError("composition_deviation: pseudocount must be positive")
    lots = composition.counts.reindex(columns=clusters, fill_value=0)
    ref_clr = clr(ref.counts.to_numpy(), pseudocount)
    center = ref_clr.mean(axis=0)
    ref_dist = np.sqrt(((ref_clr - center) ** 2).sum(axis=1))
    dist = np.sqrt(((clr(lots.to_numpy(), pseudocount) - center) ** 2).sum(axis=1))
    q1, q3 = np.percentile(ref_dist, [25, 75])
    threshold = float(q3 + fence * (q3 - q1))
    table = pd.DataFrame({"lot": list(map(str, lots.index)),
                          "n_cells": lots.sum(axis=1).to_numpy().astype(int),
                          "distance": dist, "outlier": dist > threshold})
    geo = np.exp(center)
    return Deviation(table=table, center=pd.Series(geo / geo.sum(), index=clusters),
                     threshold=threshold,
                     options={"pseudocount": pseudocount, "fence": fence,
                              "n_reference_lots": int(len(ref.counts))})
