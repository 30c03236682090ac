"""Data files of lots (single-cell ``.h5ad``): registered with their SHA-256, audited.

A lot's file is recorded by path, kind, size and SHA-256 through :func:`add_record`, so the
audit trail shows who registered which content when; :func:`lot_files` checks that each file
still has the registered content before an analysis reads it.

Examples
--------
>>> import regmed.registry as reg
>>> engine = reg.make_engine("sqlite://")
>>> _ = reg.upgrade(engine)
>>> with reg.session_scope(engine) as session:
...     lot_files(session).empty
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from regmed.errors import DataError, Problem
from regmed.registry.models import Lot, LotFile, LotResult, QualityAttribute
from regmed.registry.services import add_record, update_record

__all__ = ["FILE_KINDS", "file_sha256", "register_lot_file", "lot_files", "lot_attribute"]

#: Kinds of lot files and the suffix each must have.
FILE_KINDS = {"h5ad": ".h5ad"}


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's content (hex), read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def register_lot_file(
    lot_code: str,
    path: str | Path,
    *,
    session: Session,
    actor: str,
    kind: str = "h5ad",
    description: str | None = None,
    reason: str | None = None,
) -> LotFile:
    """Record that ``path`` holds lot ``lot_code``'s data, with its size and SHA-256.

    The path is stored absolute. Registering the same lot, kind and path again updates the
    recorded hash (the content changed) and then needs a ``reason``.

    Raises
    ------
    DataError
        Unknown lot, unknown kind, wrong suffix, or the file does not exist — all at once.
    """
    problems = []
    p = Path(path).expanduser()
    lot = session.execute(select(Lot).where(Lot.lot_code == lot_code)).scalar()
    if lot is None:
        problems.append(Problem(f"unknown lot {lot_code!r}", field="lot_code"))
    if kind not in FILE_KINDS:
        problems.append(Problem(f"unknown kind {kind!r} (one of {', '.join(FILE_KINDS)})",
                                field="kind"))
    elif p.suffix.lower() != FILE_KINDS[kind]:
        problems.append(Problem(f"a {kind} file must end in {FILE_KINDS[kind]}",
                                file=str(p), field="path"))
    if not p.is_file():
        problems.append(Problem("file not found", file=str(p), field="path"))
    if problems:
        raise DataError(f"cannot register a file for lot {lot_code!r}", problems)
    assert lot is not None
    p = p.resolve()
    digest, size = file_sha256(p), p.stat().st_size
    existing = session.execute(select(LotFile).where(
        LotFile.lot_id == lot.id, LotFile.kind == kind, LotFile.path == str(p))).scalar()
    if existing is not None:
        changes = {"sha256": digest, "size_bytes": size}
        if description is not None:
            changes["description"] = description
        return update_record(existing, changes, session=session, actor=actor,
                             reason=reason)  # type: ignore[return-value]
    record = LotFile(lot_id=lot.id, kind=kind, path=str(p), sha256=digest, size_bytes=size,
                     description=description)
    return add_record(record, session=session, actor=actor, reason=reason)  # type: ignore


def lot_files(session: Session, lots: Sequence[str] | None = None, *, kind: str = "h5ad",
              verify: bool = False) -> pd.DataFrame:
    """Registered files: ``lot_code, kind, path, sha256, size_bytes, description``.

    With ``verify=True`` every file is re-hashed; a missing file or one whose content changed
    since registration raises :class:`DataError` naming each.
    """
    q = (select(Lot.lot_code, LotFile.kind, LotFile.path, LotFile.sha256, LotFile.size_bytes,
                LotFile.description)
         .join(Lot, Lot.id == LotFile.lot_id).where(LotFile.kind == kind)
         .order_by(Lot.lot_code, LotFile.path))
    if lots is not None:
        q = q.where(Lot.lot_code.in_(list(lots)))
    frame = pd.DataFrame(session.execute(q).all(),
                         columns=["lot_code", "kind", "path", "sha256", "size_bytes",
                                  "description"])
    if verify:
        problems = []
        for row in frame.itertuples():
            if not Path(row.path).is_file():
                problems.append(Problem("registered file is missing", file=row.path,
                                        field=f"lot {row.lot_code}"))
            elif file_sha256(row.path) != row.sha256:
                problems.append(Problem("content changed since it was registered (SHA-256 "
                                        "differs)", file=row.path, field=f"lot {row.lot_code}"))
        if problems:
            raise DataError("registered lot files cannot be used", problems)
    return frame


def lot_attribute(session: Session, attribute_code: str) -> pd.Series:
    """Each lot's result for one quality attribute (e.g. potency): a Series by lot code.

    Raises :class:`DataError` when no lot has a result for ``attribute_code``.
    """
    rows = session.execute(
        select(Lot.lot_code, LotResult.value)
        .join(LotResult, LotResult.lot_id == Lot.id)
        .join(QualityAttribute, QualityAttribute.id == LotResult.attribute_id)
        .where(QualityAttribute.attribute_code == attribute_code)
        .order_by(Lot.lot_code)).all()
    if not rows:
        raise DataError(f"no lot has a result for attribute {attribute_code!r}",
                        [Problem("no lot_results", field=f"attribute {attribute_code}")])
    s = pd.Series({str(code): float(v) for code, v in rows}, name=attribute_code)
    s.index.name = "lot"
    return s
