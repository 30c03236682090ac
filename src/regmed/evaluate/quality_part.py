"""The evaluation document's ``quality`` section, driven by the plan's quality analyses.

The plan's ``quality_efficacy_analyses`` name the endpoint, the pre-specified attributes, the
scale (``log`` for multiplicative assays such as potency), the adjustment covariates and the
responder strata; every numeric attribute of the registry enters the CQA screen (new CQAs),
with Benjamini-Hochberg q-values across all of them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from regmed.errors import RegmedError
from regmed.evaluate.quality_table import response_by_tertile
from regmed.plan import Plan
from regmed.quality import quality_section
from regmed.results import to_jsonable
from regmed.studydata import StudyData

__all__ = ["quality_entry", "quality_document", "quality_options", "variance_rows",
           "TERTILE_NOTE"]

TERTILE_NOTE = ("Response of treated patients by tertile of the lot's quality attribute "
                "(Wilson 95% intervals); descriptive only.")


def quality_options(plan: Plan | None, patients: pd.DataFrame) -> dict[str, Any]:
    """The options of :func:`regmed.quality.quality_section` that a plan fixes.

    ``endpoint`` is the endpoint of the first quality analysis that names one, else the first
    primary endpoint; ``log``, ``adjust`` and ``strata_by`` are the unions over the
    analyses (columns missing from ``patients`` are dropped, each with a note); ``potency`` is
    the first planned attribute whose code contains ``potency`` (else any such attribute in
    the data); ``planned`` lists the analyses as the plan states them.
    """
    analyses = list(plan.quality_efficacy_analyses) if plan is not None else []
    endpoint, kind = None, "binary"
    if plan is not None:
        named = [q.endpoint for q in analyses if q.endpoint]
        ep = plan.endpoint(named[0]) if named else None
        ep = ep or (plan.primary_endpoints[0] if plan.primary_endpoints else None)
        if ep is not None:
            endpoint, kind = ep.id, ep.kind
    notes: list[str] = []

    def present(cols: list[str], what: str) -> list[str]:
        out = [c for c in dict.fromkeys(cols) if c in patients.columns]
        for c in dict.fromkeys(cols):
            if c not in patients.columns:
                notes.append(f"{what} column {c!r} is not in the study data; left out")
        return out

    planned_attrs = [q.attribute for q in analyses if q.attribute]
    q_cols = [c[2:] for c in patients.columns if c.startswith("q_")]
    potency = next((a for a in planned_attrs + q_cols if "potency" in a), None)
    return {
        "endpoint": endpoint, "kind": kind, "potency": potency,
        "log": list(dict.fromkeys(q.attribute for q in analyses
                                  if q.attribute and q.scale == "log")),
        "adjust": present([c for q in analyses for c in q.adjust], "adjustment"),
        "strata_by": present([c for q in analyses for c in q.strata], "stratum"),
        "planned": [{"id": q.id, "attribute": q.attribute, "endpoint": q.endpoint,
                     "scale": q.scale, "purpose": list(q.purpose)} for q in analyses],
        "notes": notes,
    }


def variance_rows(components: dict[str, Any]) -> list[dict[str, Any]]:
    """Flatten ``{attribute: VarianceComponents.to_dict()}`` to one row per component."""
    rows = []
    for attribute, vc in components.items():
        for c in vc.get("components", []):
            rows.append({"attribute": attribute, "component": c["component"],
                         "variance": c.get("variance"), "sd": c.get("sd"),
                         "share": c.get("share"), "n_lots": vc.get("n_lots"),
                         "n_donors": vc.get("n_donors")})
    return rows


def quality_entry(plan: Plan | None, data: StudyData) -> dict[str, Any]:
    """The ``quality`` section of the evaluation document.

    Parameters
    ----------
    plan : regmed.plan.Plan or None
        Its ``quality_efficacy_analyses`` drive the options (see :func:`quality_options`).
    data : StudyData
        Patients and the lot-level tables (``data.quality``).

    Returns
    -------
    dict
        ``tables`` (response by tertile, descriptive) and ``note``; with lot data also the
        full section of :func:`regmed.quality.quality_section` (``specifications``,
        ``flagged_patients``, ``cqa``, ``potency``, ``responder_strata``,
        ``variance_components`` as rows, ``control_charts``, ``comparability``,
        ``lot_series``), ``planned``, ``notes`` and ``warnings``.

    References
    ----------
    See :func:`regmed.quality.quality_section` and the functions it calls.
    """
    patients = data.patients
    treated = patients[patients["cohort"] == "treated"]
    opts = quality_options(plan, patients)
    endpoint, kind = opts["endpoint"], opts["kind"]
    entry: dict[str, Any] = {"tables": [], "note": TERTILE_NOTE, "planned": opts["planned"],
                             "notes": list(opts["notes"]), "warnings": []}
    if endpoint is not None and kind == "binary" and endpoint in treated:
        attrs = [q["attribute"] for q in opts["planned"] if q["attribute"]]
        entry["tables"] = response_by_tertile(treated, endpoint, attrs)
    tables = data.quality
    needed = ("quality_attributes", "lot_results")
    if any(t not in tables for t in needed):
        entry["notes"].append("no lot quality data in the registry; quality analyses skipped")
        return to_jsonable(entry)
    if endpoint is None:
        entry["notes"].append("no plan endpoint: lot-level analyses only (no CQA screen)")
    try:
        section = quality_section(
            treated, tables["lot_results"], tables["quality_attributes"], endpoint,
            kind=kind, lots=tables.get("lots"), administrations=tables.get("administrations"),
            adjust=opts["adjust"], log=[a for a in opts["log"] if a in _numeric(tables)],
            potency=opts["potency"], strata_by=opts["strata_by"], site_key="site_code",
            lot_key="lot_code")
    except RegmedError as err:
        entry["notes"].append(f"quality analyses not computed: {err}")
        return to_jsonable(entry)
    planned = {q["attribute"] for q in opts["planned"]}
    for row in section.get("cqa", {}).get("estimates", []):
        row["planned"] = row["attribute"] in planned
    section["variance_components"] = variance_rows(section.get("variance_components", {}))
    entry["notes"] += section.pop("notes")
    entry["warnings"] += section.pop("warnings")
    entry.update(section)
    if endpoint is not None:
        entry["endpoint"] = endpoint
    return to_jsonable(entry)


def quality_document(plan: Plan | None, data: StudyData, *,
                     plan_info: dict[str, Any] | None = None) -> dict[str, Any]:
    """A standalone quality document (``regmed quality report``): ``meta`` and ``quality``.

    ``meta`` holds ``created_at, regmed_version, data_hash, product`` and the plan's
    ``name, version, sha256`` when one was given (see
    :func:`regmed.document.quality.validate_quality_document`).
    """
    from regmed import __version__

    product = plan.product.name if plan is not None else ""
    tables = data.quality
    if not product and "lots" in tables and "product_code" in tables["lots"]:
        product = ", ".join(sorted(tables["lots"]["product_code"].astype(str).unique()))
    meta = {"created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "regmed_version": __version__, "data_hash": data.data_hash, "product": product,
            "plan": {"name": "", "version": "", "sha256": "", **(plan_info or {})}
            if plan is not None else None}
    return to_jsonable({"meta": meta, "quality": quality_entry(plan, data)})


def _numeric(tables: dict[str, pd.DataFrame]) -> set[str]:
    res = tables["lot_results"]
    ok = pd.to_numeric(res["value"], errors="coerce").notna()
    return set(res.loc[ok, "attribute_code"].astype(str))
