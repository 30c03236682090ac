"""Login, sessions, CSRF, throttling and idle timeout over HTTP."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from regmed.registry.web_models import LoginFailure
from regmed.web import WebSettings, create_app

from .conftest import PASSWORD, Clock, login


def test_login_wrong_password_and_unauthenticated(client: TestClient) -> None:
    assert client.get("/api/me").status_code == 401
    r = client.get("/patients", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    r = client.post("/api/login", json={"username": "stat", "password": "nope"})
    assert r.status_code == 401
    assert client.get("/api/me").status_code == 401
    login(client, "stat")
    me = client.get("/api/me").json()
    assert me == {"username": "stat", "role": "statistician", "site_code": None}
    cookie = client.cookies.get("regmed_session")
    assert cookie and "correct" not in cookie


def test_session_cookie_flags(client: TestClient) -> None:
    r = client.post("/api/login", json={"username": "stat", "password": PASSWORD})
    sc = r.headers["set-cookie"].lower()
    assert "httponly" in sc and "samesite=strict" in sc


def test_csrf_required_on_writes(client: TestClient) -> None:
    headers = login(client, "admin")
    body = {"username": "newbie", "role": "statistician", "password": "a long enough one"}
    assert client.post("/api/users", json=body).status_code == 403
    assert client.post("/api/users", json=body, headers={"X-CSRF-Token": "x"}).status_code == 403
    assert client.post("/api/users", json=body, headers=headers).status_code == 201
    # a page form without the token is refused too
    r = client.post("/logout", data={}, follow_redirects=False)
    assert r.status_code == 403


def test_idle_timeout(client: TestClient, clock: Clock) -> None:
    login(client, "stat")
    clock.now += 29 * 60
    assert client.get("/api/me").status_code == 200  # activity renews the session
    clock.now += 29 * 60
    assert client.get("/api/me").status_code == 200
    clock.now += 31 * 60
    assert client.get("/api/me").status_code == 401
    assert client.get("/api/me").status_code == 401  # the session was cleared


def test_logout(client: TestClient) -> None:
    headers = login(client, "stat")
    assert client.post("/api/logout", headers=headers).status_code == 200
    assert client.get("/api/me").status_code == 401


def test_page_login_flow(client: TestClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post("/login", data={"username": "inv1", "password": "bad", "csrf_token": token})
    assert r.status_code == 401 and "wrong user name" in r.text
    r = client.post("/login", data={"username": "inv1", "password": PASSWORD,
                                    "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert "Patients" in client.get("/").text


def test_throttle_is_kept_in_the_database_across_app_instances(
    app: Any, settings: WebSettings, clock: Clock
) -> None:
    # two app instances on one registry stand for two worker processes: no shared memory
    other = create_app(settings, engine=app.state.engine)
    with TestClient(app) as a, TestClient(other) as b:
        for c in (a, b, a):
            assert c.post("/api/login", json={"username": "inv1", "password": "x"}
                          ).status_code == 401
        with Session(app.state.engine, join_transaction_mode="create_savepoint") as s:
            rows = s.execute(select(LoginFailure.username, LoginFailure.address)).all()
        assert rows == [("inv1", "testclient")] * 3  # committed although the login was refused
        r = b.post("/api/login", json={"username": "inv1", "password": PASSWORD})
        assert r.status_code == 429 and r.headers["retry-after"] == "1"
        r = a.post("/login", data={"username": "inv1", "password": PASSWORD,
                                   "csrf_token": _page_token(a)})
        assert r.status_code == 429
        clock.now += settings.throttle_window_s
        # a failure prunes every failure outside the window (guessed names do not pile up)
        assert a.post("/api/login", json={"username": "ghost", "password": "x"}
                      ).status_code == 401
        with Session(app.state.engine, join_transaction_mode="create_savepoint") as s:
            assert s.execute(select(LoginFailure.username)).scalars().all() == ["ghost"]
        assert b.post("/api/login", json={"username": "inv1", "password": PASSWORD}).is_success


def _page_token(client: TestClient) -> str:
    import re

    m = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert m
    return m.group(1)
