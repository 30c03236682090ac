"""Fast bulk inserts through the caller's connection (same transaction, no ORM objects).

SQLite gets ``executemany`` on the driver's cursor; PostgreSQL gets ``COPY ... FROM STDIN``
(psycopg 3). Values are plain Python values; dates are written as ISO text on SQLite, exactly as
SQLAlchemy's ``Date`` type stores them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

__all__ = ["bulk_insert", "max_id"]


def _sqlite_value_columns(table: Table, columns: Sequence[str], values: list[list[Any]]) -> None:
    for j, name in enumerate(columns):
        col = table.c[name]
        try:
            py = col.type.python_type
        except NotImplementedError:  # pragma: no cover
            py = None
        if py is dt.date:
            values[j] = [None if v is None else v.isoformat() for v in values[j]]
        elif py is dt.datetime:
            values[j] = [
                None if v is None else v.strftime("%Y-%m-%d %H:%M:%S.%f") for v in values[j]
            ]


def bulk_insert(
    session: Session, table: Table, columns: Sequence[str], values: Sequence[Sequence[Any]]
) -> None:
    """Insert rows given column-wise (``values[j]`` holds column ``columns[j]``)."""
    if not values or not len(values[0]):
        return
    conn = session.connection()
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    names = ", ".join(f'"{c}"' for c in columns)
    if conn.dialect.name == "sqlite":
        cols = [list(v) for v in values]
        _sqlite_value_columns(table, columns, cols)
        marks = ", ".join("?" for _ in columns)
        cur = dbapi.cursor()
        try:
            cur.executemany(
                f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})',
                zip(*cols, strict=True),  # type: ignore[arg-type]
            )
        finally:
            cur.close()
    elif conn.dialect.name == "postgresql":
        cur = dbapi.cursor()
        try:
            with cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                for row in zip(*values, strict=True):
                    copy.write_row(row)
        finally:
            cur.close()
    else:  # pragma: no cover - other backends go through SQLAlchemy
        rows = [dict(zip(columns, r, strict=True)) for r in zip(*values, strict=True)]
        conn.execute(table.insert(), rows)


def max_id(session: Session, table: Table) -> int:
    """The largest ``id`` in ``table`` (0 when empty)."""
    return int(session.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one())
