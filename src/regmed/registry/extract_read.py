"""Bulk reads for :func:`regmed.registry.extract.extract`: only the tables, columns and rows the
plan's analysis needs, one SQL statement each, fetched through the driver's cursor.

No ORM objects and no per-row Python work: each statement joins the natural keys it needs
(site codes, pseudonyms, lot codes) in the database and its rows are fetched in bulk straight
into a frame. The per-patient tables come keyed by ``patient_id`` (``site_code:pseudonym``,
made once per patient); the baseline covariates come one row per patient (pivoted in SQL,
one column per variable, as :func:`regmed.registry.derive.build_study_data` would pivot
them); the assessments only for the endpoint variables the plan names. The frames are the
ones :func:`~regmed.registry.derive.build_study_data` takes, so that the study data equal
those of the full export (:func:`regmed.registry.io.export_frames`) frame for frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Select, case, func, literal, null, select
from sqlalchemy.orm import Session

from regmed.registry.dictionary import PSEUDONYM_COLUMN, load_dictionary
from regmed.registry.io import typed_frame
from regmed.registry.models import (
    Assessment,
    Baseline,
    Donor,
    Enrollment,
    FollowUp,
    Indication,
    Patient,
    Site,
)
from regmed.registry.tables import TABLE_MAPS, file_columns

__all__ = ["read_tables", "fetch_frame", "endpoint_variables", "SMALL_TABLES"]

#: Lot-level tables read whole, in export form (the quality analyses take them all).
SMALL_TABLES = ("quality_attributes", "lots", "lot_results", "administrations")


def fetch_frame(session: Session, stmt: Select[Any]) -> pd.DataFrame:
    """The rows of a Core statement as a frame (columns by label), fetched through the
    driver's cursor: the values as the driver gives them, no ORM or row objects."""
    conn = session.connection()
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    names = [c.name for c in stmt.selected_columns]
    if compiled.positional:
        params: Any = tuple(compiled.params[k] for k in compiled.positiontup or ())
    else:
        params = compiled.params
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    cur = dbapi.cursor()
    try:
        cur.execute(str(compiled), params)
        rows = cur.fetchall()
    finally:
        cur.close()
    if not rows:
        return pd.DataFrame({n: pd.Series(dtype=object) for n in names})
    return pd.DataFrame.from_records(rows, columns=names, coerce_float=False)


def _export_select(name: str) -> Select[Any]:
    """The dictionary table ``name`` in export form: its links resolved by joins."""
    tmap = TABLE_MAPS[name]
    t = tmap.model.__table__
    cols: dict[str, Any] = {}
    source: Any = t
    for link in tmap.links:
        target = TABLE_MAPS[link.target].model.__table__.alias(f"_{link.target}")
        source = source.outerjoin(target, target.c.id == t.c[link.db_column])
        for c in link.columns:
            if not c.startswith("_"):
                cols[c] = target.c["pseudonym" if c == PSEUDONYM_COLUMN else c]
        if link.target == "patients":
            site = Site.__table__.alias("_patient_site")
            source = source.outerjoin(site, site.c.id == target.c.site_id)
            cols["site_code"] = site.c.site_code
    for dict_col, db_col in tmap.renames:
        cols[dict_col] = t.c[db_col]
    spec = load_dictionary().tables[name]
    picked = [(cols.get(c, t.c[c] if c in t.c else null())).label(c) for c in file_columns(spec)]
    return select(*picked).select_from(source)


def _small_table(session: Session, name: str) -> pd.DataFrame:
    """A (small) dictionary table exactly as :func:`~regmed.registry.io.export_frames` gives
    it: typed by SQLAlchemy (dates as dates), sorted by its key."""
    spec = load_dictionary().tables[name]
    rows = session.execute(_export_select(name)).all()
    cols = file_columns(spec)
    frame = pd.DataFrame([tuple(r) for r in rows], columns=cols, dtype=object)
    frame = frame.astype(object).where(frame.notna(), None)
    frame = frame.sort_values(cols[: len(spec.key)], kind="stable").reset_index(drop=True)
    return typed_frame(frame, spec)


def endpoint_variables(plan: Any) -> list[str]:
    """The assessment variables the plan's endpoints are derived from."""
    out = []
    for endpoint in getattr(plan, "endpoints", None) or []:
        m = getattr(endpoint, "measurement", None)
        if str(getattr(m, "derivation", "value")) == "time_to_death":
            continue
        out.append(str(getattr(m, "variable", None) or endpoint.id))
    return list(dict.fromkeys(out))


def _patients(session: Session) -> tuple[pd.DataFrame, pd.Series]:
    """Patients in export form plus ``patient_id``, and the key of each database id."""
    p = Patient.__table__
    stmt = (select(p.c.id.label("_id"), Site.site_code.label("site_code"),
                   p.c.pseudonym.label("patient_ref"), p.c.sex.label("sex"),
                   p.c.birth_year.label("birth_year"), Donor.donor_code.label("donor_code"))
            .select_from(p).join(Site, Site.id == p.c.site_id)
            .outerjoin(Donor, Donor.id == p.c.donor_id))
    f = fetch_frame(session, stmt)
    f["birth_year"] = pd.array(f["birth_year"].tolist(), dtype="Int64")
    for c in ("site_code", "patient_ref", "sex", "donor_code"):
        f[c] = f[c].astype(object)
    f["patient_id"] = f["site_code"].astype(str) + ":" + f["patient_ref"].astype(str)
    keys = pd.Series(f["patient_id"].to_numpy(), index=f["_id"].to_numpy(dtype=np.int64))
    return f.rename(columns={"_id": "_pid"}).iloc[:, [*range(1, len(f.columns)), 0]], keys


