"""PostgreSQL: the grants of docs/archive.md leave the application role unable to switch off
the audit guards (TRUNCATE, DELETE, DISABLE/DROP TRIGGER, session_replication_role)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

import regmed.registry as reg

from .conftest import PG_URL
from .data import small_tables

GRANTS = """
GRANT USAGE ON SCHEMA {s} TO {app};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {app};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {app};
REVOKE DELETE, TRUNCATE, TRIGGER, REFERENCES ON {s}.audit_events FROM {app};
REVOKE DELETE, TRUNCATE, TRIGGER ON {s}.audit_keys FROM {app};
"""


def _url(user: str, schema: str) -> str:
    url = make_url(PG_URL).set(username=user, password=None)
    return url.render_as_string(hide_password=False) + f"?options=-csearch_path%3D{schema}"


@pytest.fixture
def roles() -> Iterator[tuple[str, str, str]]:
    tag = uuid.uuid4().hex[:8]
    owner, app, schema = f"regmed_owner_{tag}", f"regmed_app_{tag}", f"regmed_grants_{tag}"
    admin = reg.make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE ROLE {owner} LOGIN"))
        conn.execute(text(f"CREATE ROLE {app} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                          "NOREPLICATION NOBYPASSRLS"))
        conn.execute(text(f"CREATE SCHEMA {schema} AUTHORIZATION {owner}"))
    try:
        yield owner, app, schema
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            for role in (app, owner):
                conn.execute(text(f"DROP OWNED BY {role}"))
                conn.execute(text(f"DROP ROLE {role}"))
        admin.dispose()


def test_the_app_role_cannot_switch_the_audit_guards_off(
    roles: tuple[str, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner, app, schema = roles
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    reg.upgrade(_url(owner, schema))  # migrations run as the owner
    owner_engine = reg.make_engine(_url(owner, schema))
    with owner_engine.begin() as conn:
        for statement in GRANTS.format(s=schema, app=app).split(";"):
            if statement.strip():
                conn.execute(text(statement))
    owner_engine.dispose()
    engine = reg.make_engine(_url(app, schema))
    try:
        with reg.session_scope(engine) as s:  # regmed itself works as the app role
            reg.import_tables(s, small_tables(), actor="site")
        refused = {
            "TRUNCATE audit_events": "permission denied",
            "DELETE FROM audit_events": "permission denied",
            "UPDATE audit_events SET reason = 'x'": "append-only",
            "ALTER TABLE audit_events DISABLE TRIGGER ALL": "must be owner",
            "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_truncate": "must be owner",
            "DROP TRIGGER audit_events_append_only ON audit_events": "must be owner",
            "SET session_replication_role = replica": "permission denied",
            "DELETE FROM audit_keys": "permission denied",
        }
        for sql, why in refused.items():
            with engine.connect() as conn, pytest.raises(DBAPIError, match=why):
                conn.execute(text(sql))
        with reg.session_scope(engine) as s:
            assert reg.verify_audit(s).ok
    finally:
        engine.dispose()
