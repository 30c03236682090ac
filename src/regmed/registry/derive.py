"""Derive analysis-ready study data from registry tables and an evaluation plan.

Pure pandas on the frames of the import/export column dictionary (``dictionary.yaml``), so the
same derivation serves the registry (``extract``) and any set of exported tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from regmed.errors import DataError, Problem
from regmed.registry.adjudicated import final_verdicts, plan_reviewers
from regmed.studydata import StudyData, frame_hash

__all__ = ["build_study_data", "AIS_ORDER"]

#: ASIA Impairment Scale grades in order of function (A = complete injury).
AIS_ORDER = {"A": 0, "B": 1, "C": 2, "D": 3, "E": 4}

_ROLE_FOR_ASSESSOR = {
    "blinded_central": ["blinded_central"],
    "blinded_independent": ["blinded_independent", "blinded_central"],
    "treating_physician": ["treating_physician", "blinded_independent", "blinded_central"],
}


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if obj is None:
        return default
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _key(frame: pd.DataFrame) -> pd.Series:
    """``site_code:pseudonym`` of each row (given as ``patient_id`` by the bulk reader)."""
    if "patient_id" in frame:
        return frame["patient_id"]
    return frame["site_code"].astype(str) + ":" + frame["patient_ref"].astype(str)


def _by_key(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in the order of their (unique, text) patient ids, as ``sort_index`` gives them,
    sorted as fixed-width text (code points) rather than one Python comparison at a time."""
    keys = np.asarray(frame.index.to_numpy(), dtype=str)
    return frame.iloc[np.argsort(keys, kind="stable")]


def _attach(frame: pd.DataFrame, other: pd.DataFrame) -> pd.DataFrame:
    """``frame.join(other)`` for columns on the same patients (no lookup of each id)."""
    if other.index.equals(frame.index) and not set(other.columns) & set(frame.columns):
        return pd.concat([frame, other], axis=1)
    return frame.join(other)


def _dates(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, errors="coerce")


def _attrition_row(step: str, cohort: str, before: int, after: int, reason: str) -> dict[str, Any]:
    return {
        "step": step,
        "cohort": cohort,
        "n_before": int(before),
        "n_after": int(after),
        "n_excluded": int(before - after),
        "reason": reason,
    }


def _baseline_wide(baseline: pd.DataFrame | None, ids: pd.Index,
                   wide: pd.DataFrame | None = None) -> pd.DataFrame:
    """One column per baseline variable (sorted), numbers when any value of it is a number;
    ``wide`` is that pivot already made (one row per patient, by ``patient_id``)."""
    if wide is not None:
        return wide.reindex(ids)
    if baseline is None or baseline.empty:
        return pd.DataFrame(index=ids)
    b = baseline.copy()
    b["patient_id"] = _key(b)
    out = pd.DataFrame(index=ids)
    for variable, rows in b.groupby("variable", sort=True):
        rows = rows.drop_duplicates("patient_id", keep="last").set_index("patient_id")
        numeric = pd.to_numeric(rows.get("value"), errors="coerce")
        if numeric.notna().any():
            out[str(variable)] = numeric.reindex(ids)
        else:
            out[str(variable)] = rows["value_text"].reindex(ids)
    return out


def _lots_wide(tables: Mapping[str, pd.DataFrame], ids: pd.Index) -> pd.DataFrame:
    adm = tables.get("administrations")
    out = pd.DataFrame(index=ids)
    if adm is None or adm.empty:
        out["lot_code"] = pd.Series(pd.NA, index=ids, dtype="object")
        out["oos"] = False
        return out
    a = adm.copy()
    a["patient_id"] = _key(a)
    a["administered_on"] = _dates(a["administered_on"])
    first = a.sort_values("administered_on").drop_duplicates("patient_id").set_index("patient_id")
    out["lot_code"] = first["lot_code"].reindex(ids)
    out["administered_on"] = first["administered_on"].reindex(ids)
    lots = tables.get("lots")
    if lots is not None and not lots.empty:
        status = lots.set_index("lot_code")["status"]
        out["oos"] = out["lot_code"].map(status).eq("released_oos")
        process = lots.set_index("lot_code")["process_version"]
        out["process_version"] = out["lot_code"].map(process)
    else:
        out["oos"] = False
    results = tables.get("lot_results")
    if results is not None and not results.empty:
        wide = results.pivot_table(
            index="lot_code", columns="attribute_code", values="value", aggfunc="last"
        )
        for attribute in wide.columns:
            out[f"q_{attribute}"] = out["lot_code"].map(wide[attribute]).astype(float)
    return out


