"""Helpers of the benchmarks: a scratch registry (a SQLite file in a temp folder, or a schema
of its own on a PostgreSQL server, dropped afterwards) and a fresh child process per run."""

from __future__ import annotations

import multiprocessing as mp
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


def _child(work: Callable[..., dict], args: tuple, queue: Any) -> None:
    try:
        queue.put(work(*args))
    except BaseException as exc:  # report to the parent instead of leaving it waiting
        queue.put({"error": f"{type(exc).__name__}: {exc}"})
        raise


def in_child(work: Callable[..., dict], *args: Any) -> dict[str, Any]:
    """``work(*args)`` in a fresh (spawned) process: its memory figures are its own."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(work, args, queue))
    proc.start()
    result = queue.get()
    proc.join()
    if "error" in result:
        raise SystemExit(f"benchmark child failed: {result['error']}")
    return result
