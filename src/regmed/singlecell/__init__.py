"""regmed.singlecell — heterogeneity of lots from single-cell RNA-seq (scanpy conventions).

A reference taxonomy of the product's cell states (:func:`build_reference`), each lot's
composition and its distance from the reference (:func:`lot_composition`,
:func:`composition_deviation`), the link between composition and a lot-level covariate such
as potency (:func:`associate_composition`), marker genes (:func:`markers`,
:func:`pseudobulk_association`), mapping of new lots without rebuilding
(:func:`map_lot`), and the whole chain (:func:`analyze_lots`).

Functions take an :class:`anndata.AnnData`, write their results to ``.obs``/``.uns[key_added]``
with their parameters, take ``rng`` for anything random and return frozen results.
scanpy is imported inside the functions that need it, so importing this package is cheap.

Examples
--------
>>> import regmed.singlecell as rs
>>> from regmed.demo.singlecell import simulate_lots
>>> sim = simulate_lots(n_lots=6, cells_per_lot=150, seed=2)
>>> res = rs.analyze_lots(sim.to_anndata(), sim.potency, umap=False, n_permutations=199)
>>> res.association.columns[:5].tolist()
['cluster', 'estimate', 'p_value', 'q_value', 'stable']
"""

from __future__ import annotations

from regmed.singlecell.association import (
    CompositionAssociation,
    associate_composition,
    min_detectable_r,
)
from regmed.singlecell.composition import (
    Composition,
    Deviation,
    composition_deviation,
    lot_composition,
)
from regmed.singlecell.mapping import LotMapping, map_lot
from regmed.singlecell.markers import (
    Markers,
    PseudobulkAssociation,
    markers,
    pseudobulk_association,
)
from regmed.singlecell.reference import build_reference
from regmed.singlecell.section import singlecell_section
from regmed.singlecell.workflow import LotAnalysis, analyze_lots

__all__ = [
    "build_reference",
    "lot_composition",
    "composition_deviation",
    "associate_composition",
    "min_detectable_r",
    "markers",
    "pseudobulk_association",
    "map_lot",
    "analyze_lots",
    "singlecell_section",
    "Composition",
    "Deviation",
    "CompositionAssociation",
    "Markers",
    "PseudobulkAssociation",
    "LotMapping",
    "LotAnalysis",
]
