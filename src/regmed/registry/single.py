"""The single-record write path: one validated, audited row in one short transaction.

:func:`save_row` is what a web form uses. It applies the same rules as
:func:`regmed.registry.import_tables` — the column dictionary's rules through
:func:`regmed.registry.rowcheck.check_row`, the cross-table rules of
:mod:`regmed.registry.rules`, a reason for any change of a stored record — but reads only the
few rows it needs (the patient, the enrollment, the lot, the stored record) instead of whole
tables, and uses no pandas. The record is written first; the audit chain's tail is locked only
for appending the one event, so concurrent forms hold the chain for a moment only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from regmed.errors import DataError, Problem
from regmed.registry import custody, rules
from regmed.registry.adjudicated import add_reopenings
from regmed.registry.audit import AuditWriter, audit_values, canonical_json
from regmed.registry.dictionary import PSEUDONYM_COLUMN, load_dictionary
from regmed.registry.identifiers import normalize_values
from regmed.registry.importer import _unique_columns
from regmed.registry.locks import row_problems
from regmed.registry.models import Enrollment, Lot, Patient, Site
from regmed.registry.rowcheck import check_row
from regmed.registry.study_check import governed_variables
from regmed.registry.study_check import row_problems as study_row_problems
from regmed.registry.tables import TABLE_MAPS, key_columns
from regmed.registry.unique import unique_columns, unique_problems

__all__ = ["SINGLE_TABLES", "SavedRow", "save_row"]

#: Tables :func:`save_row` writes (rows of one patient, named by ``patient_pseudonym``).
SINGLE_TABLES = ("baseline", "visit_values", "administrations", "assessments", "adverse_events",
                 "follow_ups")


@dataclass(frozen=True)
class SavedRow:
    """What :func:`save_row` did: ``action`` is ``insert``, ``update`` or ``unchanged``."""

    table: str
    id: int
    action: str


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return bool(a == b)


# Statements built once (SQLAlchemy memoizes their cache keys), run on the session's
# connection: a form save spends its time on the database, not on building queries.
_PATIENT_Q = (
    select(Patient.id, Patient.birth_year, Site.site_code, Enrollment.index_on,
           Enrollment.enrolled_on, Patient.site_id)
    .join(Site, Site.id == Patient.site_id)
    .outerjoin(Enrollment, Enrollment.patient_id == Patient.id)
    .where(Patient.pseudonym == bindparam("pseudonym"))
)
_LOT_Q = select(Lot.id, Lot.manufactured_on).where(Lot.lot_code == bindparam("lot_code"))


@cache
def _statements(table: str) -> tuple[Any, Any, Any, list[str]]:
    """Find-by-natural-key, insert and update statements of ``table``, and the key columns."""
    t: Table = TABLE_MAPS[table].model.__table__  # type: ignore[assignment]
    ukey = _unique_columns(TABLE_MAPS[table].model)
    find = select(t).where(*(t.c[c] == bindparam(f"k_{c}") for c in ukey))
    return find, insert(t).returning(t.c.id), update(t).where(t.c.id == bindparam("rid")), ukey


def _refs(session: Session, table: str, v: dict[str, Any], file: str
          ) -> tuple[dict[str, Any], list[Problem]]:
    """Resolve the patient (and lot) and check the cross-table rules."""
    conn = session.connection()
    problems: list[Problem] = []
    ids: dict[str, Any] = {}
    pseudonym = v.get(PSEUDONYM_COLUMN)
    patient = None
    if pseudonym is not None:
        patient = conn.execute(_PATIENT_Q, {"pseudonym": pseudonym}).first()
        if patient is None:
            problems.append(Problem(f"{rules.UNKNOWN_PATIENT}: {pseudonym!r}", file=file, row=1,
                                    field=PSEUDONYM_COLUMN))
        elif v.get("site_code") is not None and patient.site_code != v["site_code"]:
            problems.append(Problem(f"{rules.WRONG_SITE}: {v['site_code']!r}", file=file, row=1,
                                    field="site_code"))
    lot = None
    if table in rules.MANUFACTURED_CHECK and v.get("lot_code") is not None:
        lot = conn.execute(_LOT_Q, {"lot_code": v["lot_code"]}).first()
        if lot is None:
            problems.append(Problem(f"unknown lot: {v['lot_code']!r}", file=file, row=1,
                                    field="lot_code"))
        else:
            ids["lot_id"] = lot.id
    if patient is None:
        return ids, problems
    ids["patient_id"] = patient.id
    ids["_site_id"] = patient.site_id

    def before(col: str | None, limit: Any, message: str, year: bool = False) -> None:
        x = v.get(col) if col else None
        if x is not None and year:
            x = x.year
        if x is not None and limit is not None and x < limit:
            problems.append(Problem(f"{message}: '{x} < {limit}'", file=file, row=1, field=col))

    before(rules.BIRTH_YEAR_CHECK.get(table), patient.birth_year, rules.BEFORE_BIRTH, True)
    before(rules.INDEX_DATE_CHECK.get(table), patient.index_on, rules.BEFORE_INDEX)
    before(rules.ENROLLED_CHECK.get(table), patient.enrolled_on, rules.BEFORE_ENROLLED)
    if lot is not None:
        before(rules.MANUFACTURED_CHECK[table], lot.manufactured_on, rules.BEFORE_MANUFACTURED)
    if table == "administrations" and lot is not None:
        problems += custody.row_problems(session, v, file)
    return ids, problems


def _db_row(table: str, v: dict[str, Any], ids: dict[str, Any], given: frozenset[str]
            ) -> tuple[dict[str, Any], dict[str, str]]:
    """Model columns of the row, and the dictionary column each given model column came from."""
    tmap = TABLE_MAPS[table]
    renames = dict((db, d) for d, db in tmap.renames)
    links = {link.db_column: link for link in tmap.links}
    row: dict[str, Any] = {}
    source: dict[str, str] = {}
    for c in tmap.model.__table__.c.keys():
        if c == "id":
            continue
        if c in links:
            row[c] = ids.get(c)
            source[c] = links[c].columns[0]
        else:
            src = renames.get(c, c)
            row[c] = v.get(src)
            if src in given:
                source[c] = src
    return row, source


def save_row(
    session: Session,
    table: str,
    row: Mapping[str, Any],
    *,
    actor: str,
    reason: str | None = None,
    file: str = "form",
    today: dt.date | None = None,
) -> SavedRow:
    """Validate and write one row of a patient table, with its audit event.

    Parameters
    ----------
    session : Session
        The caller's unit of work (never committed here; the write is in a savepoint).
    table : str
        One of :data:`SINGLE_TABLES`.
    row : mapping
        Dictionary columns (``regmed import --schema``), the patient named by ``site_code``
        and ``patient_pseudonym``. A row whose key is stored already updates that record (the
        columns given; a reason is required when anything changes).
    actor, reason : str
        Who writes, and why (needed for a change).
    file : str
        How problems name the source (default ``form``).
    today : date, optional
        Dates of ``not_future`` columns after this day are refused (default: the real date;
        a form is filled in today).

    Returns
    -------
    SavedRow

    Raises
    ------
    DataError
        Listing every problem (field and message); nothing is written.
    """
    if table not in SINGLE_TABLES:
        raise DataError(f"{table!r} is not written one row at a time (one of "
                        f"{', '.join(SINGLE_TABLES)})")
    spec = load_dictionary().tables[table]
    governed = governed_variables(session) if table == "baseline" else frozenset()
    values, given, problems = check_row(table, row, spec, file,
                                        today=dt.date.today() if today is None else today,
                                        governed=governed)
    normalize_values(values)  # as the importer: Ｐ００１ is P001
    if "patient_ref" in given:
        problems.append(Problem(f"name the patient by {PSEUDONYM_COLUMN}", file=file,
                                field="patient_ref"))
    ids, more = _refs(session, table, values, file)
    problems += more
    if table in ("baseline", "visit_values") and not problems:  # as the importer
        problems += study_row_problems(session, values, file, table)
    if unique_columns(table) and not problems:
        problems += unique_problems(session, table, [values], file)
    find, add, change, ukey = _statements(table)
    db, source = _db_row(table, values, ids, given)
    keys = key_columns(spec)
    old = None
    conn = session.connection()
    if not problems:
        found = conn.execute(find, {f"k_{c}": db[c] for c in ukey}).mappings().first()
        old = dict(found) if found is not None else None
    changed: list[str] = []
    if old is not None:
        changed = [c for c in source if c not in ukey and not _same(db[c], old[c])]
        if changed and not (reason and reason.strip()):
            problems.append(rules.change_needs_reason(
                int(old["id"]), [source[c] for c in changed], file, 1))
    if not problems and (old is None or changed):  # signed, locked or frozen: refused
        problems += row_problems(session, table, [(
            1, None if old is None else int(old["id"]), ids.get("_site_id"),
            source[changed[0]] if changed else None)], file)
    if problems:
        raise DataError(f"{table} refused: nothing was written", problems)
    if old is not None and not changed:
        return SavedRow(table, int(old["id"]), "unchanged")
    record_key = ":".join(str(values[c]) for c in keys)
    savepoint = session.begin_nested()
    try:
        if old is None:
            rid = int(conn.execute(add, db).scalar_one())
            old_json, new = None, db
        else:
            rid = int(old["id"])
            conn.execute(change.values({c: db[c] for c in changed}), {"rid": rid})
            old_json = canonical_json(audit_values(table, old))
            new = {**old, **{c: db[c] for c in changed}}
        writer = AuditWriter(session, actor)  # locks the chain's tail until commit
        writer.add(table, rid, record_key, "insert" if old is None else "update", old_json,
                   canonical_json(audit_values(table, new)), reason)
        if old is not None and table == "assessments":
            add_reopenings(session, writer, [rid], reason)
        writer.flush()
        savepoint.commit()
    except IntegrityError as exc:
        savepoint.rollback()
        raise DataError(f"{table} refused: the record was written by someone else meanwhile; "
                        "nothing was written — load it and try again") from exc
    except BaseException:
        savepoint.rollback()
        raise
    return SavedRow(table, rid, "insert" if old is None else "update")

