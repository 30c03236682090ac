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

__all__ = ["quality_section", "lot_series", "flagged_patients"]


def quality_section(
    study_patients: pd.DataFrame,
    lot_results: pd.DataFrame,
    attributes: pd.DataFrame,
    outcome: str | None,
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
        Endpoint column and its kind for :func:`~regmed.quality.associate`; with
        ``outcome=None`` only the lot-level parts are computed (specifications, variance
        components, control charts, potency, comparability).
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
    require_columns(lot_results, [lot_key, "attribute_code", "value"], "lot_results")
    all_codes = [str(c) for c in attributes["attribute_code"]]
    numeric = pd.to_numeric(lot_results["value"], errors="coerce")
    has_number = set(lot_results.loc[numeric.notna(), "attribute_code"].astype(str))
    codes = [c for c in all_codes if c in has_number]
    notes: list[str] = []
    warnings: list[str] = []
    out: dict[str, Any] = {"attributes": codes, "outcome": outcome, "kind": kind}
    if len(codes) < len(all_codes):
        out["category_attributes"] = [c for c in all_codes if c not in has_number]
    num_results = lot_results[numeric.notna()].assign(value=numeric[numeric.notna()])

    with_status = lots if lots is not None and "status" in lots.columns else None
    specs = check_specs(lot_results, attributes, lots=with_status,
                        administrations=administrations)
    out["specifications"] = {
        "oos_lots": specs.oos_lots,
        "oos_results": to_jsonable(specs.results[specs.results["oos"]]),
        "n_lots": int(len(specs.lots)), "exposures": to_jsonable(specs.exposures),
    }
    warnings += specs.warnings
    out["lot_series"] = lot_series(specs.results, lots, lot_key)

    treated = study_patients[study_patients[lot_key].notna()] if lot_key in study_patients \
        else study_patients.iloc[0:0]
    site = site_key if site_key and site_key in treated.columns else None
    out["flagged_patients"] = flagged_patients(treated, specs, outcome, lot_key)
    lot_results = num_results
    try:
        if outcome is None:
            raise DataError("no outcome was given (no plan)")
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

    if strata_by and kind == "binary" and outcome is not None:
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


def lot_series(results: pd.DataFrame, lots: pd.DataFrame | None,
               lot_key: str = "lot_code") -> list[dict[str, Any]]:
    """Per result: ``attribute, lot, manufactured_on, process_version, value, value_text,
    lower, upper, oos`` — the data of the attribute-over-manufacturing-time figure, in time order.

    ``results`` is :attr:`SpecCheck.results`; ``lots`` the registry's ``lots`` table.
    """
    frame = results[["attribute", "lot", "value", "value_text", "lower", "upper", "oos"]].copy()
    frame["manufactured_on"] = None
    frame["process_version"] = None
    if lots is not None and lot_key in lots:
        info = lots.assign(**{lot_key: lots[lot_key].astype(str)}).drop_duplicates(
            lot_key).set_index(lot_key)
        for col in ("manufactured_on", "process_version"):
            if col in info:
                frame[col] = frame["lot"].map(info[col].astype(str))
    frame = frame.sort_values(["attribute", "manufactured_on", "lot"], na_position="last",
                              kind="stable")
    cols = ["attribute", "lot", "manufactured_on", "process_version", "value", "value_text",
            "lower", "upper", "oos"]
    return list(to_jsonable(frame[cols]))


def flagged_patients(treated: pd.DataFrame, specs: Any, outcome: str | None,
                     lot_key: str = "lot_code") -> list[dict[str, Any]]:
    """Patients treated with an OOS lot: ``patient_id, lot, failed, oos_request_documented,
    outcome`` (the request is looked up by ``site_code:patient_ref`` in the exposures)."""
    if lot_key not in treated or not specs.oos_lots:
        return []
    rows = treated[treated[lot_key].astype(str).isin(specs.oos_lots)]
    failed = specs.lots.set_index("lot")["failed"]
    exp = specs.exposures
    documented: dict[str, bool] = {}
    if len(exp):
        keys = exp["site_code"].astype(str) + ":" + exp["patient_ref"].astype(str)
        documented = dict(zip(keys, exp["oos_request_documented"].astype(bool), strict=True))
    out = []
    for pid, row in rows.iterrows():
        lot = str(row[lot_key])
        value = row[outcome] if outcome is not None and outcome in rows else None
        out.append({"patient_id": str(pid), "lot": lot, "failed": str(failed.get(lot, "")),
                    "oos_request_documented": documented.get(str(pid)),
                    "outcome": None if value is None or pd.isna(value) else float(value)})
    return out
