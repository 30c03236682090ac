"""What an import may write over: the merge rules of :func:`regmed.registry.import_tables`,
and its dry run :func:`plan_import`.

Before anything is written the importer asks, for every row that would insert or change a
record:

* :mod:`regmed.registry.locks` — is the record signed or locked, or its data frozen?
* :mod:`regmed.registry.sync` — did someone change the field since the record last went
  through a file (import or export)? Then the file would silently undo that change: the row
  is refused unless the import says ``overwrite`` (with a reason).

:func:`plan_import` runs every check of the import and returns what it would insert, update
(field: old → new) and refuse, writing nothing (not even an audit event).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from regmed.errors import Problem
from regmed.registry.audit import audit_values, canonical_json
from regmed.registry.dictionary import load_dictionary
from regmed.registry.locks import Freezes, row_problems
from regmed.registry.models import Assessment, Patient, Site
from regmed.registry.sync import SyncPoints, base_values
from regmed.registry.tables import TABLE_MAPS, record_keys
from regmed.registry.validate import ParsedTable

__all__ = ["ImportPlan", "plan_import", "guard_problems", "conflict_problems", "Change"]

#: A stored record a row would change: (row position, record id, changed dictionary columns).
Change = tuple[int, int, list[str]]


@dataclass(frozen=True)
class ImportPlan:
    """What an import would do (:func:`plan_import`); nothing of it was written.

    Attributes
    ----------
    inserted : dict of str to list of str
        The keys of the records each table would insert.
    updated : list of dict
        One entry per record that would change: ``table``, ``key``, ``file``, ``row`` and
        ``changes`` (a list of ``(field, old, new)``).
    unchanged : dict of str to int
        Rows equal to their stored record, per table.
    refused : list of Problem
        Every problem that refuses the import (file, row, field, message).
    """

    inserted: dict[str, list[str]] = field(default_factory=dict)
    updated: list[dict[str, Any]] = field(default_factory=list)
    unchanged: dict[str, int] = field(default_factory=dict)
    refused: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the import would be accepted."""
        return not self.refused

    def summary(self, shown: int = 20) -> str:
        """The plan as text: inserts by table (first keys), each update, each refusal."""
        lines = ["dry run: nothing was written"]
        for table, keys in self.inserted.items():
            if keys:
                more = f" … and {len(keys) - shown} more" if len(keys) > shown else ""
                lines.append(f"would insert {len(keys)} {table}: {', '.join(keys[:shown])}{more}")
        for u in self.updated:
            lines.append(f"would update {u['table']} {u['key']} ({u['file']} row {u['row']}):")
            for col, old, new in u["changes"]:
                lines.append(f"    {col}: {_shown(old)} → {_shown(new)}")
        for table, n in self.unchanged.items():
            if n:
                lines.append(f"unchanged {table}: {n}")
        if self.refused:
            lines.append(f"would refuse ({len(self.refused)} problems):")
            lines += [f"  - {p}" for p in self.refused]
        else:
            lines.append("nothing would be refused")
        return "\n".join(lines)


def _shown(value: Any) -> str:
    return "(empty)" if value is None else repr(value) if isinstance(value, str) else str(value)


def _db_column(table: str, col: str) -> str:
    tmap = TABLE_MAPS[table]
    for d, db in tmap.renames:
        if d == col:
            return db
    for link in tmap.links:
        if col in link.columns:
            return link.db_column
    return col


def _row_sites(session: Session, p: ParsedTable, freezes: Freezes) -> list[int | None]:
    """The site id of every row (None when unknown or not needed)."""
    f = p.frame
    if not freezes.sites:
        return [None] * len(f)
    if p.name == "adjudications":
        refs = sorted({r for r in f["assessment_ref"] if r is not None})
        site_of: dict[Any, Any] = {}
        for start in range(0, len(refs), 500):
            site_of.update(session.execute(
                select(Assessment.assessment_ref, Patient.site_id)
                .join(Patient, Patient.id == Assessment.patient_id)
                .where(Assessment.assessment_ref.in_(refs[start:start + 500]))).tuples().all())
        return [site_of.get(r) for r in f["assessment_ref"]]
    if "site_code" not in f:
        return [None] * len(f)
    codes = dict(session.execute(select(Site.site_code, Site.id)).tuples().all())
    return [codes.get(c) for c in f["site_code"]]


