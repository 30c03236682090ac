"""Load a registry's whole history (an archive folder) into an empty registry.

``regmed export`` writes, beside the importable ``<table>.csv`` files, the archive of
:mod:`regmed.registry.archive` in ``history/``: every table with its ids — the audit trail,
plans and their versions, evaluations, users and signatures included. :func:`load_history`
puts it back into an empty registry (same schema revision, same audit key) exactly: the archive
is verified first (SHA-256 of every file, the hash chain, every event's MAC), the rows are
inserted with their ids in one transaction, and the registry's own audit verification must
then pass, or nothing is kept. Users exported without their password hashes (the default)
come back holding the audited digest, which no password matches: an administrator sets new
passwords (``regmed users set-password``).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Float, Integer, Numeric, Table, func, insert, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from regmed.errors import RegmedError
from regmed.registry.archive import decode_cell, verify_archive
from regmed.registry.audit_verify import verify_audit
from regmed.registry.models import Base

__all__ = ["HISTORY_FOLDER", "has_history", "load_history"]

#: Where ``regmed export`` puts the archive of the whole registry.
HISTORY_FOLDER = "history"
_SKIP = {"alembic_version"}


def has_history(folder: Path) -> bool:
    """True when ``folder`` (an export) holds a history archive."""
    return (Path(folder) / HISTORY_FOLDER / "manifest.json").is_file()


def _converter(column: Any) -> Any:
    kind = column.type
    if isinstance(kind, Boolean):
        return lambda s: s == "true"
    if isinstance(kind, Integer):
        return int
    if isinstance(kind, Float | Numeric):
        return float
    if isinstance(kind, DateTime):
        return dt.datetime.fromisoformat
    if isinstance(kind, Date):
        return dt.date.fromisoformat
    return lambda s: s


def _rows(table: Table, path: Path) -> Iterator[dict[str, Any]]:
    convert = {c.name: _converter(c) for c in table.columns}
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        unknown = set(header) - set(convert)
        if unknown or set(convert) - set(header):
            raise RegmedError(f"{path.name}: its columns are not this schema's ({table.name}); "
                              "load it with the regmed version that wrote it")
        for cells in reader:
            out = {}
            for name, cell in zip(header, cells, strict=True):
                value = decode_cell(cell)
                out[name] = None if value is None else convert[name](value)
            yield out


def _reset_sequence(session: Session, table: Table) -> None:
    if session.get_bind().dialect.name != "postgresql" or "id" not in table.c:
        return
    session.execute(sql_text(
        "SELECT setval(pg_get_serial_sequence(:t, 'id'), COALESCE(MAX(id), 1), MAX(id) IS NOT "
        f'NULL) FROM "{table.name}"'), {"t": table.name})


def load_history(session: Session, folder: Path, key: bytes) -> dict[str, int]:
    """Insert an export's history archive into the empty registry of ``session``.

    Parameters
    ----------
    session : Session
        An empty registry at the archive's schema revision (the caller commits).
    folder : Path
        The export folder (its ``history/`` is read) or the archive folder itself.
    key : bytes
        The registry's audit key, which must be the one the archive was signed with.

    Returns
    -------
    dict of str to int
        Rows loaded per table.

    Raises
    ------
    RegmedError
        When the archive does not verify, its audit key or schema revision differs, or the
        registry is not empty; nothing is written.
    """
    from regmed.registry.db import current_revision

    folder = Path(folder)
    archive = folder / HISTORY_FOLDER if has_history(folder) else folder
    check = verify_archive(archive, key)
    if not check.ok:
        raise RegmedError(f"history not loaded, nothing was written: {check.message}")
    manifest = json.loads((archive / "manifest.json").read_text(encoding="utf-8"))
    revision = current_revision(session.get_bind().engine)  # type: ignore[union-attr]
    if manifest.get("schema_revision") != revision:
        raise RegmedError(
            f"history not loaded: the archive is at schema revision "
            f"{manifest.get('schema_revision')}, this registry at {revision}; nothing was written")
    tables = [t for t in Base.metadata.sorted_tables if t.name not in _SKIP]
    filled = [t.name for t in tables if session.scalar(select(func.count()).select_from(t))]
    if filled:
        raise RegmedError(
            "history not loaded: the registry is not empty (it holds "
            f"{', '.join(filled[:5])}{' ...' if len(filled) > 5 else ''}); load a history only "
            "into a new registry (`regmed init`); nothing was written")
    loaded: dict[str, int] = {}
    savepoint = session.begin_nested()
    try:
        for table in tables:
            path = archive / "tables" / f"{table.name}.csv"
            batch: list[dict[str, Any]] = []
            n = 0
            for row in _rows(table, path):
                batch.append(row)
                if len(batch) == 5000:
                    session.execute(insert(table), batch)
                    n, batch = n + len(batch), []
            if batch:
                session.execute(insert(table), batch)
                n += len(batch)
            _reset_sequence(session, table)
            loaded[table.name] = n
        result = verify_audit(session, key)
        if not result.ok:
            raise RegmedError(f"history not loaded, nothing was written: {result.message}")
        savepoint.commit()
    except BaseException:
        savepoint.rollback()
        raise
    return loaded
