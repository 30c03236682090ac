"""Hardening over HTTP: non-finite numbers refused with 422 everywhere (JSON and forms), the
OpenAPI document only for logged-in administrators and statisticians, security headers (CSP,
Referrer-Policy, nosniff, HSTS behind TLS), and blinded reviewers' errors without dates."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

import regmed.registry as reg
from regmed.web import WebSettings, create_app

from .conftest import login, patient_id

ASSESS = ('{"endpoint": "ais_grade", "visit": "day180", "assessed_on": "2026-06-30", '
          '"value": NUMBER, "assessor": "Dr. B", "assessor_role": "blinded_independent", '
          '"blinded": true}')
JSON = {"content-type": "application/json"}


def _ids(client: TestClient) -> dict[str, int]:
    with Session(client.app.state.engine,  # type: ignore[attr-defined]
                 join_transaction_mode="create_savepoint") as s:
        a1 = s.execute(select(reg.Assessment.id).where(
            reg.Assessment.assessment_ref == "S01-P1-d49")).scalar_one()
        g1 = s.execute(select(reg.AdjudicationAssignment.id)
                       .join(reg.User, reg.User.id == reg.AdjudicationAssignment.user_id)
                       .where(reg.User.username == "adj1")).scalar_one()
    return {"a1": a1, "g1": g1}


@pytest.mark.parametrize("number", ["1e999", "-1e999", "NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_refused_with_422(client: TestClient, number: str) -> None:
    h = {**login(client, "inv1"), **JSON}
    pid = patient_id(client, "S01", h)
    ids = _ids(client)
    cases = [
        ("POST", f"/api/patients/{pid}/assessments", ASSESS),
        ("PATCH", f"/api/assessments/{ids['a1']}",
         '{"changes": {"value": NUMBER}, "reason": "typo"}'),
        ("POST", f"/api/patients/{pid}/administrations",
         '{"lot_code": "LOT-001", "administered_on": "2026-01-21", "dose": NUMBER, '
         '"dose_unit": "1e8", "route": "intravenous"}'),
    ]
    for method, url, body in cases:
        r = client.request(method, url, content=body.replace("NUMBER", number), headers=h)
        assert r.status_code == 422, (url, r.status_code, r.text)
        assert "finite" in r.text or "value" in r.text
    # the page forms refuse them too (the importer parses the text)
    token = h["X-CSRF-Token"]
    form = {"csrf_token": token, "visit": "day180", "endpoint": "ais_grade",
            "assessed_on": "2026-06-30", "value": number, "assessor": "Dr. B",
            "assessor_role": "blinded_independent", "blinded": "true"}
    r = client.post(f"/patients/{pid}/assessments", data=form)
    assert r.status_code == 422, r.text[:300]
    r = client.post("/assessments/change", data={
        "csrf_token": token, "assessment": str(ids["a1"]), "field": "value", "value": number,
        "reason": "typo"})
    assert r.status_code == 422, r.text[:300]
    h = {**login(client, "admin"), **JSON}
    r = client.post("/api/tables/lot_results", headers=h,
                    content='[{"lot_code": "LOT-001", "attribute": "viability", "value": N}]'
                    .replace("N", number))
    assert r.status_code == 422, r.text
    h = {**login(client, "adj1"), **JSON}
    r = client.post(f"/api/adjudications/{ids['g1']}/verdict", headers=h,
                    content='{"value": N}'.replace("N", number))
    assert r.status_code == 422, r.text


def test_validation_errors_do_not_echo_the_input(client: TestClient) -> None:
    r = client.post("/api/login", json={"username": "stat", "password": "s3cret" * 50})
    assert r.status_code == 422 and "s3cret" not in r.text


@pytest.mark.parametrize("path", ["/openapi.json", "/docs"])
def test_openapi_only_for_logged_in_admins_and_statisticians(client: TestClient,
                                                             path: str) -> None:
    assert client.get(path, follow_redirects=False).status_code == 303
    for who, code in (("inv1", 403), ("adj1", 403), ("reg", 403), ("mon", 403),
                      ("stat", 200), ("admin", 200)):
        login(client, who)
        assert client.get(path).status_code == code, who
    assert client.get("/redoc").status_code == 404


def test_security_headers(client: TestClient) -> None:
    r = client.get("/login")
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    # scripts only from the site's own /static files: no inline script, no eval
    assert "script-src 'self'" in csp and "unsafe" not in csp
    assert r.headers["referrer-policy"] == "same-origin"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" not in r.headers  # plain HTTP: no HSTS
    with TestClient(client.app, base_url="https://testserver") as tls:
        assert "max-age=" in tls.get("/login").headers["strict-transport-security"]
    # a forwarded scheme counts only behind a trusted proxy
    fwd = {"X-Forwarded-Proto": "https"}
    assert "strict-transport-security" not in client.get("/login", headers=fwd).headers


def test_hsts_behind_a_trusted_proxy(app: Any, settings: WebSettings) -> None:
    proxied = create_app(dataclasses.replace(settings, trust_proxy=True),
                         engine=app.state.engine)
    with TestClient(proxied) as c:
        assert "strict-transport-security" not in c.get("/login").headers
        r = c.get("/login", headers={"X-Forwarded-Proto": "https"})
        assert "max-age=" in r.headers["strict-transport-security"]


def test_blinded_reviewers_error_does_not_reveal_the_assessment_date(
        client: TestClient) -> None:
    ids = _ids(client)
    future = dt.date.today() + dt.timedelta(days=400)
    with Session(client.app.state.engine,  # type: ignore[attr-defined]
                 join_transaction_mode="create_savepoint") as s:
        s.execute(update(reg.Assessment).where(reg.Assessment.id == ids["a1"])
                  .values(assessed_on=future))
        s.commit()
    h = login(client, "adj1")
    r = client.post(f"/api/adjudications/{ids['g1']}/verdict", headers=h,
                    json={"value_text": "C"})
    assert r.status_code == 422
    for leak in ("before", "after", "ahead", "future", "date", future.isoformat(),
                 str(future.year)):
        assert leak not in r.text.lower(), r.text
    view = client.get(f"/api/adjudications/{ids['g1']}").text
    assert future.isoformat() not in view
