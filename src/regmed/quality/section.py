"""The quality section of an evaluation: one JSON-ready dict from the analysis functions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from regmed.errors import DataError
from regmed.quality._common import require_columns
from regmed.quality.association import associate
from regmed.quality.comparability import compare_lots
from regmed.quality.control import control_chart
from regmed.quality.potency import associate_potency, responder_strata
from regmed.quality.specs import check_specs
from regmed.quality.variability import variance_components
from regmed.results import to_jsonable

__all__ = ["quality_section"]


def quality_section(
    study_patients: pd.DataFrame,
    lot_results: pd.DataFrame,
    attributes: pd.DataFrame,
    outcome: str,
    *,
    kind: str = "binary",
    lots: pd.DataFrame | None = None,
    administrations: pd.DataFrame | None = None,
    adjust: Sequence[str] = (),
    cluster: str | None = "lot",
    log: Sequence[str] = (),
    potency: str | None = None,
    strata_by: Sequence[str] = (),
    site_key: str | None = "site_code",
    lot_key: str = "lot_code",
) -> dict[str, Any]:
    """Run the quality analyses for the evaluation document's ``quality`` section.

    Each part is computed when its inputs allow; a part that cannot be computed is left out
    and the reason is listed under ``notes`` (the section never fails on data that only
    limit it; missing required columns still raise :class:`DataError`).

    Parameters
    ----------
    study_patients : pandas.DataFrame
        Patients (e.g. ``StudyData.patients``); those with a ``lot_key`` are analysed.
    lot_results, attributes : pandas.DataFrame
        The registry's ``lot_results`` and ``quality_attributes`` tables.
    outcome, kind : str
        Endpoint column and its kind for :func:`~regmed.quality.associate`.
    lots : pandas.DataFrame, optional
        The ``lots`` table (``donor_code``, ``manufactured_on``, ``process_version``,
        ``status``): enables variance components, control charts and comparability of the
        first against the last process version.
    administrations : pandas.DataFrame, optional
        Flags administrations of OOS lots without a documented request.
    adjust, cluster, log, site_key, lot_key
        Passed to :func:`~regmed.quality.associate`.
    potency : str, optional
        Potency attribute code for :func:`~regmed.quality.associate_potency`.
    strata_by : sequence of str
        Patient columns for :func:`~regmed.quality.responder_strata` (binary outcomes).

    Returns
    -------
    dict
        ``specifications`` (OOS results, lots, exposures), ``cqa`` (estimates rows and
        options), ``potency``, ``variance_components`` (per attribute), ``control_charts``
        (per attribute: limits and signals), ``comparability``, ``responder_strata``,
        ``notes`` and ``warnings`` — all JSON-ready.

    References
    ----------
    See the functions called: :func:`check_specs`, :func:`associate`,
    :func:`associate_potency`, :func:`variance_components`, :func:`control_chart`,
    :func:`compare_lots`, :func:`responder_strata`.
    """
    require_columns(attributes, ["attribute_code"], "quality_attributes")
    codes = [str(c) for c in attributes["attribute_code"]]
    notes: list[str] = []
    warnings: list[str] = []
    out: dict[str, Any] = {"attributes": codes, "outcome": outcome, "kind": kind}

    with_status = lots if lots is not None and "status" in lots.columns else None
    specs = check_specs(lot_results, attributes, lots=with_status,
                        administrations=administrations)
    out["specifications"] = {
        "oos_lots": specs.oos_lots,
        "oos_results": to_jsonable(specs.results[specs.results["oos"]]),
        "n_lots": int(len(specs.lots)), "exposures": to_jsonable(specs.exposures),
    }
    warnings += specs.warnings

    treated = study_patients[study_patients[lot_key].notna()] if lot_key in study_patients \
        else study_patients.iloc[0:0]
    site = site_key if site_key and site_key in treated.columns else None
    try:
        cqa = associate(treated, lot_results, outcome, codes, kind=kind, lot_key=lot_key,
                        adjust=adjust, cluster=cluster, log=log, site_key=site)
        out["cqa"] = {"estimates": to_jsonable(cqa.estimates), "options": cqa.options}
        warnings += cqa.warnings
    except DataError as err:
        notes.append(f"CQA association not computed: {err}")

    if potency is not None:
        try:
            pot = associate_potency(lot_results, codes, potency, lot_key=lot_key)
            out["potency"] = pot.to_dict()
        except DataError as err:
            notes.append(f"attribute → potency not computed: {err}")

    if strata_by and kind == "binary":
        try:
            out["responder_strata"] = responder_strata(treated, outcome, strata_by).to_dict()
        except DataError as err:
            notes.append(f"responder strata not computed: {err}")

    if lots is not None:
        require_columns(lots, [lot_key], "lots")
        merged = lot_results.merge(lots, on=lot_key, how="left", suffixes=("", "_lot"))
        vcs, charts, no_vc = {}, {}, []
        for code in codes:
            rows = merged[merged["attribute_code"] == code]
            if "donor_code" in rows:
                try:
                    vcs[code] = variance_components(rows, conf_level=None).to_dict()
                except DataError:
                    no_vc.append(code)
            if "manufactured_on" in rows and len(rows) >= 2:
                ch = control_chart(rows["value"], rows["manufactured_on"])
                charts[code] = {"center": ch.center, "lcl": ch.lcl, "ucl": ch.ucl,
                                "mr_bar": ch.mr_bar, "signals": to_jsonable(ch.signals)}
        if no_vc:
            notes.append("variance components not identifiable (one lot per donor and one "
                          f"result per lot) for: {', '.join(no_vc)}")
        out["variance_components"] = vcs
        out["control_charts"] = charts
        if "process_version" in lots:
            versions = (lots.sort_values("manufactured_on") if "manufactured_on" in lots
                        else lots)["process_version"].drop_duplicates().tolist()
            if len(versions) >= 2:
                ver = lots.set_index(lot_key)["process_version"]
                v = lot_results[lot_key].map(ver)
                try:
                    cmp = compare_lots(lot_results[v == versions[0]],
                                       lot_results[v == versions[-1]], codes)
                    out["comparability"] = {"reference": versions[0],
                                            "candidate": versions[-1], **cmp.to_dict()}
                    warnings += cmp.warnings
                except DataError as err:
                    notes.append(f"comparability not computed: {err}")
    out["notes"] = notes
    out["warnings"] = warnings
    return to_jsonable(out)
