"""The single-cell section of an evaluation: one JSON-ready dict from a :class:`LotAnalysis`."""

from __future__ import annotations

from typing import Any

from regmed.results import to_jsonable
from regmed.singlecell.workflow import LotAnalysis

__all__ = ["singlecell_section"]


def singlecell_section(result: LotAnalysis, *, n_markers: int = 10,
                       n_pseudobulk: int = 20) -> dict[str, Any]:
    """The report's ``singlecell`` section from :func:`~regmed.singlecell.analyze_lots`.

    Parameters
    ----------
    result : LotAnalysis
    n_markers : int
        Marker genes listed per cluster.
    n_pseudobulk : int
        Rows of the pseudobulk gene table kept (best first).

    Returns
    -------
    dict
        ``n_cells``, ``n_genes``, ``n_lots``, ``clusters``; ``composition`` (rows ``lot,
        cluster, n_cells, proportion``); ``deviation`` (rows ``lot, n_cells, distance,
        outlier``, ``threshold``, ``center``); ``association`` (rows ``cluster, estimate,
        p_value, q_value, stable, …``, ``method``, ``covariate``, ``min_detectable_r``,
        ``min_detectable_r_bonferroni``, ``significant``, ``top``, ``lot_values`` — lot →
        covariate); ``markers`` (cluster →
        genes); ``pseudobulk`` (or None); ``options``, ``warnings`` and ``notes`` — all
        JSON-ready (NaN becomes None).

    Examples
    --------
    The lead adds it to the evaluation document as ``doc["singlecell"] =
    singlecell_section(analyze_lots(adata, potency))``.
    """
    assoc = result.association_result
    notes = []
    if assoc.options["n_lots"] < 10:
        notes.append(f"only {assoc.options['n_lots']} lots: correlations below "
                     f"{assoc.min_detectable_r:.2f} cannot be detected with 80% power")
    notes.append("integration, if any, was over a technical batch key, never over lot, so "
                 "that lot-specific cell states are kept")
    pb = None
    if result.pseudobulk is not None:
        pb = {"cluster": result.pseudobulk.options["cluster"],
              "lots": result.pseudobulk.lots,
              "rows": result.pseudobulk.table.head(n_pseudobulk),
              "n_genes_tested": int(len(result.pseudobulk.table)),
              "n_significant": int((result.pseudobulk.table["q_value"] < 0.05).sum()),
              "options": result.pseudobulk.options}
    out = {
        "n_cells": result.n_cells, "n_genes": result.n_genes,
        "n_lots": int(result.composition.counts.shape[0]),
        "clusters": list(map(str, result.composition.counts.columns)),
        "composition": result.composition.table,
        "deviation": {"rows": result.deviation.table, "threshold": result.deviation.threshold,
                      "center": result.deviation.center, "options": result.deviation.options,
                      "outliers": result.deviation.outliers},
        "association": {"rows": assoc.table, "method": assoc.options["method"],
                        "covariate": assoc.options["covariate"],
                        "min_detectable_r": assoc.min_detectable_r,
                        "min_detectable_r_bonferroni": assoc.min_detectable_r_bonferroni,
                        "significant": assoc.significant(), "top": assoc.top,
                        "options": assoc.options,
                        "lot_values": {str(k): float(v) for k, v in
                                       assoc.values[assoc.options["covariate"]].items()}},
        "markers": {c: genes[:n_markers] for c, genes in result.markers.items()},
        "pseudobulk": pb,
        "options": result.options, "warnings": result.warnings, "notes": notes,
    }
    return to_jsonable(out)