def _by_patient(session: Session, stmt: Select[Any], keys: pd.Series, *,
                keep_pid: bool = False) -> pd.DataFrame:
    """Rows with a ``_pid`` column (the database id) → ``patient_id`` keys, last column
    (and ``_pid`` after it with ``keep_pid``)."""
    f = fetch_frame(session, stmt)
    pid = f.pop("_pid").to_numpy(dtype=np.int64)
    f["patient_id"] = keys.reindex(pid).to_numpy()
    if keep_pid:
        f["_pid"] = pid
    return f


def _baseline_wide(session: Session, keys: pd.Series) -> pd.DataFrame:
    """One row per patient with a baseline, one column per variable (sorted): numbers when
    any value of the variable is a number, otherwise its text; NaN where a patient has no
    row of the variable (as the long table's pivot gives). Only the column each variable
    needs is pivoted (its numbers, or its text and whether the patient has the row)."""
    b = Baseline.__table__
    counts = session.execute(select(b.c.variable, func.count(b.c.value))
                             .group_by(b.c.variable)).all()
    variables = sorted(str(v) for v, _ in counts)
    if not variables:
        return pd.DataFrame(index=pd.Index([], name="patient_id"))
    numeric = {str(v) for v, n in counts if n}
    parts: list[Any] = []
    for i, v in enumerate(variables):
        hit = b.c.variable == v
        if v in numeric:
            parts.append(func.max(case((hit, b.c.value))).label(f"n{i}"))
        else:
            parts += [func.max(case((hit, 1))).label(f"h{i}"),
                      func.max(case((hit, b.c.value_text))).label(f"t{i}")]
    stmt = select(b.c.patient_id.label("_pid"), *parts).group_by(b.c.patient_id)
    f = _by_patient(session, stmt, keys).set_index("patient_id")
    out = pd.DataFrame(index=f.index)
    for i, v in enumerate(variables):
        if v in numeric:
            values = pd.to_numeric(f[f"n{i}"], errors="coerce").astype("float64")
            if values.notna().any():  # (a count of stored NaN alone is no number)
                out[v] = values
                continue
            f = f.join(_text_of(session, keys, v, i))
        out[v] = f[f"t{i}"].astype(object).where(f[f"h{i}"].notna(), np.nan)
    return out


def _text_of(session: Session, keys: pd.Series, variable: str, i: int) -> pd.DataFrame:
    """The text of one baseline variable per patient (``h<i>``: the patient has the row)."""
    b = Baseline.__table__
    stmt = select(b.c.patient_id.label("_pid"), literal(1).label(f"h{i}"),
                  b.c.value_text.label(f"t{i}")).where(b.c.variable == variable)
    return _by_patient(session, stmt, keys).set_index("patient_id")


def _assessments(session: Session, keys: pd.Series, variables: Sequence[str]) -> pd.DataFrame:
    """The assessments of the plan's endpoint variables, in export order (by reference)."""
    a = Assessment.__table__
    ref: Any = a.c.assessment_ref
    if session.get_bind().dialect.name == "postgresql":
        ref = ref.collate("C")  # code-point order, as the export sorts
    stmt = (select(a.c.assessment_ref.label("assessment_ref"), a.c.patient_id.label("_pid"),
                   a.c.endpoint.label("endpoint"), a.c.visit.label("visit"),
                   a.c.assessed_on.label("assessed_on"), a.c.value.label("value"),
                   a.c.value_text.label("value_text"),
                   a.c.assessor_role.label("assessor_role"), a.c.blinded.label("blinded"))
            .where(a.c.endpoint.in_(list(variables))).order_by(ref))
    f = _by_patient(session, stmt, keys)
    f["value"] = pd.to_numeric(f["value"], errors="coerce").astype("float64")
    f["blinded"] = pd.array(f["blinded"].to_numpy(dtype=object), dtype="boolean")
    return f


def read_tables(session: Session, plan: Any) -> dict[str, pd.DataFrame]:
    """The frames :func:`~regmed.registry.derive.build_study_data` needs for ``plan``.

    ``patients``, ``enrollments``, ``follow_ups`` and ``assessments`` carry ``patient_id``
    (patients and enrollments also the database id ``_pid``, to be joined on);
    ``baseline_wide`` is the covariates one row per patient; ``adjudications`` and the
    lot-level :data:`SMALL_TABLES` are in export form (``patient_ref`` the pseudonym).
    """
    patients, keys = _patients(session)
    e = Enrollment.__table__
    enrollments = _by_patient(session, select(
        e.c.patient_id.label("_pid"), Indication.indication_code.label("indication_code"),
        e.c.cohort.label("cohort"), e.c.direction.label("direction"),
        e.c.source.label("source"), e.c.index_on.label("index_on"),
        e.c.enrolled_on.label("enrolled_on"),
    ).select_from(e).outerjoin(Indication, Indication.id == e.c.indication_id), keys,
        keep_pid=True)
    fu = FollowUp.__table__
    follow = _by_patient(session, select(
        fu.c.patient_id.label("_pid"), fu.c.last_contact_on.label("last_contact_on"),
        fu.c.status.label("status"), fu.c.death_on.label("death_on")), keys)
    tables = {
        "patients": patients,
        "enrollments": enrollments,
        "follow_ups": follow,
        "baseline_wide": _baseline_wide(session, keys),
        "assessments": _assessments(session, keys, endpoint_variables(plan)),
        "adjudications": _small_table(session, "adjudications"),
    }
    for name in SMALL_TABLES:
        tables[name] = _small_table(session, name).rename(
            columns={PSEUDONYM_COLUMN: "patient_ref"})
    return tables
