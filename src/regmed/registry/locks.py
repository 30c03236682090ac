"""The one rule on what may not change: signed or locked records, locked plans, sealed
evaluations and frozen data. Every write path asks it — the bulk importer
(:func:`regmed.registry.import_tables`), the single-record path (:func:`regmed.registry.save_row`,
what the web forms use) and the services (:func:`regmed.registry.add_record`,
:func:`~regmed.registry.update_record`, :func:`~regmed.registry.delete_record`) — so that a
lock holds whatever the path.

* A record with an electronic signature in force, or a lock (``record_locks``), changes only
  after an audited unlock (:func:`regmed.web.signing.unlock_record`, with a reason), which
  withdraws its signatures (each marked ``withdrawn_at`` and audited): no change is ever made
  under a signature in force, and a signature never stays on a changed record.
* A locked plan version never changes (lock an amendment instead); a stored evaluation is
  sealed and never changes.
* Frozen data (:mod:`regmed.registry.freeze`) are not written until an audited unfreeze.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from regmed.errors import DataError, Problem
from regmed.registry.freeze import DataFreeze
from regmed.registry.models import Assessment, Base, Patient, Site
from regmed.registry.tables import TABLE_MAPS
from regmed.registry.web_models import RecordLock, RecordSignature

__all__ = ["Freezes", "load_freezes", "locked_records", "lock_problem", "freeze_problem",
           "check_record", "row_problems", "site_of", "STUDY_TABLES", "SITE_TABLES"]

#: Tables a study freeze covers: every table of the column dictionary.
STUDY_TABLES = frozenset(m.model.__tablename__ for m in TABLE_MAPS.values())
#: Tables a site freeze covers (records of the site, its patients, their assessments).
SITE_TABLES = frozenset({"sites", "shipments", "patients", "baseline", "visit_values",
                         "enrollments", "administrations", "assessments", "adjudications",
                         "adverse_events", "follow_ups"})
_PATIENT_TABLES = SITE_TABLES - {"sites", "shipments", "patients", "adjudications"}
UNLOCK_FIRST = "it changes only after an audited unlock"


@dataclass(frozen=True)
class Freezes:
    """The freezes in force: of the whole study, and by site id (with the site codes)."""

    study: DataFreeze | None = None
    sites: dict[int, DataFreeze] = field(default_factory=dict)
    codes: dict[int, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.study is not None or bool(self.sites)

    def of(self, table: str, site_id: int | None) -> str | None:
        """Why a write of ``table`` at site ``site_id`` is refused (None when it is not)."""
        if self.study is not None and table in STUDY_TABLES:
            return _frozen("the study's data are", self.study)
        f = self.sites.get(site_id) if site_id is not None else None
        if f is not None and site_id is not None and table in SITE_TABLES:
            return _frozen(f"the data of site {self.codes.get(site_id, str(site_id))} are", f)
        return None


def _frozen(what: str, f: DataFreeze) -> str:
    return (f"{what} frozen (since {f.frozen_at} by {f.frozen_by}: {f.reason}); nothing "
            "changes until an audited unfreeze")


def load_freezes(session: Session) -> Freezes:
    """The freezes in force."""
    rows = session.execute(select(DataFreeze, Site.site_code)
                           .outerjoin(Site, Site.id == DataFreeze.site_id)
                           .where(DataFreeze.unfrozen_at.is_(None))).all()
    study = next((f for f, _ in rows if f.scope == "study"), None)
    sites = {int(f.site_id): f for f, _ in rows if f.scope == "site" and f.site_id is not None}
    codes = {int(f.site_id): str(c) for f, c in rows if f.site_id is not None}
    return Freezes(study, sites, codes)


def locked_records(session: Session, table: str, ids: Iterable[int]) -> dict[int, str]:
    """The records of ``table`` among ``ids`` that are signed or locked, with who signed."""
    wanted = sorted({int(i) for i in ids})
    out: dict[int, str] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        for rid, by, meaning, at in session.execute(
                select(RecordLock.record_id, RecordLock.signed_by, RecordLock.meaning,
                       RecordLock.signed_at)
                .where(RecordLock.table_name == table, RecordLock.record_id.in_(chunk))):
            out[int(rid)] = f"signed by {by} ({meaning}, {at})"
        for rid, by, meaning, at in session.execute(
                select(RecordSignature.record_id, RecordSignature.username,
                       RecordSignature.meaning, RecordSignature.signed_at)
                .where(RecordSignature.table_name == table,
                       RecordSignature.record_id.in_(chunk),
                       RecordSignature.withdrawn_at.is_(None))):
            out.setdefault(int(rid), f"signed by {by} ({meaning}, {at})")
    return out


def lock_problem(table: str, record_id: int, signed: str, *, file: str | None = None,
                 row: int | None = None, field_name: str | None = None) -> Problem:
    """The problem of a write to a signed, locked record."""
    return Problem(f"the {table} record (id {record_id}) is {signed} and locked; "
                   f"{UNLOCK_FIRST}", file=file, row=row, field=field_name)


def freeze_problem(why: str, *, file: str | None = None, row: int | None = None,
                   field_name: str | None = None) -> Problem:
    """The problem of a write to frozen data."""
    return Problem(why, file=file, row=row, field=field_name)


def site_of(session: Session, record: Base) -> int | None:
    """The site a record belongs to (None for records of no site)."""
    table = record.__tablename__
    if table == "sites":
        return getattr(record, "id", None)
    if table in ("patients", "shipments"):
        return getattr(record, "site_id", None)
    patient_id = getattr(record, "patient_id", None)
    if table == "adjudications":
        a = session.get(Assessment, getattr(record, "assessment_id", None))
        patient_id = a.patient_id if a is not None else None
    if table in _PATIENT_TABLES or table == "adjudications":
        p = session.get(Patient, patient_id) if patient_id is not None else None
        return p.site_id if p is not None else None
    return None


def check_record(session: Session, record: Base, action: str,
                 old: dict[str, Any] | None = None) -> None:
    """Refuse ``action`` (insert, update, delete) on a record that may not change.

    ``old`` is the record's stored values (for an update: before the change).

    Raises
    ------
    DataError
        The record is signed or locked, a locked plan version, a sealed evaluation, or of
        frozen data.
    """
    table = record.__tablename__
    problems = []
    rid = getattr(record, "id", None)
    if action != "insert":
        if table == "evaluations":
            problems.append(Problem("a stored evaluation is sealed and never changes; run "
                                    "the evaluation again", field="evaluations"))
        if table == "study_dictionary_versions":
            problems.append(Problem("a stored study dictionary version never changes; import "
                                    "a new version instead", field=table))
        if table == "plan_versions" and (old or {}).get("status") == "locked":
            problems.append(Problem("a locked plan version never changes; lock an amendment "
                                    "instead", field="plan_versions"))
        if rid is not None:
            signed = locked_records(session, table, [rid]).get(int(rid))
            if signed is not None:
                problems.append(lock_problem(table, int(rid), signed))
    freezes = load_freezes(session)
    if freezes:
        why = freezes.of(table, _stored_site(session, table, old) or site_of(session, record))
        if why is not None:
            problems.append(freeze_problem(why))
    if problems:
        raise DataError(f"{action} of a {table} record refused; nothing was written", problems)


def _stored_site(session: Session, table: str, old: dict[str, Any] | None) -> int | None:
    """The site of a record's stored values (a change may not move it out of a frozen site)."""
    if not old:
        return None
    if table == "sites":
        return old.get("id")
    if table in ("patients", "shipments"):
        return old.get("site_id")
    pid = old.get("patient_id")
    if table == "adjudications" and old.get("assessment_id") is not None:
        a = session.get(Assessment, old["assessment_id"])
        pid = a.patient_id if a is not None else None
    p = session.get(Patient, pid) if pid is not None else None
    return p.site_id if p is not None else None


def row_problems(session: Session, table: str, rows: Sequence[tuple[int, int | None,
                 int | None, str | None]], file: str, freezes: Freezes | None = None
                 ) -> list[Problem]:
    """Problems of writing rows of ``table``: ``(row number, stored record id or None,
    site id or None, first changed field)`` each; inserts have no record id."""
    problems = []
    freezes = load_freezes(session) if freezes is None else freezes
    signed = locked_records(session, table, [r[1] for r in rows if r[1] is not None])
    for row, rid, site, fld in rows:
        if rid is not None and rid in signed:
            problems.append(lock_problem(table, rid, signed[rid], file=file, row=row,
                                         field_name=fld))
        why = freezes.of(table, site) if freezes else None
        if why is not None:
            problems.append(freeze_problem(why, file=file, row=row, field_name=fld))
    return problems
