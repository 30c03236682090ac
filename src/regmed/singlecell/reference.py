"""The reference taxonomy: normalization, HVGs, PCA, neighbours, Leiden clusters, UMAP."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse

from regmed.errors import DataError, Problem
from regmed.singlecell._common import is_counts, require_obs, rng_seed

__all__ = ["build_reference", "reference_params", "knn_transformer"]

#: Scaled values are clipped to ± this many SDs (as ``scanpy.pp.scale(max_value=10)``).
MAX_VALUE = 10.0


def _dense(x: Any) -> np.ndarray:
    return np.asarray(x.toarray() if sparse.issparse(x) else x, dtype=np.float32)


def build_reference(
    adata: Any,
    *,
    lot_key: str = "lot",
    batch_key: str | None = None,
    resolution: float = 1.0,
    n_top_genes: int = 2000,
    n_pcs: int = 30,
    n_neighbors: int = 15,
    umap: bool = True,
    normalize: bool = True,
    target_sum: float = 1e4,
    cluster_key: str = "leiden",
    key_added: str = "reference",
    rng: int | np.random.Generator | None = 0,
    copy: bool = False,
) -> Any:
    """Build the reference taxonomy of a product's cell states from single-cell counts.

    Library-size normalization to ``target_sum`` and ``log1p``; highly variable genes
    (Seurat flavour); the HVGs scaled to unit variance (clipped at ±10) and, when a
    ``batch_key`` is given, ComBat-corrected over that key first; PCA; a kNN graph; Leiden
    clusters; UMAP. The scaling means and SDs and the PCA loadings are kept so that new lots
    can be projected without rebuilding (:func:`~regmed.singlecell.map_lot`).

    Integration is done over a *technical* batch (sequencing run, chemistry), never over lot:
    correcting for lot would remove exactly the lot-specific cell states and composition
    differences that this analysis looks for (a lot rich in one state would be "corrected"
    towards the others). Passing ``batch_key=lot_key`` is refused.

    Parameters
    ----------
    adata : anndata.AnnData
        Cells × genes; raw counts in ``X`` (or log-normalized values with
        ``normalize=False``); ``obs[lot_key]`` names each cell's lot.
    lot_key, batch_key : str
        Lot column, and an optional technical batch column to integrate over.
    resolution : float
        Leiden resolution (higher: more clusters).
    n_top_genes, n_pcs, n_neighbors : int
        HVGs kept, principal components, neighbours of the kNN graph.
    umap : bool
        Compute the UMAP embedding (the slowest step on large data).
    normalize : bool
        Normalize and log-transform ``X`` (it must hold counts); ``False`` takes ``X`` as
        log-normalized already.
    target_sum : float
        Counts per cell after normalization.
    cluster_key, key_added : str
        ``obs`` column of the clusters; ``uns`` key of the parameters.
    rng : int or numpy.random.Generator, optional
        Seed of PCA, neighbours, Leiden and UMAP.
    copy : bool
        Work on (and return) a copy instead of ``adata``.

    Returns
    -------
    anndata.AnnData
        ``adata`` (or its copy), with: ``layers['counts']`` (the raw counts, when
        normalizing), ``X`` log-normalized, ``var['highly_variable', 'ref_mean', 'ref_std',
        'pca_mean']``, ``obsm['X_pca']``, ``varm['PCs']``, ``uns['pca']``, ``uns['neighbors']``
        and ``obsp['distances', 'connectivities']``, ``obs[cluster_key]`` (categorical),
        ``obsm['X_umap']`` (with ``umap=True``), and ``uns[key_added]`` (all parameters).

    Raises
    ------
    DataError
        Missing ``obs`` columns, ``X`` not counts when normalizing, too few cells, or
        ``batch_key`` equal to ``lot_key``.

    References
    ----------
    .. [1] Wolf FA, Angerer P, Theis FJ (2018). SCANPY: large-scale single-cell gene
       expression data analysis. Genome Biol 19:15.
    .. [2] Satija R, et al. (2015). Spatial reconstruction of single-cell gene expression
       data. Nat Biotechnol 33:495-502 (highly variable genes, Seurat flavour).
    .. [3] Johnson WE, Li C, Rabinovic A (2007). Adjusting batch effects in microarray
       expression data using empirical Bayes methods. Biostatistics 8:118-127 (ComBat).
    .. [4] Traag VA, Waltman L, van Eck NJ (2019). From Louvain to Leiden: guaranteeing
       well-connected communities. Sci Rep 9:5233.
    .. [5] McInnes L, Healy J, Melville J (2018). UMAP. arXiv:1802.03426.
    .. [6] Luecken MD, et al. (2022). Benchmarking atlas-level data integration in single-cell
       genomics. Nat Methods 19:41-50 (integration can remove biological variation).

    Examples
    --------
    >>> from regmed.demo.singlecell import simulate_lots
    >>> adata = simulate_lots(n_lots=4, cells_per_lot=100, seed=1).to_anndata()
    >>> ref = build_reference(adata, umap=False, n_pcs=10)
    >>> sorted(ref.uns["reference"]["params"])[:3]
    ['batch_key', 'cluster_key', 'lot_key']
    """
    import scanpy as sc
    from sklearn.decomposition import PCA

    require_obs(adata, [lot_key, batch_key], "build_reference")
    problems = []
    if batch_key is not None and batch_key == lot_key:
        problems.append(Problem(
            "integrating over the lot key would erase the lot-specific cell states this "
            "analysis looks for; give a technical batch (sequencing run, chemistry) instead",
            field="batch_key"))
    if adata.n_obs < max(3 * n_neighbors, 30):
        problems.append(Problem(f"{adata.n_obs} cells; at least {max(3 * n_neighbors, 30)} "
                                "are needed", field="n_obs"))
    if normalize and not is_counts(adata.X):
        problems.append(Problem("X must hold raw counts (non-negative integers); pass "
                                "normalize=False for log-normalized data", field="X"))
    if problems:
        raise DataError("cannot build the reference", problems)
    if copy:
        adata = adata.copy()
    seed = rng_seed(rng)

    if normalize:
        adata.layers["counts"] = adata.X.copy()
        sc.pp.normalize_total(adata, target_sum=target_sum)
        sc.pp.log1p(adata)
    n_hvg = int(min(n_top_genes, adata.n_vars))
    if n_hvg >= adata.n_vars:
        adata.var["highly_variable"] = True
    else:
        sc.pp.highly_variable_genes(adata, n_top_genes=n_hvg, flavor="seurat",
                                    batch_key=batch_key)
    hvg = adata.var["highly_variable"].to_numpy(dtype=bool)

    x = _dense(adata.X[:, hvg])
    if batch_key is not None and adata.obs[batch_key].nunique() > 1:
        import anndata as ad

        tmp = ad.AnnData(X=x, obs=adata.obs[[batch_key]].astype(str).astype("category"))
        sc.pp.combat(tmp, key=batch_key)
        x = np.asarray(tmp.X, dtype=np.float32)
    mean = x.mean(axis=0)
    std = x.std(axis=0, ddof=1)
    std[~(std > 0)] = 1.0
    x -= mean
    x /= std
    np.clip(x, -MAX_VALUE, MAX_VALUE, out=x)

    n_comps = int(min(n_pcs, x.shape[1] - 1, x.shape[0] - 1))
    solver = "covariance_eigh" if x.shape[1] <= 5000 else "randomized"
    pca = PCA(n_components=n_comps, svd_solver=solver, random_state=seed)
    adata.obsm["X_pca"] = pca.fit_transform(x).astype(np.float32)
    del x
    loadings = np.zeros((adata.n_vars, n_comps), dtype=np.float32)
    loadings[hvg] = pca.components_.T
    adata.varm["PCs"] = loadings
    for name, values in (("ref_mean", mean), ("ref_std", std), ("pca_mean", pca.mean_)):
        col = np.full(adata.n_vars, np.nan, dtype=np.float64)
        col[hvg] = values
        adata.var[name] = col
    adata.uns["pca"] = {
        "variance": pca.explained_variance_, "variance_ratio": pca.explained_variance_ratio_,
        "params": {"zero_center": True, "use_highly_variable": True,
                   "mask_var": "highly_variable"},
    }

    sc.pp.neighbors(adata, n_neighbors=n_neighbors, use_rep="X_pca", random_state=seed,
                    transformer=knn_transformer(adata.n_obs, n_neighbors, seed))
    sc.tl.leiden(adata, resolution=resolution, key_added=cluster_key, flavor="igraph",
                 n_iterations=2, directed=False, random_state=seed)
    if umap:
        sc.tl.umap(adata, random_state=seed)
    adata.uns[key_added] = {"params": {
        "lot_key": lot_key, "batch_key": batch_key or "", "cluster_key": cluster_key,
        "resolution": float(resolution), "n_top_genes": n_hvg, "n_pcs": n_comps,
        "n_neighbors": int(n_neighbors), "umap": bool(umap), "normalize": bool(normalize),
        "target_sum": float(target_sum), "max_value": MAX_VALUE, "seed": seed,
        "n_cells": int(adata.n_obs), "n_lots": int(adata.obs[lot_key].nunique()),
    }}
    return adata


def knn_transformer(n_obs: int, n_neighbors: int, seed: int) -> Any:
    """A kNN transformer for ``scanpy.pp.neighbors`` that returns ``csr_matrix``.

    Exact brute-force neighbours below 50,000 cells (no JIT compilation: NN-descent's first
    call compiles for about a minute on two cores), NN-descent with UMAP's settings above.
    The wrapper hands scanpy a ``csr_matrix``: scanpy 1.11 fails on the ``csr_array`` these
    transformers can produce with SciPy 1.16.
    """
    from sklearn.base import BaseEstimator, TransformerMixin

    class _CsrMatrix(TransformerMixin, BaseEstimator):  # type: ignore[misc]
        def __init__(self, inner: Any = None, n_neighbors: int = 15) -> None:
            self.inner = inner
            self.n_neighbors = n_neighbors

        def fit(self, x: Any, y: Any = None) -> _CsrMatrix:
            self.inner.fit(x)
            return self

        def transform(self, x: Any) -> sparse.csr_matrix:
            return sparse.csr_matrix(self.inner.transform(x))

        def fit_transform(self, x: Any, y: Any = None, **kwargs: Any) -> sparse.csr_matrix:
            return sparse.csr_matrix(self.inner.fit_transform(x))

    if n_obs < 50_000:
        from sklearn.neighbors import KNeighborsTransformer

        inner = KNeighborsTransformer(n_neighbors=n_neighbors, algorithm="brute")
    else:
        from pynndescent import PyNNDescentTransformer

        inner = PyNNDescentTransformer(
            n_neighbors=n_neighbors, random_state=seed,
            n_trees=min(64, 5 + round(n_obs**0.5 / 20.0)), n_iters=max(5, round(np.log2(n_obs))))
    return _CsrMatrix(inner, n_neighbors)


def reference_params(reference: Any, key: str = "reference") -> dict[str, Any]:
    """The parameters :func:`build_reference` stored, or :class:`DataError` if absent."""
    uns = reference.uns.get(key) if hasattr(reference, "uns") else None
    if not uns or "params" not in uns or "PCs" not in reference.varm:
        raise DataError(f"the reference has no uns[{key!r}]: build it with build_reference "
                        "first")
    return dict(uns["params"])
