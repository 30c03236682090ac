"""Streamed import of large files: read by chunk, validate by chunk, write in one transaction.

:func:`import_files` feeds the tables opened by :func:`regmed.registry.io.open_folder` to
:func:`regmed.registry.importer.import_tables` one chunk of rows at a time, in the dictionary's
order, inside the caller's unit of work. Memory is bounded by the chunk, not the file. Each
chunk is checked against the registry as the earlier chunks left it (so references to rows of
an earlier table or chunk resolve), and a key given in two chunks is a duplicate as it is
within one. After the first problem the remaining chunks are still checked (and the good rows
of a refused chunk imported, so that later tables' references to them resolve) so that every
problem is reported at once; then the savepoint around the whole import is rolled back and
nothing is written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from regmed.errors import DataError, Problem
from regmed.registry.audit import AuditWriter
from regmed.registry.dictionary import TableSpec, load_dictionary
from regmed.registry.importer import ImportSummary, import_tables
from regmed.registry.io import TableFile, unreadable
from regmed.registry.sync import record_import
from regmed.registry.validate import given_columns, source_column

__all__ = ["import_files"]

Progress = Callable[[str, int], None]


def _keys(chunk: pd.DataFrame, spec: TableSpec) -> pd.DataFrame | None:
    """The rows' keys as stripped text (None when a key column is missing or doubled)."""
    chunk = chunk.rename(columns=lambda c: str(c).strip())
    given, _ = given_columns(list(chunk.columns), spec, "")
    cols = [source_column(c, given) for c in spec.key]
    if not all(c in chunk for c in cols) or chunk.columns.duplicated().any():
        return None
    return pd.DataFrame({c: chunk[c].map(lambda v: "" if v is None or v != v else str(v).strip())
                         for c in cols}).reset_index(drop=True)


class _SeenKeys:
    """The keys of the chunks read so far, as sorted 64-bit hashes with their first file row
    (8 + 8 bytes a row: a file of millions of rows is checked for repeats in little memory)."""

    def __init__(self) -> None:
        self.hashes = np.empty(0, dtype=np.uint64)
        self.rows = np.empty(0, dtype=np.int64)

    def repeated(self, keys: pd.DataFrame, offset: int, spec: TableSpec,
                 file: str) -> list[Problem]:
        """Problems for the rows whose key an earlier chunk gave; then remember this chunk's."""
        complete = (keys != "").all(axis=1).to_numpy()
        h = pd.util.hash_pandas_object(keys, index=False).to_numpy(dtype=np.uint64)
        pos = np.searchsorted(self.hashes, h)
        inside = pos < len(self.hashes)
        hit = np.zeros(len(h), dtype=bool)
        hit[inside] = self.hashes[pos[inside]] == h[inside]
        hit &= complete
        out = [
            Problem(f"duplicate key ({', '.join(keys.iloc[i])}); also in row "
                    f"{int(self.rows[pos[i]])}", file=file, row=offset + i + 1,
                    field=", ".join(spec.key))
            for i in np.flatnonzero(hit)
        ]
        new = complete & ~hit
        fresh, first = np.unique(h[new], return_index=True)
        rows = np.flatnonzero(new)[first] + offset + 1
        hashes = np.concatenate([self.hashes, fresh])
        order = np.argsort(hashes, kind="stable")
        self.hashes = hashes[order]
        self.rows = np.concatenate([self.rows, rows])[order]
        return out


def _import_the_rest(session: Session, t: TableFile, chunk: pd.DataFrame,
                     problems: Sequence[Problem], actor: str, reason: str | None,
                     key: bytes | None, overwrite: bool, today: dt.date | None) -> None:
    """Import a refused chunk's other rows, so that later tables' references to them are not
    reported as unknown (the import is refused already: all of it is rolled back)."""
    bad = {q.row - 1 for q in problems if q.row is not None}
    rest = chunk.iloc[[i for i in range(len(chunk)) if i not in bad]]
    if len(rest):
        try:
            import_tables(session, {t.name: rest}, actor=actor, reason=reason, key=key,
                          sources={t.name: t.source}, overwrite=overwrite, sync=False,
                          today=today)
        except DataError:
            pass  # rows that pass alone but not together (a duplicate, ...): left out


