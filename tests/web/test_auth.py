"""Login, sessions, CSRF, throttling and idle timeout over HTTP."""

from __future__ import annotations

from fastapi.testclient import TestClient

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
    body = {"username": "newbie", "role": "statistician", "password": "longenough1"}
    assert client.post("/api/users", json=body).status_code == 403
    assert client.post("/api/users", json=body, headers={"X-CSRF-Token": "x"}).status_code == 403
    assert client.post("/api/users", json=body, headers=headers).status_code == 201
    # a page form without the token is refused too
    r = client.post("/logout", data={}, follow_redirects=False)
    assert r.status_code == 403


def test_throttle_after_five_failures(client: TestClient, clock: Clock) -> None:
    for _ in range(5):
        r = client.post("/api/login", json={"username": "inv1", "password": "bad"})
        assert r.status_code == 401
    r = client.post("/api/login", json={"username": "inv1", "password": PASSWORD})
    assert r.status_code == 429
    # another user is not affected
    assert client.post("/api/login", json={"username": "inv2", "password": PASSWORD}).is_success
    clock.now += 15 * 60
    assert client.post("/api/login", json={"username": "inv1", "password": PASSWORD}).is_success


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