def _pick(assess: pd.DataFrame, visit: Any, roles: list[str]) -> pd.DataFrame:
    """The assessment per patient nearest the visit's target day within its window.

    Per patient: in the window first, then the earlier role in ``roles``, then the nearer
    day, then the earlier row (one stable sort over integer keys, not the patients' names)."""
    day, window = float(_get(visit, "day")), float(_get(visit, "window", 0) or 0)
    rows = assess[assess["assessor_role"].isin(roles).to_numpy()]
    distance = np.abs(rows["study_day"].to_numpy(dtype=float) - day)
    with np.errstate(invalid="ignore"):
        in_window = distance <= window
    name = _get(visit, "name")
    if name is not None:
        keep = (rows["visit"].astype(str) == str(name)).to_numpy() | in_window
        rows, distance, in_window = rows[keep], distance[keep], in_window[keep]
    rank = rows["assessor_role"].map({r: i for i, r in enumerate(roles)}).to_numpy(dtype=float)
    order = np.lexsort((distance, rank, ~in_window, rows["_pcode"].to_numpy()))
    code = rows["_pcode"].to_numpy()[order]
    first = order[np.r_[True, code[1:] != code[:-1]]] if len(order) else order
    out = rows.iloc[first].assign(distance=distance[first], in_window=in_window[first],
                                  role_rank=rank[first])
    return out.set_index("patient_id")


def _derive_endpoint(
    endpoint: Any,
    patients: pd.DataFrame,
    assess: pd.DataFrame,
    follow: pd.DataFrame,
) -> pd.DataFrame:
    """Return columns ``<id>`` (or ``<id>_time``/``<id>_event``) and ``<id>_status``."""
    eid = str(_get(endpoint, "id"))
    m = _get(endpoint, "measurement")
    derivation = str(_get(m, "derivation", "value"))
    ids = patients.index
    out = pd.DataFrame(index=ids)
    if derivation == "time_to_death":
        death = _dates(follow["death_on"]).reindex(ids)
        last = _dates(follow["last_contact_on"]).reindex(ids)
        end = death.fillna(last)
        out[f"{eid}_time"] = (end - patients["index_on"]).dt.days.astype(float)
        out[f"{eid}_event"] = death.notna().astype(float).where(end.notna())
        out[f"{eid}_status"] = np.where(end.notna(), "observed", "missing")
        return out
    roles = _get(m, "assessor_roles") or _ROLE_FOR_ASSESSOR.get(
        str(_get(endpoint, "assessor", "blinded_central")), ["blinded_central"]
    )
    roles = [str(r) for r in roles]
    variable = str(_get(m, "variable", eid))
    rows = assess[assess["endpoint"].astype(str) == variable]
    outcome = _pick(rows, _get(m, "outcome_visit"), roles).reindex(ids)
    base_visit = _get(m, "baseline_visit")
    base = _pick(rows, base_visit, roles).reindex(ids) if base_visit is not None else None

    status = pd.Series("observed", index=ids, dtype=object)
    have_out = outcome["value_num"].notna() | outcome["value_text"].notna()
    status[~have_out] = "missing"
    status[have_out & ~outcome["in_window"].eq(True)] = "out_of_window"
    if base is not None:
        have_base = (base["value_num"].notna() | base["value_text"].notna()) & base[
            "in_window"
        ].eq(True)
        status[~have_base] = "no_baseline"
    death = _dates(follow["death_on"]).reindex(ids) if follow is not None else None
    target = float(_get(_get(m, "outcome_visit"), "day", 0) or 0)
    if death is not None:
        died = death.notna() & ((death - patients["index_on"]).dt.days <= target)
        status[died & (status != "observed")] = "died"

    if derivation in {"ais_improvement", "change", "change_at_least"} and base is None:
        raise DataError(
            f"endpoint {eid} cannot be derived",
            [Problem(f"derivation {derivation} needs a baseline_visit",
                     field=f"endpoints[{eid}].measurement.baseline_visit")],
        )
    assert base is not None or derivation not in {"ais_improvement", "change", "change_at_least"}
    if derivation == "ais_improvement" and base is not None:
        b = base["value_text"].map(AIS_ORDER)
        o = outcome["value_text"].map(AIS_ORDER)
        gain = o - b
        value = np.where(b == 0, gain >= 2, gain >= 1).astype(float)
        value = pd.Series(value, index=ids).where(gain.notna())
        status[(b >= 3) & (status == "observed")] = "ineligible"
        # death before the outcome visit counts as no improvement (composite failure)
        value[status == "died"] = 0.0
    elif derivation in {"change", "change_at_least"} and base is not None:
        gain = outcome["value_num"] - base["value_num"]
        if derivation == "change":
            value = gain
        else:
            value = (gain >= float(_get(m, "threshold"))).astype(float).where(gain.notna())
            value[status == "died"] = 0.0
    else:
        value = outcome["value_num"]
    value = value.where(status.isin(["observed", "died"]))
    out[eid] = value.astype(float)
    out[f"{eid}_blinded"] = outcome["blinded"].where(status == "observed")
    out[f"{eid}_status"] = status
    return out


