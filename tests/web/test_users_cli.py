"""`regmed users add|set-password|revoke-sessions|set-preferences` on a real registry: the
password policy, the end of web sessions and the language and date style from the command
line."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

import regmed.registry as reg
from regmed.cli import app
from regmed.web import WebSettings, create_app

GOOD = "a quite long passphrase"


@pytest.fixture()
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    monkeypatch.setenv("REGMED_DATABASE_URL", url)
    reg.upgrade(url)
    return url


def test_users_add_refuses_weak_passwords(url: str) -> None:
    runner = CliRunner()
    for weak, why in (("short", "at least 12"), ("password1234", "common password"),
                      ("zzzzzzzzzzzzzq", "repeats"), ("xx-admin-xx-2026", "user name")):
        r = runner.invoke(app, ["users", "add", "admin", "--role", "admin", "--set-password"],
                          input=f"{weak}\n{weak}\n")
        assert r.exit_code != 0 and why in str(r.exception), (weak, r.output)
    r = runner.invoke(app, ["users", "add", "admin", "--role", "admin", "--set-password",
                            "--full-name", "Hanako Admin"], input=f"{GOOD}\n{GOOD}\n")
    assert r.exit_code == 0, r.output
    with reg.session_scope(reg.make_engine(url)) as s:
        users = reg.list_users(session=s)
        assert [(u["username"], u["has_password"]) for u in users] == [("admin", True)]


def test_set_password_and_revoke_sessions_end_web_sessions(url: str) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["users", "add", "stat", "--role", "statistician", "--set-password"],
                      input=f"{GOOD}\n{GOOD}\n")
    assert r.exit_code == 0, r.output
    web = create_app(WebSettings(secret_key="cli-web-secret-0123456789", database_url=url,
                                 secure_cookies=False))
    try:
        with TestClient(web) as c:
            assert c.post("/api/login", json={"username": "stat", "password": GOOD}).is_success
            r = runner.invoke(app, ["users", "revoke-sessions", "stat"])
            assert r.exit_code == 0 and "1 web session of stat ended" in r.output
            assert c.get("/api/me").status_code == 401
            assert c.post("/api/login", json={"username": "stat", "password": GOOD}).is_success
            r = runner.invoke(app, ["users", "set-password", "stat"], input="qwerty\nqwerty\n")
            assert r.exit_code != 0 and "at least 12" in str(r.exception)
            assert c.get("/api/me").status_code == 200  # a refused change ends nothing
            new = "another long passphrase"
            r = runner.invoke(app, ["users", "set-password", "stat"], input=f"{new}\n{new}\n")
            assert r.exit_code == 0 and "1 web session ended" in r.output
            assert c.get("/api/me").status_code == 401
            assert c.post("/api/login", json={"username": "stat", "password": new}).is_success
        r = runner.invoke(app, ["users", "revoke-sessions", "nobody"])
        assert r.exit_code != 0 and "no user 'nobody'" in str(r.exception)
    finally:
        web.state.engine.dispose()


def test_first_admin_on_a_new_registry_then_a_password_later(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`users add --role admin` on a fresh folder creates the registry (and its keys); a user
    added without a password gets one from `users set-password` and can then log in."""
    url = f"sqlite:///{tmp_path / 'new.sqlite'}"
    monkeypatch.setenv("REGMED_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    r = runner.invoke(app, ["users", "add", "boss", "--role", "admin"])
    assert r.exit_code == 0, r.output
    assert "added user boss (admin)" in r.output
    assert "regmed users set-password boss" in r.output  # says how to get a password
    assert reg.current_revision(reg.make_engine(url)) == reg.head_revision()
    web = create_app(WebSettings(secret_key="cli-web-secret-0123456789", database_url=url,
                                 secure_cookies=False))
    try:
        with TestClient(web) as c:
            assert c.post("/api/login", json={"username": "boss", "password": GOOD}
                          ).status_code == 401
            r = runner.invoke(app, ["users", "set-password", "boss"], input=f"{GOOD}\n{GOOD}\n")
            assert r.exit_code == 0, r.output
            assert c.post("/api/login", json={"username": "boss", "password": GOOD}).is_success
    finally:
        web.state.engine.dispose()


def test_users_add_and_set_preferences_from_the_command_line(url: str) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["users", "add", "ana", "--role", "admin", "--language", "en",
                            "--date-style", "wareki"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["users", "add", "bo", "--role", "admin", "--language", "fr"])
    assert r.exit_code != 0 and "'fr' is not one of ja, en" in str(r.exception)
    r = runner.invoke(app, ["users", "set-preferences", "ana", "--language", "ja"])
    assert r.exit_code == 0 and "language ja, dates wareki" in r.output, r.output
    engine = reg.make_engine(url)
    try:
        with reg.session_scope(engine) as s:
            user = s.scalars(select(reg.User).where(reg.User.username == "ana")).one()
            assert (user.language, user.date_style) == ("ja", "wareki")
            log = reg.audit_log(s, "users")
            assert [e["action"] for e in log] == ["insert", "update"]
            assert log[0]["new_values"]["language"] == "en"
            assert log[1]["reason"] == "language and date preference"
            assert [u["username"] for u in reg.list_users(session=s)] == ["ana"]
    finally:
        engine.dispose()
