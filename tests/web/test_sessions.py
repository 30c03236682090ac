"""Server-side sessions over HTTP: a copied cookie is worthless after logout, revocation by an
administrator or a password change; idle and absolute lifetimes; the id rotates at login."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

import regmed.registry as reg
from regmed.registry.web_models import DataQuery, WebSession

from .conftest import PASSWORD, Clock, login


def _query_on_own_record(client: TestClient) -> int:
    """An open data query on inv1's seeded assessment."""
    with Session(client.app.state.engine,  # type: ignore[attr-defined]
                 join_transaction_mode="create_savepoint") as s:
        aid = s.execute(select(reg.Assessment.id).where(
            reg.Assessment.assessment_ref == "S01-P1-d49")).scalar_one()
        q = DataQuery(table_name="assessments", record_id=aid, field="value_text",
                      question="source?", raised_by="stat", status="open")
        s.add(q)
        s.commit()
        return q.id


def _thief(app: Any, cookie: str) -> TestClient:
    c = TestClient(app)
    c.cookies.set("regmed_session", cookie)
    return c


def test_cookie_copied_before_logout_is_refused_after(app: Any) -> None:
    with TestClient(app) as client:
        headers = login(client, "inv1")
        qid = _query_on_own_record(client)
        copied = client.cookies["regmed_session"]
        assert "inv1" not in copied
        with _thief(app, copied) as thief:
            assert thief.get("/api/me").status_code == 200  # the copy works while logged in
            assert client.post("/api/logout", headers=headers).status_code == 200
            assert thief.get("/api/me").status_code == 401
            r = thief.post(f"/api/queries/{qid}/answer", headers=headers,
                           json={"answer": "forged"})
            assert r.status_code == 401
            assert thief.get("/patients", follow_redirects=False).status_code == 303
        with reg.session_scope(app.state.engine) as s:
            assert s.get(DataQuery, qid).status == "open"  # type: ignore[union-attr]
            ended = s.execute(select(WebSession.end_reason)).scalars().all()
            assert ended == ["logout"]


def test_page_logout_ends_the_session_too(app: Any) -> None:
    with TestClient(app) as client:
        login(client, "stat")
        copied = client.cookies["regmed_session"]
        token = client.get("/").text.split('name="csrf_token" value="')[1].split('"')[0]
        assert client.post("/logout", data={"csrf_token": token},
                           follow_redirects=False).status_code == 303
        with _thief(app, copied) as thief:
            assert thief.get("/api/me").status_code == 401


def test_admin_revokes_every_session_of_a_user(app: Any) -> None:
    with TestClient(app) as a, TestClient(app) as b, TestClient(app) as admin:
        login(a, "inv1")
        login(b, "inv1")
        h = login(admin, "admin")
        r = admin.post("/api/users/inv1/revoke-sessions", headers=h)
        assert r.status_code == 200 and r.json() == {"username": "inv1", "sessions_ended": 2}
        assert a.get("/api/me").status_code == 401 and b.get("/api/me").status_code == 401
        assert admin.get("/api/me").status_code == 200
        assert admin.post("/api/users/nobody/revoke-sessions", headers=h).status_code == 422
        events = [e for e in admin.get("/api/audit", params={"table": "web_sessions"}).json()]
        assert [(e["actor"], e["reason"], e["new_values"]["sessions_ended"])
                for e in events] == [("admin", "revoked", 2)]
        login(a, "inv1")  # the user can log in again
        assert a.get("/api/me").status_code == 200


def test_password_change_ends_other_sessions_and_rotates_this_one(app: Any) -> None:
    new = "a fresh passphrase 2026"
    with TestClient(app) as a, TestClient(app) as other:
        h = login(a, "stat")
        login(other, "stat")
        before = a.cookies["regmed_session"]
        r = a.post("/api/me/password", headers=h,
                   json={"current_password": PASSWORD, "new_password": "short"})
        assert r.status_code == 422 and "12 characters" in r.text
        r = a.post("/api/me/password", headers=h,
                   json={"current_password": PASSWORD, "new_password": "password1234"})
        assert r.status_code == 422 and "common password" in r.text
        r = a.post("/api/me/password", headers=h,
                   json={"current_password": "wrong one", "new_password": new})
        assert r.status_code == 422 and "wrong" in r.text
        assert other.get("/api/me").status_code == 200  # nothing happened yet
        r = a.post("/api/me/password", headers=h,
                   json={"current_password": PASSWORD, "new_password": new})
        assert r.status_code == 200
        assert other.get("/api/me").status_code == 401
        assert a.get("/api/me").status_code == 200  # a new session for this request
        assert a.cookies["regmed_session"] != before
        with _thief(app, before) as thief:
            assert thief.get("/api/me").status_code == 401
        assert a.post("/api/logout", headers={"X-CSRF-Token": r.json()["csrf_token"]}
                      ).status_code == 200
        assert a.post("/api/login", json={"username": "stat", "password": PASSWORD}
                      ).status_code == 401
        login(a, "stat", new)


def test_password_change_page(client: TestClient) -> None:
    login(client, "inv1")
    page = client.get("/account")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    form = {"csrf_token": token, "current_password": PASSWORD, "new_password": "qwertyqwerty",
            "repeat_password": "qwertyqwerty"}
    r = client.post("/account/password", data=form)
    assert r.status_code == 422 and "common password" in r.text
    form.update(new_password="long and uncommon 7", repeat_password="long and uncommon 7")
    r = client.post("/account/password", data=form)
    assert r.status_code == 200 and "password is changed" in r.text
    assert client.get("/api/me").json()["username"] == "inv1"


def test_idle_and_absolute_lifetimes(client: TestClient, clock: Clock) -> None:
    login(client, "stat")
    for _ in range(24):  # active every 29 minutes (11.6 h): the idle limit never strikes ...
        clock.now += 29 * 60
        assert client.get("/api/me").status_code == 200
    clock.now += 29 * 60  # ... but 12 hours after the login the session ends
    assert client.get("/api/me").status_code == 401
    login(client, "stat")
    clock.now += 31 * 60
    assert client.get("/api/me").status_code == 401


def test_session_id_rotates_at_login(app: Any) -> None:
    with TestClient(app) as victim:
        victim.get("/login")  # an id an attacker could have planted before the login
        planted = victim.cookies["regmed_session"]
        login(victim, "inv1")
        assert victim.cookies["regmed_session"] != planted
        with _thief(app, planted) as attacker:
            assert attacker.get("/api/me").status_code == 401
        first = victim.cookies["regmed_session"]
        login(victim, "inv1")  # logging in again ends the previous session
        with _thief(app, first) as attacker:
            assert attacker.get("/api/me").status_code == 401
        assert victim.get("/api/me").status_code == 200


def test_inactive_user_loses_the_session(client: TestClient) -> None:
    login(client, "inv2")
    with Session(client.app.state.engine,  # type: ignore[attr-defined]
                 join_transaction_mode="create_savepoint") as s:
        u = s.execute(select(reg.User).where(reg.User.username == "inv2")).scalar_one()
        u.active = False
        s.commit()
    assert client.get("/api/me").status_code == 401
