"""Engines, sessions and schema upgrades.

No module-level engine: :func:`make_engine` reads ``REGMED_DATABASE_URL`` when called. SQLite
(the default, ``sqlite:///regmed.sqlite`` in the current folder) runs in WAL mode with foreign
keys on; PostgreSQL is used when the URL names one (driver ``postgresql+psycopg``). The schema
is made and changed only by the Alembic migrations shipped in ``regmed/registry/migrations``
(:func:`upgrade`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from regmed.errors import RegmedError

__all__ = [
    "DEFAULT_URL",
    "database_url",
    "make_engine",
    "session_scope",
    "upgrade",
    "current_revision",
    "head_revision",
    "sqlite_path",
]

#: The registry used when ``REGMED_DATABASE_URL`` is unset.
DEFAULT_URL = "sqlite:///regmed.sqlite"
MIGRATIONS = Path(__file__).parent / "migrations"


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
    conn.exec_driver_sql("BEGIN")


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