def _assessments(tables: Mapping[str, pd.DataFrame], patients: pd.DataFrame) -> pd.DataFrame:
    assess = tables.get("assessments")
    cols = ["patient_id", "endpoint", "visit", "study_day", "value_num", "value_text",
            "assessor_role", "blinded"]
    if assess is None or assess.empty:
        return pd.DataFrame(columns=[*cols, "_pcode"])
    a = assess.copy()
    a["patient_id"] = _key(a)
    a["value_num"] = pd.to_numeric(a.get("value"), errors="coerce")
    a["value_text"] = a.get("value_text", pd.Series(pd.NA, index=a.index))
    adj = tables.get("adjudications")
    if adj is not None and not adj.empty and "consensus" in adj:
        final = adj[adj["consensus"].astype("boolean").fillna(False).astype(bool)]
        final = final.drop_duplicates("assessment_ref", keep="last").set_index("assessment_ref")
        ref = a["assessment_ref"]
        has = ref.isin(final.index)
        a.loc[has, "value_text"] = ref[has].map(final["value_text"]).where(
            ref[has].map(final["value_text"]).notna(), a.loc[has, "value_text"]
        )
        a.loc[has, "value_num"] = ref[has].map(pd.to_numeric(final["value"], errors="coerce"))
    index_on = patients["index_on"]
    a["study_day"] = (_dates(a["assessed_on"]) - a["patient_id"].map(index_on)).dt.days
    a["_pcode"] = pd.factorize(a["patient_id"])[0]  # a patient's rows sort by an integer
    return a[[*cols, "_pcode"]]


