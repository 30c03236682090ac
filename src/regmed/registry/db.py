"""Engines, sessions and schema upgrades.

No module-level engine: :func:`make_engine` reads ``REGMED_DATABASE_URL`` when called. SQLite
(the default, ``sqlite:///regmed.sqlite`` in the current folder) runs in WAL mode with foreign
keys on; PostgreSQL is used when the URL names one (driver ``postgresql+psycopg``). The schema
is made and changed only by the Alembic migrations shipped in ``regmed/registry/migrations``
(:func:`upgrade`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from regmed.errors import RegmedError

__all__ = [
    "DEFAULT_URL",
    "database_url",
    "make_engine",
    "session_scope",
    "write_engine",
    "run_write",
    "upgrade",
    "current_revision",
    "head_revision",
    "sqlite_path",
]

#: The registry used when ``REGMED_DATABASE_URL`` is unset.
DEFAULT_URL = "sqlite:///regmed.sqlite"
MIGRATIONS = Path(__file__).parent / "migrations"
_BEGIN_OPTION = "regmed_sqlite_begin"
T = TypeVar("T")


def database_url(url: str | None = None) -> str:
    """Return ``url``, else ``REGMED_DATABASE_URL``, else :data:`DEFAULT_URL`.

    ``postgresql://`` and ``postgres://`` URLs are given the ``psycopg`` driver.
    """
    url = url or os.environ.get("REGMED_DATABASE_URL") or DEFAULT_URL
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    return url


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (None for in-memory or other backends)."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


def _sqlite_connect(dbapi_connection: Any, connection_record: Any) -> None:
    # Let SQLAlchemy emit BEGIN itself so that SAVEPOINTs work (pysqlite's own transaction
    # handling breaks them), then switch on foreign keys and WAL.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # ``write_engine`` asks for BEGIN IMMEDIATE: the write lock is taken (waiting up to the
    # busy timeout) before the first read, so a writer's snapshot can never go stale.
    mode = conn.get_execution_options().get(_BEGIN_OPTION, "")
    conn.exec_driver_sql(f"BEGIN {mode}".strip())


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """Create an engine on ``url`` (default: ``REGMED_DATABASE_URL`` or ``regmed.sqlite``).

    Parameters
    ----------
    url : str, optional
        A SQLAlchemy URL. PostgreSQL URLs use the ``psycopg`` driver.
    **kwargs
        Passed to :func:`sqlalchemy.create_engine`.

    Examples
    --------
    >>> engine = make_engine("sqlite://")
    >>> engine.dialect.name
    'sqlite'
    """
    url = database_url(url)
    try:
        engine = create_engine(url, **kwargs)
    except Exception as exc:  # bad URL or missing driver: a user mistake
        raise RegmedError(f"cannot open the registry at {url!r}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def write_engine(engine: Engine) -> Engine:
    """The engine for a unit of work that will write: on SQLite its transactions begin with
    ``BEGIN IMMEDIATE`` (one writer at a time; the others wait), elsewhere ``engine`` itself."""
    if engine.dialect.name != "sqlite":
        return engine
    return engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})


def _locked(exc: BaseException) -> bool:
    text = str(getattr(exc, "orig", exc)).lower()
    return isinstance(exc, OperationalError) and (
        "database is locked" in text or "database table is locked" in text
    )


def run_write(
    engine: Engine,
    work: Callable[[Session], T],
    *,
    wait: float = 600.0,
    pause: float = 0.5,
) -> T:
    """Run ``work(session)`` in one unit of work that writes, retrying while SQLite is busy.

    On SQLite the transaction begins with ``BEGIN IMMEDIATE`` (see :func:`write_engine`), so
    a second writer waits for the first (the busy timeout) instead of failing half-way; when
    the wait runs out ("database is locked") the whole unit of work is rolled back and run
    again from the start (it reads the registry afresh), for up to ``wait`` seconds in all.

    Raises
    ------
    RegmedError
        When the registry stayed locked for ``wait`` seconds.
    """
    target = write_engine(engine)
    deadline = time.monotonic() + wait
    while True:
        try:
            with session_scope(target) as session:
                return work(session)
        except OperationalError as exc:
            if not _locked(exc) or time.monotonic() >= deadline:
                if _locked(exc):
                    raise RegmedError(
                        f"the registry stayed locked by another writer for {wait:.0f} s; "
                        "nothing was written — try again later"
                    ) from None
                raise
            time.sleep(pause)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A unit of work: yields a session, commits on success, rolls back on error.

    Services never commit; the caller's ``session_scope`` does.
    """
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _alembic_config(connection: Any) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine_or_url: Engine | str | None = None, revision: str = "head") -> str:
    """Bring the registry's schema to ``revision`` (default the newest) with Alembic.

    This is the only way the schema is made. Returns the revision reached.
    """
    from alembic import command

    engine = engine_or_url if isinstance(engine_or_url, Engine) else make_engine(engine_or_url)
    path = sqlite_path(str(engine.url))
    if path is not None and path.parent and not path.parent.exists():
        raise RegmedError(f"the folder of the registry {str(path)!r} does not exist")
    try:
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), revision)
        return current_revision(engine) or ""
    finally:
        if not isinstance(engine_or_url, Engine):
            engine.dispose()


def current_revision(engine: Engine) -> str | None:
    """The schema revision the registry is at (None when it has no schema)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    """The newest revision shipped with this regmed."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS))
    head = script.get_current_head()
    assert head is not None
    return head