def guard_problems(session: Session, p: ParsedTable, new: pd.Series, changes: list[Change],
                   freezes: Freezes) -> list[Problem]:
    """Rows that would write a signed/locked record or frozen data (:mod:`~.locks`)."""
    changed = [c for c in changes if c[2]]
    if not freezes and not changed:
        return []
    sites = _row_sites(session, p, freezes)
    rows: list[tuple[int, int | None, int | None, str | None]] = []
    if freezes:
        rows += [(i + 1, None, sites[i], None) for i in range(len(new)) if bool(new.iloc[i])]
    rows += [(i + 1, rid, sites[i], cols[0]) for i, rid, cols in changed]
    return row_problems(session, p.name, rows, p.file, freezes)


def _current(session: Session, table: str, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The stored records' audited values (as the audit trail's JSON reads back)."""
    t = TABLE_MAPS[table].model.__table__
    out = {}
    for start in range(0, len(ids), 500):
        for r in session.execute(select(t).where(t.c.id.in_(ids[start:start + 500]))).mappings():
            out[int(r["id"])] = json.loads(canonical_json(audit_values(table, dict(r))))
    return out


def conflict_problems(session: Session, p: ParsedTable, changes: list[Change],
                      points: SyncPoints) -> list[Problem]:
    """Fields a row would change that were changed since the record last went through a file.

    The stored value is compared with the value the record held at its last file import or
    export (:func:`regmed.registry.sync.base_values`); where they differ, someone changed the
    field since, and the file's value would overwrite that change.
    """
    changed = [c for c in changes if c[2]]
    if not changed:
        return []
    table = TABLE_MAPS[p.name].model.__tablename__
    spec = load_dictionary().tables[p.name]
    keys = record_keys(p.frame.iloc[[i for i, _, _ in changed]], spec)
    by_id = {rid: k for (_, rid, _), k in zip(changed, keys, strict=True)}
    base = base_values(session, table, by_id, points)
    now = _current(session, table, list(by_id))
    problems = []
    for i, rid, cols in changed:
        then, current = base.get(rid), now.get(rid, {})
        for col in cols:
            db = _db_column(p.name, col)
            if then is not None and then.get(db) == current.get(db):
                continue
            was = None if then is None else then.get(db)
            mine = p.frame[col].iloc[i]
            undo = then is not None and str(mine) == str(was)
            what = "the file would undo that change" if undo else f"the file has {_shown(mine)}"
            problems.append(Problem(
                f"changed since the record was last imported or exported ({_shown(was)} → "
                f"{_shown(current.get(db))}); {what}; give --overwrite with a --reason to "
                "replace it", file=p.file, row=i + 1, field=col))
    return problems


def plan_import(session: Session, tables: Mapping[str, pd.DataFrame], *, actor: str,
                reason: str | None = None, sources: Mapping[str, str] | None = None,
                key: bytes | None = None, overwrite: bool = False,
                today: dt.date | None = None) -> ImportPlan:
    """What :func:`regmed.registry.import_tables` would do with the same arguments: every
    check runs, nothing is written (no record, no audit event).

    Returns
    -------
    ImportPlan
    """
    from regmed.registry.importer import prepare_import

    prepared = prepare_import(session, tables, actor=actor, reason=reason, sources=sources,
                              key=key, overwrite=overwrite, today=today)
    inserted, unchanged, updated = {}, {}, []
    for p, new, changes, before in prepared.plans:
        spec = load_dictionary().tables[p.name]
        inserted[p.name] = record_keys(p.frame[new.to_numpy()], spec)
        unchanged[p.name] = sum(1 for c in changes if not c[2])
        keys = record_keys(p.frame.iloc[[i for i, _, cols in changes if cols]], spec)
        for (i, _, cols), k in zip([c for c in changes if c[2]], keys, strict=True):
            updated.append({"table": p.name, "key": k, "file": p.file, "row": i + 1,
                            "changes": [(c, before[i][c], p.frame[c].iloc[i]) for c in cols]})
    return ImportPlan(inserted, updated, unchanged, list(prepared.problems))
