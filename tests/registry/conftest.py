"""Fixtures: every registry test runs on SQLite and on PostgreSQL.

PostgreSQL is ``REGMED_TEST_POSTGRES_URL`` (default the local server, database ``test``); it
must answer — tests fail rather than skip. Each test session works in its own schema (named
``regmed_test_<random>``, reached through ``search_path``), dropped at the end, so that reruns
and parallel runs are clean. ``session`` gives a migrated registry inside a transaction that is
rolled back after the test; ``fresh_url`` gives an empty, migrated registry of its own (for the
command line and for round trips), dropped after the test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

import regmed.registry as reg

PG_URL = os.environ.get(
    "REGMED_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TEST_KEY = "registry-test-key-0123456789"


def _with_schema(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


class _PgSchemas:
    """Creates schemas on the test server and drops them at the end."""

    def __init__(self) -> None:
        self.admin = reg.make_engine(PG_URL)
        self.made: list[str] = []

    def new(self) -> str:
        schema = f"regmed_test_{uuid.uuid4().hex[:12]}"
        with self.admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        self.made.append(schema)
        return _with_schema(PG_URL, schema)

    def drop(self, url: str) -> None:
        schema = url.rsplit("%3D", 1)[1]
        with self.admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        self.made.remove(schema)

    def close(self) -> None:
        for schema in list(self.made):
            with self.admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def pg_schemas() -> Iterator[_PgSchemas]:
    schemas = _PgSchemas()
    try:
        yield schemas
    finally:
        schemas.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(autouse=True)
def pseudonym_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """A fixed pseudonymization key in the environment (tests that need none unset it)."""
    monkeypatch.setenv("REGMED_PSEUDONYM_KEY", TEST_KEY)
    monkeypatch.delenv("REGMED_PSEUDONYM_KEY_FILE", raising=False)
    monkeypatch.delenv("REGMED_DATABASE_URL", raising=False)
    return TEST_KEY


@pytest.fixture(scope="session")
def _engines(
    tmp_path_factory: pytest.TempPathFactory, pg_schemas: _PgSchemas
) -> Iterator[dict[str, Engine]]:
    engines: dict[str, Engine] = {}
    try:
        yield engines
    finally:
        for e in engines.values():
            e.dispose()


def _session_engine(
    backend: str,
    engines: dict[str, Engine],
    tmp_path_factory: pytest.TempPathFactory,
    pg_schemas: _PgSchemas,
) -> Engine:
    if backend not in engines:
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('registry') / 'registry.sqlite'}"
        else:
            url = pg_schemas.new()
        engine = reg.make_engine(url)
        reg.upgrade(engine)
        engines[backend] = engine
    return engines[backend]


@pytest.fixture
def engine(
    backend: str,
    _engines: dict[str, Engine],
    tmp_path_factory: pytest.TempPathFactory,
    pg_schemas: _PgSchemas,
) -> Engine:
    """A migrated registry shared by the tests of one session (per backend)."""
    return _session_engine(backend, _engines, tmp_path_factory, pg_schemas)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session in a transaction that is rolled back after the test."""
    conn = engine.connect()
    outer = conn.begin()
    s = Session(bind=conn, join_transaction_mode="create_savepoint")
    try:
        yield s
    finally:
        s.close()
        outer.rollback()
        conn.close()


@pytest.fixture
def fresh_url(
    backend: str, tmp_path_factory: pytest.TempPathFactory, pg_schemas: _PgSchemas
) -> Iterator[str]:
    """The URL of a new, migrated registry of its own (dropped after the test)."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('fresh') / 'regmed.sqlite'}"
    else:
        url = pg_schemas.new()
    reg.upgrade(url)
    yield url
    if backend == "postgresql":
        pg_schemas.drop(url)


def table_counts(session: Session) -> dict[str, int]:
    """Rows of every registry table, and of the audit trail."""
    out = {}
    for name, model in {**reg.models.AUDITED_MODELS, "audit_events": reg.AuditEvent}.items():
        out[name] = int(session.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one())
        assert model.__tablename__ == name
    return out


@pytest.fixture
def registry(session: Session) -> Session:
    """The session holding the small example registry (imported by ``tester``)."""
    from .data import small_tables

    reg.import_tables(session, small_tables(), actor="tester")
    return session


@pytest.fixture
def loaded(fresh_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
           capsys: pytest.CaptureFixture[str]) -> str:
    """A registry holding the small example registry, named by REGMED_DATABASE_URL."""
    from .data import small_tables
    from .test_cli import run

    monkeypatch.setenv("REGMED_DATABASE_URL", fresh_url)
    folder = tmp_path / "base"
    folder.mkdir()
    for name, frame in small_tables().items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    code, _, err = run(["init"], capsys)
    assert code == 0, err
    code, _, err = run(["import", str(folder), "--actor", "ana"], capsys)
    assert code == 0, err
    return fresh_url