def build_study_data(tables: Mapping[str, pd.DataFrame], plan: Any) -> StudyData:
    """Build :class:`~regmed.studydata.StudyData` from registry tables for a plan.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Frames named and shaped as in the import/export column dictionary. A frame may also
        carry its patients' ``patient_id`` (``site_code:pseudonym``), and the baseline may be
        given pivoted, one row per patient, as ``baseline_wide`` (what
        :func:`regmed.registry.extract_read.read_tables` reads).
    plan : regmed.plan.Plan
        The evaluation plan; its endpoints' ``measurement`` blocks define the derivation
        (visit windows, allowed assessor roles, the derivation rule).

    Returns
    -------
    StudyData
        One row per enrolled patient; every exclusion is an attrition row.
    """
    # only complete adjudications (as the plan declares them) replace the site's value
    tables = {**tables, "adjudications": final_verdicts(tables.get("adjudications"),
                                                        plan_reviewers(plan))}
    missing = [t for t in ("patients", "enrollments") if t not in tables]
    if missing:
        raise DataError(
            "the registry holds no study data",
            [Problem(f"table {t} is empty or absent", field=t) for t in missing],
        )
    pts = tables["patients"].copy()
    pts["patient_id"] = _key(pts)
    enr = tables["enrollments"].copy()
    enr["patient_id"] = _key(enr)
    enr = enr.drop(columns=["site_code", "patient_ref"], errors="ignore")
    pts = pts.drop(columns=["patient_ref"])
    if "_pid" in enr and "_pid" in pts:  # the bulk reader's database ids: an integer join
        frame = enr.merge(pts.drop(columns="patient_id"), on="_pid", how="left")
        frame = frame.drop(columns="_pid")
    else:
        frame = enr.merge(pts, on="patient_id", how="left")
    frame = _by_key(frame.drop_duplicates("patient_id").set_index("patient_id"))
    frame["index_on"] = _dates(frame["index_on"])
    frame["enrolled_on"] = _dates(frame["enrolled_on"])
    frame["era"] = frame["index_on"].dt.year
    frame["age"] = (frame["era"] - pd.to_numeric(frame["birth_year"])).astype(float)
    frame = _attach(frame, _baseline_wide(tables.get("baseline"), frame.index,
                                          tables.get("baseline_wide")))
    frame = _attach(frame, _lots_wide(tables, frame.index))
    follow = tables.get("follow_ups")
    if follow is not None and not follow.empty:
        f = follow.copy()
        f["patient_id"] = _key(f)
        follow = f.drop_duplicates("patient_id", keep="last").set_index("patient_id")
        frame["died"] = follow["status"].reindex(frame.index).eq("dead")
    else:
        follow = pd.DataFrame(columns=["death_on", "last_contact_on", "status"])
        frame["died"] = False

    assess = _assessments(tables, frame)
    attrition: list[dict[str, Any]] = []
    for cohort, rows in frame.groupby("cohort"):
        attrition.append(_attrition_row("enrolled", str(cohort), len(rows), len(rows),
                                         "enrolled in the registry"))
    endpoints: dict[str, dict[str, Any]] = {}
    for endpoint in _get(plan, "endpoints", []) or []:
        eid = str(_get(endpoint, "id"))
        derived = _derive_endpoint(endpoint, frame, assess, follow)
        frame = _attach(frame, derived)
        status = derived[f"{eid}_status"]
        m = _get(endpoint, "measurement")
        endpoints[eid] = {
            "kind": str(_get(endpoint, "kind")),
            "role": str(_get(endpoint, "role")),
            "derivation": str(_get(m, "derivation", "value")),
        }
        for cohort, st in status.groupby(frame["cohort"]):
            n = len(st)
            for reason in ("ineligible", "no_baseline", "out_of_window", "missing"):
                k = int((st == reason).sum())
                if k:
                    attrition.append(_attrition_row(
                        f"endpoint {eid}", str(cohort), n, n - k, _REASONS[reason]))
                    n -= k

    facts = _facts(frame, assess, [e for e, v in endpoints.items() if v["role"] == "primary"])
    attrition_frame = pd.DataFrame(
        attrition, columns=["step", "cohort", "n_before", "n_after", "n_excluded", "reason"]
    )
    quality = _quality_tables(tables)
    return StudyData(
        patients=frame,
        attrition=attrition_frame,
        endpoints=endpoints,
        facts=facts,
        data_hash=frame_hash(frame, *quality.values()),
        quality=quality,
    )


_QUALITY_TABLES = ("quality_attributes", "lots", "lot_results", "administrations")


def _quality_tables(tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The lot-level tables for ``regmed.quality`` (administrations keyed by patient_id)."""
    out = {}
    for name in _QUALITY_TABLES:
        t = tables.get(name)
        if t is None or t.empty:
            continue
        t = t.copy()
        if name == "administrations":
            t["patient_id"] = _key(t)
        out[name] = t.reset_index(drop=True)
    return out


_REASONS = {
    "ineligible": "baseline grade outside the indication (no room to improve as defined)",
    "no_baseline": "no baseline assessment within its visit window",
    "out_of_window": "outcome assessed outside its visit window",
    "missing": "outcome assessment missing",
}


def _facts(frame: pd.DataFrame, assess: pd.DataFrame, primary: list[str]) -> dict[str, Any]:
    periods = {}
    for cohort, rows in frame.groupby("cohort"):
        periods[str(cohort)] = {
            "start": rows["index_on"].min().date().isoformat(),
            "end": rows["index_on"].max().date().isoformat(),
            "n": int(len(rows)),
            "sites": sorted(rows["site_code"].astype(str).unique().tolist()),
        }
    # share of the primary outcomes actually used that come from a blinded assessment
    used = [frame[f"{e}_blinded"].dropna() for e in primary if f"{e}_blinded" in frame]
    blinded = pd.concat(used).astype(bool) if used else pd.Series(dtype=bool)
    return {
        "cohorts": periods,
        "n_sites": int(frame["site_code"].nunique()),
        "blinded_share": float(blinded.mean()) if len(blinded) else None,
    }
