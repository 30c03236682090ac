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
from sqlalchemy.exc import DBAPIError
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


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, float):
        return float.__repr__(value)
    if isinstance(value, (int, dt.date)):
        return str(value) if isinstance(value, int) else value.isoformat()
    if hasattr(value, "item"):  # numpy scalar
        return _copy_text(value.item())
    return str(value).translate(_ESCAPES)


def _copy_column(values: Sequence[Any]) -> list[str]:
    """Values in PostgreSQL's COPY text format (NULL as \\N, specials escaped)."""
    kinds = {type(v) for v in values} - {type(None)}
    if kinds <= {str}:
        esc = _ESCAPES
        return [
            "\\N"
            if v is None
            else (v.translate(esc) if ("\\" in v or "\t" in v or "\n" in v or "\r" in v) else v)
            for v in values
        ]
    if kinds <= {int}:
        return ["\\N" if v is None else int.__repr__(v) for v in values]
    if kinds <= {float}:
        return ["\\N" if v is None else float.__repr__(v) for v in values]
    if kinds <= {bool}:
        return ["\\N" if v is None else ("t" if v else "f") for v in values]
    if kinds <= {dt.date}:
        return ["\\N" if v is None else v.isoformat() for v in values]
    return [_copy_text(v) for v in values]


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
    driver_error = conn.dialect.loaded_dbapi.Error
    try:
        _driver_insert(conn.dialect.name, dbapi, table, names, columns, values)
    except driver_error as exc:  # give SQLAlchemy's exception types (IntegrityError, ...)
        raise DBAPIError.instance(
            f'INSERT INTO "{table.name}"', None, exc, driver_error, dialect=conn.dialect
        ) from exc


def _driver_insert(
    dialect: str,
    dbapi: Any,
    table: Table,
    names: str,
    columns: Sequence[str],
    values: Sequence[Sequence[Any]],
) -> None:
    if dialect == "sqlite":
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
    elif dialect == "postgresql":
        cols = [_copy_column(v) for v in values]
        cur = dbapi.cursor()
        try:
            with cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                rows = list(zip(*cols, strict=True))
                for start in range(0, len(rows), 20000):
                    chunk = rows[start : start + 20000]
                    copy.write("\n".join("\t".join(r) for r in chunk) + "\n")
        finally:
            cur.close()
    else:  # pragma: no cover - other backends
        raise NotImplementedError(f"bulk insert on {dialect}")


def max_id(session: Session, table: Table) -> int:
    """The largest ``id`` in ``table`` (0 when empty)."""
    return int(session.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one())
