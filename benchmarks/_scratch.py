"""A scratch registry for the benchmarks: a migrated SQLite file in a temp folder, or a schema
of its own on a PostgreSQL server, dropped afterwards."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

import regmed.registry as reg


@contextmanager
def scratch_url(database: str | None, prefix: str) -> Iterator[str]:
    """The URL of an empty database (``database``: a PostgreSQL URL; default SQLite)."""
    with tempfile.TemporaryDirectory() as folder:
        if not database:
            yield f"sqlite:///{Path(folder) / f'{prefix}.sqlite'}"
            return
        schema = f"regmed_{prefix}_{uuid.uuid4().hex[:10]}"
        admin = reg.make_engine(database)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in database else "?"
        try:
            yield f"{database}{sep}options=-csearch_path%3D{schema}"
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()
