"""The whole chain in one call: reference, composition, association, markers, figures."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from regmed.errors import DataError
from regmed.results import Result
from regmed.singlecell._common import lot_covariate, require_obs, rng_seed
from regmed.singlecell.association import CompositionAssociation, associate_composition
from regmed.singlecell.composition import (
    Composition,
    Deviation,
    composition_deviation,
    lot_composition,
)
from regmed.singlecell.figures import association_figure, composition_figure, umap_figure
from regmed.singlecell.markers import (
    PseudobulkAssociation,
    markers,
    pseudobulk_association,
)
from regmed.singlecell.reference import build_reference

__all__ = ["LotAnalysis", "analyze_lots"]


@dataclasses.dataclass(frozen=True)
class LotAnalysis(Result):
    """Result of :func:`analyze_lots`.

    Attributes
    ----------
    composition : Composition
    deviation : Deviation
    association : pandas.DataFrame
        ``cluster, estimate, p_value, q_value, stable`` and more (see
        :class:`CompositionAssociation`); the full result is :attr:`association_result`.
    markers : dict
        Cluster → ranked marker genes.
    marker_table : pandas.DataFrame
    pseudobulk : PseudobulkAssociation or None
        Genes within the top associated cluster against the covariate (None when too few
        lots have enough of its cells; the reason is in ``warnings``).
    association_result : CompositionAssociation
    n_cells, n_genes : int
    warnings : list of str
    options : dict
    figures : dict
        ``umap_cluster``, ``umap_lot`` (with UMAP), ``composition``, ``association`` —
        :class:`matplotlib.figure.Figure` objects, not serialized.
    adata : anndata.AnnData
        The annotated data — not serialized.
    """

    composition: Composition
    deviation: Deviation
    association: pd.DataFrame
    markers: dict[str, list[str]]
    marker_table: pd.DataFrame
    pseudobulk: PseudobulkAssociation | None
    association_result: CompositionAssociation
    n_cells: int
    n_genes: int
    warnings: list[str]
    options: dict[str, Any]
    figures: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False,
                                                compare=False)
    adata: Any = dataclasses.field(default=None, repr=False, compare=False)

    def summary(self) -> str:
        parts = [f"{self.n_cells:,} cells, {self.composition.counts.shape[0]} lots, "
                 f"{self.composition.counts.shape[1]} clusters",
                 self.association_result.summary(), self.deviation.summary()]
        if self.pseudobulk is not None:
            parts.append(self.pseudobulk.summary())
        return "\n\n".join(parts)


def analyze_lots(
    adata: Any,
    potency: pd.Series,
    *,
    lot_key: str = "lot",
    batch_key: str | None = None,
    resolution: float = 1.0,
    method: str = "clr",
    n_permutations: int = 9999,
    n_marker_genes: int = 25,
    umap: bool = True,
    normalize: bool = True,
    n_pcs: int = 30,
    rng: int | np.random.Generator | None = 0,
    copy: bool = False,
) -> LotAnalysis:
    """Run the whole single-cell chain for lots with a lot-level covariate.

    :func:`build_reference` → :func:`lot_composition` → :func:`composition_deviation` →
    :func:`associate_composition` → :func:`markers` → :func:`pseudobulk_association` within
    the top associated cluster → figures. The covariate is checked against the lots before
    any computation, so a lot without potency fails at once.

    Parameters
    ----------
    adata : anndata.AnnData
        Raw counts in ``X`` (or log-normalized with ``normalize=False``), ``obs[lot_key]``.
    potency : pandas.Series
        Lot-level covariate (potency, clinical response rate) indexed by lot.
    lot_key, batch_key, resolution, umap, normalize, n_pcs
        Passed to :func:`build_reference`.
    method, n_permutations
        Passed to :func:`associate_composition`.
    n_marker_genes : int
        Length of each cluster's marker list.
    rng : int or numpy.random.Generator, optional
    copy : bool
        Annotate a copy of ``adata``.

    Returns
    -------
    LotAnalysis

    References
    ----------
    See the functions called; the design follows Miura et al. (2023), Stem Cells Transl Med
    12:379-390 (cluster shares of MSC lots against VEGF secretion).
    """
    require_obs(adata, [lot_key, batch_key], "analyze_lots")
    potency = potency if isinstance(potency, pd.Series) else pd.Series(potency)
    name = str(potency.name or "potency")
    lots = sorted(map(str, adata.obs[lot_key].astype(str).unique()))
    lot_covariate(potency, lots, name=name)
    if len(lots) < 4:
        raise DataError(f"analyze_lots: {len(lots)} lots; at least 4 are needed")
    potency = potency.rename(name)
    seed = rng_seed(rng)
    ad = build_reference(adata, lot_key=lot_key, batch_key=batch_key, resolution=resolution,
                         umap=umap, normalize=normalize, n_pcs=n_pcs, rng=seed, copy=copy)
    comp = lot_composition(ad, lot_key=lot_key)
    dev = composition_deviation(comp)
    assoc = associate_composition(ad, potency, lot_key=lot_key, method=method,
                                  n_permutations=n_permutations, rng=seed)
    mk = markers(ad, n_genes=n_marker_genes)
    warnings = list(assoc.warnings)
    pb = None
    try:
        pb = pseudobulk_association(ad, potency, assoc.top, lot_key=lot_key,
                                    layer="counts" if normalize else None)
        warnings += pb.warnings
    except DataError as err:
        warnings.append(f"pseudobulk test within cluster {assoc.top} not run: {err}")
    figures: dict[str, Any] = {}
    if umap:
        figures["umap_cluster"] = umap_figure(ad, "leiden", title="UMAP by cluster")
        figures["umap_lot"] = umap_figure(ad, lot_key, title="UMAP by lot")
    figures["composition"] = composition_figure(comp, potency)
    figures["association"] = association_figure(assoc)
    options = {"lot_key": lot_key, "batch_key": batch_key, "resolution": float(resolution),
               "method": method, "n_permutations": int(n_permutations),
               "n_marker_genes": int(n_marker_genes), "umap": bool(umap),
               "normalize": bool(normalize), "n_pcs": int(n_pcs), "seed": seed,
               "covariate": name}
    return LotAnalysis(
        composition=comp, deviation=dev, association=assoc.table, markers=mk.lists,
        marker_table=mk.table, pseudobulk=pb, association_result=assoc,
        n_cells=int(ad.n_obs), n_genes=int(ad.n_vars), warnings=warnings, options=options,
        figures=figures, adata=ad)
