"""Marker genes of clusters, and a pseudobulk test of genes against a lot-level covariate."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from regmed.errors import DataError, Problem
from regmed.results import Result, format_table
from regmed.singlecell._common import is_counts, lot_covariate, require_obs
from regmed.singlecell._ebayes import moderated_slope_t, t_pvalue

__all__ = ["Markers", "PseudobulkAssociation", "markers", "pseudobulk_association"]


@dataclasses.dataclass(frozen=True)
class Markers(Result):
    """Ranked marker genes per cluster (Wilcoxon rank-sum, one cluster against the rest).

    Attributes
    ----------
    table : pandas.DataFrame
        ``cluster, rank, gene, score, log2_fc, p_value, q_value`` (``q_value``
        Benjamini-Hochberg within the cluster), best first within each cluster.
    lists : dict
        Cluster → its up-regulated genes (``log2_fc > 0``), best first, ``n_genes`` long.
    options : dict
        ``cluster_key``, ``groups``, ``n_genes``, ``method``, ``key_added``.
    """

    table: pd.DataFrame
    lists: dict[str, list[str]]
    options: dict[str, Any]

    def summary(self) -> str:
        rows = [{"cluster": c, "top genes": ", ".join(g[:8])} for c, g in self.lists.items()]
        return format_table(pd.DataFrame(rows), title="Marker genes (Wilcoxon)")


@dataclasses.dataclass(frozen=True)
class PseudobulkAssociation(Result):
    """Genes whose pseudobulk expression within one cluster tracks a lot-level covariate.

    Attributes
    ----------
    table : pandas.DataFrame
        ``gene, estimate, statistic, p_value, q_value, mean_log_cpm``, by p-value;
        ``estimate`` is the change of log2-CPM per SD of the covariate, ``statistic`` the
        moderated t.
    lots : list of str
        Lots with at least ``min_cells`` cells in the cluster (those tested).
    warnings : list of str
    options : dict
        ``cluster``, ``cluster_key``, ``lot_key``, ``covariate``, ``layer``, ``min_cells``,
        ``prior_count``, ``min_count``, ``prior_df``.
    """

    table: pd.DataFrame
    lots: list[str]
    warnings: list[str]
    options: dict[str, Any]

    def summary(self) -> str:
        return format_table(self.table.head(20), title=(
            f"Pseudobulk genes ↔ {self.options['covariate']} within cluster "
            f"{self.options['cluster']} ({len(self.lots)} lots)"))


def markers(
    adata: Any,
    cluster_key: str = "leiden",
    groups: Sequence[str] | None = None,
    *,
    n_genes: int = 25,
    key_added: str = "rank_genes_groups",
) -> Markers:
    """Rank marker genes of each cluster with scanpy's Wilcoxon rank-sum test.

    ``X`` must hold log-normalized expression (as :func:`build_reference` leaves it).

    Parameters
    ----------
    adata : anndata.AnnData
    cluster_key : str
        Cluster column of ``obs``.
    groups : sequence of str, optional
        Clusters to rank (default all), each against all other cells.
    n_genes : int
        Length of each list in :attr:`Markers.lists`.
    key_added : str
        ``uns`` key of scanpy's ``rank_genes_groups`` result (written).

    Returns
    -------
    Markers

    References
    ----------
    .. [1] Wolf FA, Angerer P, Theis FJ (2018). SCANPY. Genome Biol 19:15
       (``rank_genes_groups``).
    .. [2] Wilcoxon F (1945). Individual comparisons by ranking methods. Biometrics Bull
       1:80-83; Benjamini Y, Hochberg Y (1995). J R Stat Soc B 57:289-300.
    """
    import scanpy as sc

    require_obs(adata, [cluster_key], "markers")
    labels = adata.obs[cluster_key].astype(str)
    sizes = labels.value_counts()
    problems = []
    wanted = [str(g) for g in groups] if groups is not None else list(sizes.index)
    for g in wanted:
        if g not in sizes.index:
            problems.append(Problem(f"no cells in cluster {g!r}", field=f"groups[{g}]"))
        elif sizes[g] < 2:
            problems.append(Problem(f"cluster {g!r} has one cell", field=f"groups[{g}]"))
    if len(sizes) < 2:
        problems.append(Problem("at least two clusters are needed", field=f"obs.{cluster_key}"))
    if is_counts(adata.X) and "log1p" not in adata.uns:
        problems.append(Problem("X holds raw counts; normalize and log-transform first "
                                "(build_reference does)", field="X"))
    if problems:
        raise DataError("cannot rank marker genes", problems)
    sc.tl.rank_genes_groups(adata, groupby=cluster_key, groups=wanted if groups else "all",
                            reference="rest", method="wilcoxon", use_raw=False,
                            key_added=key_added)
    df = sc.get.rank_genes_groups_df(adata, group=None, key=key_added)
    if "group" not in df.columns:
        df.insert(0, "group", wanted[0])
    df = df.rename(columns={"group": "cluster", "names": "gene", "scores": "score",
                            "logfoldchanges": "log2_fc", "pvals": "p_value",
                            "pvals_adj": "q_value"})
    df["cluster"] = df["cluster"].astype(str)
    df["rank"] = df.groupby("cluster").cumcount() + 1
    table = df[["cluster", "rank", "gene", "score", "log2_fc", "p_value", "q_value"]]
    lists = {c: table.loc[(table["cluster"] == c) & (table["log2_fc"] > 0), "gene"]
             .astype(str).head(n_genes).tolist() for c in wanted}
    return Markers(table=table.reset_index(drop=True), lists=lists, options={
        "cluster_key": cluster_key, "groups": list(wanted), "n_genes": int(n_genes),
        "method": "wilcoxon", "key_added": key_added})


def _counts_matrix(adata: Any, layer: str | None) -> Any:
    if layer is not None and layer in adata.layers:
        return adata.layers[layer]
    if is_counts(adata.X):
        return adata.X
    raise DataError("pseudobulk needs raw counts", [Problem(
        f"no layer {layer!r} and X does not hold counts", field=f"layers.{layer}")])


def pseudobulk_association(
    adata: Any,
    covariate: pd.Series,
    cluster: str,
    *,
    lot_key: str = "lot",
    cluster_key: str = "leiden",
    layer: str | None = "counts",
    min_cells: int = 10,
    min_count: int = 10,
    prior_count: float = 2.0,
) -> PseudobulkAssociation:
    """Test genes within one cluster against a lot-level covariate on pseudobulk profiles.

    The counts of the cluster's cells are summed per lot (a pseudobulk sample per lot), turned
    into log2 counts per million with a prior count, and each gene's log-CPM is regressed on
    the covariate with limma-trend-style empirical-Bayes moderated t statistics; q-values are
    Benjamini-Hochberg over genes. Summing cells per lot makes the lot, not the cell, the unit
    of replication, which avoids the false discoveries of cell-level tests.

    Parameters
    ----------
    adata : anndata.AnnData
        With raw counts in ``layers[layer]`` (or in ``X``), ``obs[lot_key, cluster_key]``.
    covariate : pandas.Series
        Lot-level covariate indexed by lot.
    cluster : str
        The cluster whose cells are pseudobulked.
    lot_key, cluster_key, layer : str
    min_cells : int
        Lots with fewer of the cluster's cells are left out (listed in ``warnings``).
    min_count : int
        Genes with fewer summed counts over the tested lots are left out.
    prior_count : float
        Added to counts before the log (edgeR's ``cpm(log=TRUE, prior.count=2)``).

    Returns
    -------
    PseudobulkAssociation

    References
    ----------
    .. [1] Squair JW, et al. (2021). Confronting false discoveries in single-cell
       differential expression. Nat Commun 12:5692 (pseudobulk).
    .. [2] Law CW, Chen Y, Shi W, Smyth GK (2014). voom: precision weights unlock linear model
       analysis tools for RNA-seq read counts. Genome Biol 15:R29 (limma-trend).
    .. [3] Smyth GK (2004). Stat Appl Genet Mol Biol 3:Article3 (moderated t).
    """
    require_obs(adata, [lot_key, cluster_key], "pseudobulk_association")
    in_cluster = (adata.obs[cluster_key].astype(str) == str(cluster)).to_numpy()
    if not in_cluster.any():
        raise DataError(f"pseudobulk_association: no cells in cluster {cluster!r}")
    x = _counts_matrix(adata, layer)
    lots_all = adata.obs[lot_key].astype(str).to_numpy()
    per_lot = pd.Series(lots_all[in_cluster]).value_counts()
    lots = sorted(per_lot.index[per_lot >= min_cells])
    dropped = sorted(set(adata.obs[lot_key].astype(str)) - set(lots))
    warnings = [f"lots with fewer than {min_cells} cells of cluster {cluster} left out: "
                f"{', '.join(dropped)}"] if dropped else []
    if len(lots) < 4:
        raise DataError(f"pseudobulk_association: {len(lots)} lots have at least {min_cells} "
                        f"cells of cluster {cluster!r}; at least 4 are needed")
    cov = lot_covariate(covariate, lots, name=str(getattr(covariate, "name", None)
                                                      or "covariate"))
    rows = []
    for lot in lots:
        idx = np.flatnonzero(in_cluster & (lots_all == lot))
        rows.append(np.asarray(x[idx].sum(axis=0)).ravel())
    pb = np.vstack(rows).astype(float)
    keep = pb.sum(axis=0) >= min_count
    if keep.sum() < 3:
        raise DataError("pseudobulk_association: fewer than 3 genes pass min_count")
    lib = pb.sum(axis=1, keepdims=True)
    pc = prior_count * lib / lib.mean()
    log_cpm = np.log2((pb[:, keep] + pc) / (lib + 2 * pc) * 1e6)
    z = cov.to_numpy()
    sd = z.std(ddof=1)
    t, dft, slope = moderated_slope_t((z - z.mean()) / sd if sd > 0 else z, log_cpm)
    p = t_pvalue(t[0], dft[0])
    genes = np.asarray(adata.var_names)[keep]
    table = pd.DataFrame({"gene": genes.astype(str), "estimate": slope[0], "statistic": t[0],
                          "p_value": p, "q_value": stats.false_discovery_control(p),
                          "mean_log_cpm": log_cpm.mean(axis=0)})
    table = table.sort_values("p_value", kind="stable").reset_index(drop=True)
    return PseudobulkAssociation(table=table, lots=lots, warnings=warnings, options={
        "cluster": str(cluster), "cluster_key": cluster_key, "lot_key": lot_key,
        "covariate": str(cov.name), "layer": layer, "min_cells": int(min_cells),
        "min_count": int(min_count), "prior_count": float(prior_count),
        "prior_df": float(dft[0] - (len(lots) - 2)) if np.isfinite(dft[0]) else None})
