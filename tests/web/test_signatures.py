"""Electronic signatures through the signing page and the API (password re-asked, coded
meaning, manifestation on the record page and in the record data), source data verification
by a monitor (audited, stale after a change), and the TOTP second factor."""

from __future__ import annotations

import re
from typing import Any

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

import regmed.registry as reg

from .conftest import PASSWORD, Clock, login, patient_id


def _token(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m
    return m.group(1)


def _set_full_name(client: TestClient, username: str, name: str) -> None:
    with Session(client.app.state.engine,  # type: ignore[attr-defined]
                 join_transaction_mode="create_savepoint") as s:
        user = s.execute(select(reg.User).where(reg.User.username == username)).scalar_one()
        reg.update_record(user, {"full_name": name}, session=s, actor="admin",
                          reason="printed name for e-signatures")
        s.commit()


def _assessment(client: TestClient, pid: int) -> int:
    return int(client.get(f"/api/patients/{pid}").json()["assessments"][0]["id"])


def test_signing_page_re_asks_the_password_and_shows_the_manifestation(
        client: TestClient) -> None:
    _set_full_name(client, "inv1", "Ichiro Yamada")
    h = login(client, "inv1")
    pid = patient_id(client, "S01", h)
    aid = _assessment(client, pid)
    page = client.get(f"/records/assessments/{aid}/sign")
    assert page.status_code == 200 and 'type="password"' in page.text
    assert "authored" in page.text and "approved" in page.text and "not signed" in page.text
    form = {"csrf_token": _token(page.text), "meaning": "authored", "password": "not mine"}
    r = client.post(f"/records/assessments/{aid}/sign", data=form)
    assert r.status_code == 422 and "password" in r.text
    r = client.post(f"/records/assessments/{aid}/sign", data={**form, "meaning": "sold"})
    assert r.status_code == 422 and "signs as" in r.text
    r = client.post(f"/records/assessments/{aid}/sign", data={**form, "password": PASSWORD},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(f"/patients/{pid}")
    # the manifestation: printed name, time (UTC), meaning, on the record page ...
    html = client.get(f"/patients/{pid}").text
    assert re.search(r"Signed by <b>Ichiro Yamada</b> \(inv1\) on 20\d\d-\d\d-\d\dT[\d:.]+Z UTC"
                     r" — meaning: <b>authored</b>", html), html
    # ... and in the record's data
    a = client.get(f"/api/patients/{pid}").json()["assessments"][0]
    assert a["locked"] is True
    [s] = a["signatures"]
    assert (s["printed_name"], s["signed_by"], s["meaning"]) == ("Ichiro Yamada", "inv1",
                                                                 "authored")
    assert s["signed_at"].endswith("Z") and len(s["record_sha256"]) == 64
    # a second meaning is a second signature; the same one again is refused
    r = client.post(f"/api/records/assessments/{aid}/signature", headers=h,
                    json={"password": PASSWORD, "meaning": "approved"})
    assert r.status_code == 201 and r.json()["printed_name"] == "Ichiro Yamada"
    r = client.post(f"/api/records/assessments/{aid}/signature", headers=h,
                    json={"password": PASSWORD, "meaning": "authored"})
    assert r.status_code == 422 and "already" in r.text
    # statisticians and regulators see pseudonyms in place of the signers' names
    login(client, "reg")
    text = client.get(f"/api/patients/{pid}").text
    assert "Ichiro Yamada" not in text and '"meaning":"approved"' in text
    # unlocking withdraws the signatures (audited, with the reason)
    h = login(client, "inv1")
    assert client.post(f"/api/records/assessments/{aid}/unlock", headers=h,
                       json={"reason": "lab value corrected"}).status_code == 200
    a = client.get(f"/api/patients/{pid}").json()["assessments"][0]
    assert a["locked"] is False and a["signatures"] == []
    with reg.session_scope(client.app.state.engine) as s:  # type: ignore[attr-defined]
        log = reg.audit_log(s, "record_signatures", key=f"assessments:{aid}")
        assert [(e["action"], e["reason"]) for e in log] == [
            ("insert", None), ("insert", None), ("update", "lab value corrected"),
            ("update", "lab value corrected")]
        assert log[0]["new_values"]["printed_name"] == "Ichiro Yamada"
        assert reg.verify_audit(s).ok


def test_wrong_passwords_at_signing_are_throttled(client: TestClient, clock: Clock) -> None:
    h = login(client, "inv1")
    aid = _assessment(client, patient_id(client, "S01", h))
    url = f"/api/records/assessments/{aid}/signature"
    for _ in range(3):
        r = client.post(url, headers=h, json={"password": "guess", "meaning": "authored"})
        assert r.status_code == 422 and "wrong" in r.text
    r = client.post(url, headers=h, json={"password": PASSWORD, "meaning": "authored"})
    assert r.status_code == 422 and "too many" in r.text  # a stolen session guesses slowly
    clock.now += 2
    assert client.post(url, headers=h, json={"password": PASSWORD, "meaning": "authored"}
                       ).status_code == 201


def test_monitor_marks_fields_source_verified(client: TestClient) -> None:
    h = login(client, "inv1")
    pid = patient_id(client, "S01", h)
    aid = _assessment(client, pid)
    h = login(client, "mon")
    url = f"/api/records/assessments/{aid}/verification"
    r = client.post(url, headers=h, json={"fields": ["value_text", "nope", "id"]})
    assert r.status_code == 422 and "nope" in r.text and "id" in r.text
    r = client.post(url, headers=h, json={"fields": ["value_text", "assessed_on"]})
    assert r.status_code == 200
    assert {(v["field"], v["verified_by"], v["current"]) for v in r.json()} == {
        ("value_text", "mon", True), ("assessed_on", "mon", True)}
    page = client.get(f"/patients/{pid}")
    assert page.status_code == 200 and "value_text: verified" in page.text
    # the monitor signs as "reviewed", never as author
    r = client.post(f"/api/records/assessments/{aid}/signature", headers=h,
                    json={"password": PASSWORD, "meaning": "authored"})
    assert r.status_code == 422 and "reviewed" in r.text
    # a change of the field after verification shows the mark as stale
    h = login(client, "inv1")
    assert client.patch(f"/api/assessments/{aid}", headers=h, json={
        "changes": {"value_text": "D"}, "reason": "typo"}).status_code == 200
    marks = {v["field"]: v["current"] for v in
             client.get(f"/api/patients/{pid}").json()["assessments"][0]["source_verified"]}
    assert marks == {"value_text": False, "assessed_on": True}
    # only a monitor verifies
    assert client.post(url, headers=h, json={"fields": ["value"]}).status_code == 403
    with reg.session_scope(client.app.state.engine) as s:  # type: ignore[attr-defined]
        log = reg.audit_log(s, "source_verifications")
        assert sorted((e["action"], e["actor"], e["new_values"]["field"]) for e in log) == [
            ("insert", "mon", "assessed_on"), ("insert", "mon", "value_text")]


def test_totp_second_factor_for_login_and_signing(client: TestClient, clock: Clock) -> None:
    h = login(client, "inv1")
    assert client.post("/api/me/totp", headers=h).status_code == 403  # admins, statisticians
    h = login(client, "stat")
    setup = client.post("/api/me/totp", headers=h).json()
    assert setup["uri"].startswith("otpauth://totp/") and "stat" in setup["uri"]
    totp = pyotp.TOTP(setup["secret"])
    # not in force until confirmed: the password alone still logs in
    assert client.post("/api/login", json={"username": "stat", "password": PASSWORD}
                       ).is_success
    h = {"X-CSRF-Token": client.post("/api/login", json={
        "username": "stat", "password": PASSWORD}).json()["csrf_token"]}
    assert client.post("/api/me/totp/confirm", headers=h, json={"otp": "000000"}
                       ).status_code == 422
    code = totp.at(clock.now)
    assert client.post("/api/me/totp/confirm", headers=h, json={"otp": code}).status_code == 200
    # now the password alone is refused, with the same message as a wrong password
    r = client.post("/api/login", json={"username": "stat", "password": PASSWORD})
    assert r.status_code == 401 and r.json()["detail"].startswith("wrong user name")
    # a used code is not accepted again; the next one is
    r = client.post("/api/login", json={"username": "stat", "password": PASSWORD, "otp": code})
    assert r.status_code == 401
    clock.now += 30
    r = client.post("/api/login", json={"username": "stat", "password": PASSWORD,
                                        "otp": totp.at(clock.now)})
    assert r.status_code == 200
    assert client.get("/api/me").json()["username"] == "stat"
    with reg.session_scope(client.app.state.engine) as s:  # type: ignore[attr-defined]
        row = s.execute(select(reg.User).where(reg.User.username == "stat")).scalar_one()
        assert row is not None
        events = reg.audit_log(s, "user_totp")
        assert [e["new_values"]["confirmed"] for e in events] == [False, True]
        assert all("secret" not in str(e) for e in events)


def test_totp_setup_page(client: TestClient, clock: Clock) -> Any:
    login(client, "admin")
    page = client.get("/account")
    assert "set up a second factor" in page.text
    r = client.post("/account/totp", data={"csrf_token": _token(page.text)})
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', r.text)
    assert r.status_code == 200 and secret
    r = client.post("/account/totp", data={"csrf_token": _token(r.text),
                                           "otp": pyotp.TOTP(secret.group(1)).at(clock.now)})
    assert r.status_code == 200 and "second factor is in force" in r.text
