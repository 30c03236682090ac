"""Map a new lot onto an existing reference taxonomy without rebuilding it."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from regmed.errors import DataError, Problem
from regmed.results import Result, format_table
from regmed.singlecell._common import is_counts, require_obs
from regmed.singlecell.composition import (
    Composition,
    Deviation,
    composition_deviation,
    lot_composition,
)
from regmed.singlecell.reference import reference_params

__all__ = ["LotMapping", "map_lot", "project"]


@dataclasses.dataclass(frozen=True)
class LotMapping(Result):
    """A new lot projected onto the reference: its composition and deviation.

    Attributes
    ----------
    composition : Composition
        The new lot(s) over the reference clusters.
    deviation : Deviation
        Aitchison distance from the reference lots' composition, with the reference's
        outlier threshold.
    confidence : pandas.DataFrame
        Per lot: ``lot, n_cells, mean_confidence, low_confidence_share`` (share of cells whose
        winning label has less than half of the neighbours' weight).
    adata : anndata.AnnData
        The annotated new data (``new`` itself, or its copy) — not serialized.
    options : dict
    """

    composition: Composition
    deviation: Deviation
    confidence: pd.DataFrame
    options: dict[str, Any]
    adata: Any = dataclasses.field(default=None, repr=False, compare=False)

    def summary(self) -> str:
        return "\n\n".join([format_table(self.deviation.table, title="Mapped lot(s)"),
                            format_table(self.composition.proportions.reset_index(),
                                         title="Composition over the reference clusters")])


def project(reference: Any, new: Any, *, key: str = "reference") -> np.ndarray:
    """Coordinates of ``new``'s cells on the reference PCA (normalized, scaled as it was)."""
    params = reference_params(reference, key)
    hvg = reference.var["highly_variable"].to_numpy(dtype=bool)
    genes = reference.var_names[hvg]
    missing = genes.difference(new.var_names)
    if len(missing):
        shown = ", ".join(map(str, missing[:10])) + (" …" if len(missing) > 10 else "")
        raise DataError("the new lot lacks genes the reference was built on",
                        [Problem(f"{len(missing)} of {len(genes)} reference genes missing: "
                                 f"{shown}", field="var_names")])
    x = new.X
    if params["normalize"]:
        if not is_counts(x):
            raise DataError("the new lot must hold raw counts in X, as the reference did",
                            [Problem("X has non-integer or negative values", field="X")])
        common = new.var_names.isin(reference.var_names)
        totals = np.asarray(x[:, np.flatnonzero(common)].sum(axis=1)).ravel()
        totals[totals == 0] = 1.0
        sub = x[:, new.var_names.get_indexer(genes)]
        sub = sub.toarray() if sparse.issparse(sub) else np.asarray(sub)
        z = np.log1p(sub.astype(np.float32) * (params["target_sum"] / totals)[:, None])
    else:
        sub = x[:, new.var_names.get_indexer(genes)]
        z = np.asarray(sub.toarray() if sparse.issparse(sub) else sub, dtype=np.float32)
    mean = reference.var["ref_mean"].to_numpy()[hvg].astype(np.float32)
    std = reference.var["ref_std"].to_numpy()[hvg].astype(np.float32)
    z = np.clip((z - mean) / std, -params["max_value"], params["max_value"])
    z -= reference.var["pca_mean"].to_numpy()[hvg].astype(np.float32)
    return np.asarray(z @ np.asarray(reference.varm["PCs"])[hvg], dtype=np.float32)


def _index_cells(labels: np.ndarray, max_cells: int, seed: int) -> np.ndarray:
    """At most ``max_cells`` reference cells, sampled within clusters in proportion."""
    n = labels.size
    if n <= max_cells:
        return np.arange(n)
    gen = np.random.default_rng(seed)
    out = []
    for lab in np.unique(labels):
        idx = np.flatnonzero(labels == lab)
        take = max(min(idx.size, 50), int(round(idx.size * max_cells / n)))
        out.append(gen.choice(idx, size=min(take, idx.size), replace=False))
    return np.sort(np.concatenate(out))


def map_lot(
    reference: Any,
    new: Any,
    *,
    lot_key: str = "lot",
    n_neighbors: int = 15,
    max_reference_cells: int = 100_000,
    reference_key: str = "reference",
    key_added: str = "mapping",
    rng: int | np.random.Generator | None = 0,
    copy: bool = False,
) -> LotMapping:
    """Project a new lot onto the reference and report its composition and deviation.

    The new cells are normalized, log-transformed and scaled with the reference's own
    parameters and projected on the reference principal components (no refitting). Each cell
    takes the cluster of the distance-weighted vote of its ``n_neighbors`` nearest reference
    cells (a kNN classifier on the reference PCA) and the weighted mean of their UMAP
    positions. The reference is never rebuilt, so the taxonomy and earlier lots' labels stay
    fixed. For very large references the neighbour index uses at most
    ``max_reference_cells`` cells, sampled within clusters in proportion.

    Parameters
    ----------
    reference : anndata.AnnData
        Built by :func:`build_reference`.
    new : anndata.AnnData
        The new lot(s): raw counts in ``X`` (when the reference normalized), the reference's
        highly variable genes among ``var_names``, ``obs[lot_key]``.
    lot_key : str
    n_neighbors : int
    max_reference_cells : int
    reference_key, key_added : str
        ``uns`` key of the reference's parameters; ``uns`` key written on ``new``.
    rng : int or numpy.random.Generator, optional
        Seed of the sampling of the neighbour index.
    copy : bool
        Annotate a copy of ``new`` instead of ``new``.

    Returns
    -------
    LotMapping
        Writes to ``new``: ``obs[cluster_key]`` (categorical with the reference's clusters),
        ``obs['mapping_confidence']``, ``obsm['X_pca']``, ``obsm['X_umap']`` (if the reference
        has one) and ``uns[key_added]`` (parameters).

    References
    ----------
    .. [1] Lotfollahi M, et al. (2022). Mapping single-cell data to reference atlases by
       transfer learning. Nat Biotechnol 40:121-130 (reference mapping).
    .. [2] Wolf FA, Angerer P, Theis FJ (2018). SCANPY. Genome Biol 19:15 (``ingest``: PCA
       projection and kNN label transfer, as here).
    .. [3] Cover T, Hart P (1967). Nearest neighbor pattern classification. IEEE Trans Inf
       Theory 13:21-27.
    """
    from sklearn.neighbors import NearestNeighbors

    params = reference_params(reference, reference_key)
    cluster_key = params["cluster_key"]
    require_obs(reference, [params["lot_key"], cluster_key], "map_lot (reference)")
    require_obs(new, [lot_key], "map_lot (new lot)")
    if copy:
        new = new.copy()
    seed = rng if isinstance(rng, int) else 0
    coords = project(reference, new, key=reference_key)

    labels = reference.obs[cluster_key].astype(str).to_numpy()
    index = _index_cells(labels, max_reference_cells, seed)
    k = int(min(n_neighbors, index.size))
    nn = NearestNeighbors(n_neighbors=k).fit(np.asarray(reference.obsm["X_pca"])[index])
    dist, nbr = nn.kneighbors(coords)
    w = 1.0 / (dist + 1e-6)
    w /= w.sum(axis=1, keepdims=True)
    categories = [str(c) for c in reference.obs[cluster_key].cat.categories] \
        if isinstance(reference.obs[cluster_key].dtype, pd.CategoricalDtype) \
        else sorted(set(labels))
    code = pd.Categorical(labels[index], categories=categories).codes
    votes = np.zeros((coords.shape[0], len(categories)))
    np.add.at(votes, (np.repeat(np.arange(coords.shape[0]), k), code[nbr].ravel()), w.ravel())
    best = votes.argmax(axis=1)
    confidence = votes[np.arange(best.size), best]

    new.obs[cluster_key] = pd.Categorical(np.asarray(categories)[best], categories=categories)
    new.obs["mapping_confidence"] = confidence
    new.obsm["X_pca"] = coords
    if "X_umap" in reference.obsm:
        umap = np.asarray(reference.obsm["X_umap"])[index]
        new.obsm["X_umap"] = (umap[nbr] * w[:, :, None]).sum(axis=1)
    options = {"lot_key": lot_key, "cluster_key": cluster_key, "n_neighbors": k,
               "n_index_cells": int(index.size), "method": "knn_on_reference_pca",
               "seed": seed}
    new.uns[key_added] = {"params": options}

    comp = lot_composition(new, lot_key=lot_key, cluster_key=cluster_key, key_added=None)
    ref_comp = lot_composition(reference, lot_key=params["lot_key"], cluster_key=cluster_key,
                               key_added=None)
    dev = composition_deviation(comp, ref_comp)
    conf = pd.DataFrame({"lot": new.obs[lot_key].astype(str).to_numpy(), "c": confidence})
    summary = conf.groupby("lot", sort=True)["c"].agg(
        n_cells="size", mean_confidence="mean",
        low_confidence_share=lambda s: float((s < 0.5).mean())).reset_index()
    return LotMapping(composition=comp, deviation=dev, confidence=summary, options=options,
                      adata=new)