def import_files(
    session: Session,
    files: Sequence[TableFile],
    *,
    actor: str,
    reason: str | None = None,
    key: bytes | None = None,
    progress: Progress | None = None,
    overwrite: bool = False,
    today: dt.date | None = None,
) -> ImportSummary:
    """Import opened tables chunk by chunk in the caller's unit of work (never commits).

    The import ends with one sync event in the audit trail over the events of all chunks
    (:mod:`regmed.registry.sync`).

    Parameters
    ----------
    session : Session
        The caller's unit of work; on any problem it is left as it was (savepoints).
    files : sequence of TableFile
        From :func:`regmed.registry.io.open_folder`.
    actor, reason, key, overwrite, today
        As for :func:`~regmed.registry.importer.import_tables` (``regmed import`` passes the
        real date as ``today``: dates after it are refused).
    progress : callable, optional
        Called as ``progress(table, rows_done)`` after each chunk.

    Raises
    ------
    DataError
        Listing every problem of every chunk (rows counted from the file's start); nothing
        is written.
    """
    d = load_dictionary()
    problems: list[Problem] = []
    header_seen: set[Problem] = set()
    for t in files:
        if t.name not in d.tables:
            problems.append(Problem(f"unknown table {t.name!r}", file=t.source))
    ordered = sorted((t for t in files if t.name in d.tables), key=lambda t: d.order.index(t.name))
    inserted: dict[str, int] = {}
    updated: dict[str, int] = {}
    unchanged: dict[str, int] = {}
    events = 0
    outer = session.begin_nested()
    first = AuditWriter(session, actor).seq + 1
    try:
        for t in ordered:
            spec = d.tables[t.name]
            seen = _SeenKeys()
            offset = 0
            for k in (inserted, updated, unchanged):
                k.setdefault(t.name, 0)
            try:
                for chunk in t.chunks():
                    keys = _keys(chunk, spec)
                    if keys is not None:
                        problems += seen.repeated(keys, offset, spec, t.source)
                    try:
                        done = import_tables(session, {t.name: chunk}, actor=actor,
                                             reason=reason, key=key,
                                             sources={t.name: t.source},
                                             overwrite=overwrite, sync=False, today=today)
                    except DataError as exc:
                        found = [q if q.row is None else replace(q, row=q.row + offset)
                                 for q in exc.problems] or [Problem(exc.message, file=t.source)]
                        new = [q for q in found if q.row is not None or q not in header_seen]
                        header_seen.update(q for q in found if q.row is None)
                        problems += new
                        if any(q.row is None for q in found):
                            break  # the header is wrong: the other chunks say nothing new
                        _import_the_rest(session, t, chunk, exc.problems, actor, reason, key,
                                         overwrite, today)
                    else:
                        inserted[t.name] += done.inserted.get(t.name, 0)
                        updated[t.name] += done.updated.get(t.name, 0)
                        unchanged[t.name] += done.unchanged.get(t.name, 0)
                        events += done.events
                    offset += len(chunk)
                    if progress is not None:
                        progress(t.name, offset)
            except DataError as exc:  # the file stopped being readable part-way
                problems.append(unreadable(exc, t.source))
        if problems:
            raise DataError("import refused: nothing was written", problems)
        writer = AuditWriter(session, actor)
        record_import(writer, first, [t.source for t in ordered], reason)
        writer.flush()
        events = writer.seq - first + 1 if writer.seq >= first else 0
        outer.commit()
    except BaseException:
        if outer.is_active:
            outer.rollback()
        raise
    return ImportSummary(inserted, updated, unchanged, events)
