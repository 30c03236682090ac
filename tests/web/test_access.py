"""Table-driven access rules: every route × every role gets exactly the allowed status.

Investigators reach only their own site's records (another site's id → 404, like an id that
does not exist); adjudicators see only their own assignments, and no response they get
contains cohort, product, lot, site or treating physician; regulators and statisticians
read pseudonymized data; unauthenticated requests are refused.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

import regmed.registry as reg

from .conftest import PASSWORD, SECRETS, login

ROLES = ("anon", "admin", "stat", "inv1", "adj1", "reg", "mon")
ENROLL = {"patient_ref": "NEW-1", "sex": "F", "birth_year": 1990, "indication_code": "SCI",
          "cohort": "treated", "direction": "prospective", "index_on": "2026-02-01",
          "enrolled_on": "2026-02-02"}
ASSESS = {"endpoint": "ais_grade", "visit": "day180", "assessed_on": "2026-06-30",
          "value_text": "D", "assessor": "Dr. B", "assessor_role": "blinded_independent",
          "blinded": True}
AE = {"term": "fever", "onset_on": "2026-01-10", "serious": False, "grade": 1}
ADMIN = {"lot_code": "LOT-002", "administered_on": "2026-01-21", "dose": 1.0,
         "dose_unit": "1e8 cells", "route": "intravenous", "oos_request_documented": True}
FU = {"last_contact_on": "2026-02-25", "status": "alive"}
LOT = {"lot_code": "LOT-T1", "product_code": "PROD-X", "process_version": "v1",
       "manufactured_on": "2026-01-02", "status": "quarantined"}


class Form(dict[str, str]):
    """A body sent as an HTML form (values may name ids like ``{a1}``)."""


def _page(code: int, *roles: str) -> dict[str, int]:
    """A form post: allowed roles get ``code``; others 403; anonymous 403 (no CSRF token)."""
    return {**_ok(code, *roles), "anon": 403}


def _ok(code: int, *roles: str, other: int = 403) -> dict[str, int]:
    out = {r: (code if r in roles else other) for r in ROLES}
    out["anon"] = 401
    return out


R = ("inv1", "stat", "reg", "mon")
# method, path (ids filled from the seeded registry), json body, expected status per role
TABLE: list[tuple[str, str, Any, dict[str, int]]] = [
    ("GET", "/api/me", None, _ok(200, *ROLES)),
    ("GET", "/api/patients", None, _ok(200, *R)),
    ("GET", "/api/patients/{p1}", None, _ok(200, *R)),
    ("GET", "/api/patients/{q1}", None, {**_ok(200, "stat", "reg", "mon"), "inv1": 404}),
    ("GET", "/api/patients/987654", None, {**_ok(404, *R)}),
    ("POST", "/api/patients", ENROLL, _ok(201, "inv1")),
    ("POST", "/api/patients/{p1}/assessments", ASSESS, _ok(201, "inv1")),
    ("POST", "/api/patients/{q1}/assessments", ASSESS, {**_ok(201), "inv1": 404}),
    ("PATCH", "/api/assessments/{a1}", {"changes": {"value_text": "D"}, "reason": "typo"},
     _ok(200, "inv1")),
    ("PATCH", "/api/assessments/{a2}", {"changes": {"value_text": "D"}, "reason": "typo"},
     {**_ok(200), "inv1": 404}),
    ("GET", "/api/patients/{p1}/lots", None, _ok(200, "inv1")),
    ("GET", "/api/patients/{q1}/lots", None, {**_ok(200), "inv1": 404}),
    ("POST", "/api/patients/{p1}/administrations", ADMIN, _ok(201, "inv1")),
    ("POST", "/api/patients/{q1}/administrations", ADMIN, {**_ok(201), "inv1": 404}),
    ("POST", "/api/patients/{p1}/adverse-events", AE, _ok(201, "inv1")),
    ("POST", "/api/patients/{q1}/adverse-events", AE, {**_ok(201), "inv1": 404}),
    ("PUT", "/api/patients/{p1}/follow-up", FU, _ok(200, "inv1")),
    ("PUT", "/api/patients/{q1}/follow-up", FU, {**_ok(200), "inv1": 404}),
    ("POST", "/api/assessments/{a1}/assignments", {"reviewers": ["adj3"]},
     _ok(201, "admin", "stat")),
    ("GET", "/api/adjudications", None, _ok(200, "adj1")),
    ("GET", "/api/adjudications/{g1}", None, _ok(200, "adj1")),
    ("GET", "/api/adjudications/{g_other}", None, {**_ok(200), "adj1": 404}),
    ("POST", "/api/adjudications/{g1}/verdict", {"value_text": "C", "reason": "source_clear"},
     _ok(200, "adj1")),
    ("POST", "/api/adjudications/{g_other}/verdict", {"value_text": "C",
                                                      "reason": "source_clear"},
     {**_ok(200), "adj1": 404}),
    # a reviewer never settles a disagreement (not even one that needs no consensus)
    ("POST", "/api/adjudications/{g1}/consensus", {"value_text": "C", "reason": "majority"},
     _ok(422, "adj1")),
    ("GET", "/api/agreement", None, _ok(200, "stat", "reg")),
    ("GET", "/api/dashboard", None, _ok(200, "stat", "reg")),
    ("GET", "/api/audit", None, _ok(200, "admin", "reg")),
    ("GET", "/api/users", None, _ok(200, "admin")),
    ("POST", "/api/users", {"username": "u9", "role": "regulator",
                            "password": "a long enough one"}, _ok(201, "admin")),
    ("POST", "/api/tables/sites", [{"site_code": "S09", "name": "New"}], _ok(201, "admin")),
    ("GET", "/", None, {**_ok(200, *ROLES), "anon": 303}),
    ("GET", "/patients", None, {**_ok(200, *R), "anon": 303}),
    ("GET", "/patients/{p1}", None, {**_ok(200, *R), "anon": 303}),
    ("GET", "/patients/{q1}", None, {**_ok(200, "stat", "reg", "mon"), "inv1": 404,
                                     "anon": 303}),
    ("GET", "/adjudication", None, {**_ok(200, "adj1"), "anon": 303}),
    ("GET", "/dashboard", None, {**_ok(200, "stat", "reg"), "anon": 303}),
    ("POST", "/api/records/assessments/{a1}/signature",
     {"password": PASSWORD, "meaning": "reviewed"}, _ok(201, "inv1", "mon")),
    ("POST", "/api/records/assessments/{a2}/signature",
     {"password": PASSWORD, "meaning": "reviewed"}, {**_ok(201, "mon"), "inv1": 404}),
    ("POST", "/api/records/assessments/{a1}/unlock", {"reason": "correction"},
     _ok(200, "inv1")),
    ("POST", "/api/records/assessments/{a2}/unlock", {"reason": "correction"},
     {**_ok(200), "inv1": 404}),
    ("POST", "/api/queries", {"table": "assessments", "record_id": "{a2}", "field": "value_text",
                              "question": "source?"}, _ok(201, "stat")),
    ("GET", "/api/queries", None, _ok(200, *R)),
    ("POST", "/api/queries/{q_other}/answer", {"answer": "checked"}, {**_ok(200), "inv1": 404}),
    ("POST", "/api/queries/{q_own}/answer", {"answer": "checked"}, _ok(200, "inv1")),
    ("POST", "/api/queries/{q_answered}/close", None, _ok(200, "stat")),
    ("GET", "/queries", None, {**_ok(200, *R), "anon": 303}),
    ("POST", "/patients/{p1}/adverse-events", Form(term="rash", onset_on="2026-01-11",
                                                   serious="false"), _page(303, "inv1")),
    ("POST", "/patients/{q1}/adverse-events", Form(term="rash", onset_on="2026-01-11",
                                                   serious="false"), {**_page(303), "inv1": 404}),
    ("POST", "/patients/{p1}/follow-up", Form(FU), _page(303, "inv1")),
    ("POST", "/patients/{q1}/follow-up", Form(FU), {**_page(303), "inv1": 404}),
    ("POST", "/patients/{p1}/administrations", Form({**ADMIN, "dose": "1.0",
                                                      "oos_request_documented": "true"}),
     _page(303, "inv1")),
    ("POST", "/patients/{q1}/administrations", Form({**ADMIN, "dose": "1.0"}),
     {**_page(303), "inv1": 404}),
    ("POST", "/assessments/change", Form(assessment="{a1}", field="value_text", value="D",
                                         reason="typo"), _page(303, "inv1")),
    ("POST", "/assessments/change", Form(assessment="{a2}", field="value_text", value="D",
                                         reason="typo"), {**_page(303), "inv1": 404}),
    ("POST", "/queries", Form(record="assessments:{a2}", field="value_text", question="?"),
     _page(303, "stat")),
    ("POST", "/queries/{q_own2}/answer", Form(answer="checked"), _page(303, "inv1")),
    ("POST", "/queries/{q_other}/answer", Form(answer="checked"), {**_page(303), "inv1": 404}),
    ("POST", "/queries/{q_answered2}/close", Form(), _page(303, "stat")),
    ("POST", "/api/records/assessments/{a1}/verification", {"fields": ["value_text"]},
     _ok(200, "mon")),
    ("GET", "/records/assessments/{a1}/sign", None, {**_ok(200, "inv1", "mon"), "anon": 303}),
    ("GET", "/records/assessments/{a2}/sign", None, {**_ok(200, "mon"), "inv1": 404,
                                                     "anon": 303}),
    ("POST", "/records/adverse_events/{e1}/sign", Form(meaning="reviewed", password=PASSWORD),
     _page(303, "inv1", "mon")),
    ("POST", "/records/assessments/{a2}/verify", Form(field="value_text"), _page(303, "mon")),
    ("POST", "/api/users/adj3/revoke-sessions", None, _ok(200, "admin")),
    ("POST", "/api/me/totp", None, _ok(200, "admin", "stat")),
    ("POST", "/api/me/totp/confirm", {"otp": "12345"}, _ok(422, *ROLES)),
    ("POST", "/api/me/password", {"current_password": "wrong", "new_password": "x" * 12},
     _ok(422, *ROLES)),
    ("GET", "/account", None, {**_ok(200, *ROLES), "anon": 303}),
    ("POST", "/account/password", Form(current_password="wrong", new_password="x",
                                       repeat_password="x"), _page(422, *ROLES)),
    ("GET", "/openapi.json", None, {**_ok(200, "admin", "stat"), "anon": 303}),
    ("GET", "/docs", None, {**_ok(200, "admin", "stat"), "anon": 303}),
    ("POST", "/api/freezes", {"site_code": "S02", "reason": "interim analysis"},
     _ok(201, "admin")),
    ("GET", "/api/freezes", None, _ok(200, "admin")),
    ("POST", "/api/freezes/unfreeze", {"site_code": "S02", "reason": "analysis done"},
     _ok(200, "admin")),
    ("GET", "/freezes", None, {**_ok(200, "admin"), "anon": 303}),
    ("POST", "/freezes", Form(scope="S02", reason="interim", action="freeze"),
     _page(303, "admin")),
    ("POST", "/freezes", Form(scope="S02", reason="done", action="unfreeze"),
     _page(303, "admin")),
    # lots (master data): the administrator writes, the reading roles but investigators read
    ("GET", "/lots", None, {**_ok(200, "admin", "stat", "reg", "mon"), "anon": 303}),
    ("GET", "/lots/{l1}", None, {**_ok(200, "admin", "stat", "reg", "mon"), "anon": 303}),
    ("POST", "/lots", Form(LOT), _page(303, "admin")),
    ("POST", "/lots/{l1}", Form({**LOT, "lot_code": "LOT-003", "manufactured_on": "2025-12-01",
                                 "status": "quarantined", "process_version": "v1",
                                 "donor_code": "D-P1", "released_on": "",
                                 "coa_reference": ""}), _page(303, "admin")),
    ("POST", "/lots/{l1}/results", Form(attribute_code="none-stored", value="1"),
     _page(422, "admin")),
    ("POST", "/lots/{l1}/shipments", Form(shipment_code="SH-T9", site_code="S01",
                                          shipped_on="2026-01-02", received_on="2026-01-03"),
     _page(303, "admin")),
    ("POST", "/api/logout", None, _ok(200, *ROLES)),
]


def _ids(client: TestClient) -> dict[str, int]:
    app = client.app
    with reg.session_scope(app.state.engine) as s:  # type: ignore[attr-defined]
        pats = {p.site_id: p.id for p in s.execute(select(reg.Patient)).scalars()}
        sites = {x.site_code: x.id for x in s.execute(select(reg.Site)).scalars()}
        ass = {a.assessment_ref: a.id for a in s.execute(select(reg.Assessment)).scalars()}
        p1 = pats[sites["S01"]]
        ae = reg.AdverseEvent(patient_id=p1, ae_ref="AE-T1", term="fever",
                              onset_on=dt.date(2026, 1, 9), serious=False)
        s.add(ae)
        s.flush()
        users = {u.username: u.id for u in s.execute(select(reg.User)).scalars()}
        g = {(x.assessment_id, x.user_id): x.id
             for x in s.execute(select(reg.AdjudicationAssignment)).scalars()}
        a1, a2 = ass["S01-P1-d49"], ass["S02-Q1-d49"]
        q = {}
        for name, aid, answered in (("q_own", a1, False), ("q_other", a2, False),
                                    ("q_answered", a2, True), ("q_own2", a1, False),
                                    ("q_answered2", a2, True)):
            row = reg.DataQuery(table_name="assessments", record_id=aid, field="value_text",
                                question="?", raised_by="stat", status="open")
            if answered:
                row.answer, row.answered_by, row.status = "ok", "inv2", "answered"
            s.add(row)
            s.flush()
            q[name] = row.id
        lot = s.execute(select(reg.Lot.id).where(reg.Lot.lot_code == "LOT-003")).scalar_one()
    return {**q, "e1": ae.id, "l1": lot, "p1": pats[sites["S01"]], "q1": pats[sites["S02"]],
            "a1": a1, "a2": a2,
            "g1": g[(a1, users["adj1"])], "g_other": g[(a2, users["adj2"])]}


def test_table_covers_every_api_route(client: TestClient) -> None:
    paths = {(m, r.path) for r in client.app.routes  # type: ignore[attr-defined]
             for m in getattr(r, "methods", set()) if r.path.startswith("/api")}
    covered = {(m, p.replace("{p1}", "{patient_id}").replace("{q1}", "{patient_id}")
                .replace("{a1}", "{assessment_id}").replace("{a2}", "{assessment_id}")
                .replace("{g1}", "{assignment_id}").replace("{g_other}", "{assignment_id}")
                .replace("{q_own}", "{query_id}").replace("{q_other}", "{query_id}")
                .replace("{q_answered}", "{query_id}").replace("/adj3/", "/{username}/")
                .replace("/assessments/{assessment_id}/ver", "/{table}/{record_id}/ver")
                .replace("/assessments/{assessment_id}/sig", "/{table}/{record_id}/sig")
                .replace("/assessments/{assessment_id}/unl", "/{table}/{record_id}/unl")
                .replace("987654", "{patient_id}").replace("/sites", "/{table}"))
               for m, p, _, _ in TABLE}
    missing = paths - covered - {("POST", "/api/login")}
    assert not missing, missing


@pytest.mark.parametrize("role", ROLES)
def test_every_route_every_role(client: TestClient, role: str) -> None:
    ids = _ids(client)
    headers = {} if role == "anon" else login(client, role)
    bodies = []
    failures = []
    for method, path, body, expected in TABLE:
        url = path.format(**ids)
        if isinstance(body, dict) and body.get("record_id") == "{a2}":
            body = {**body, "record_id": ids["a2"]}
        if isinstance(body, Form):
            form = {k: str(v).format(**ids) for k, v in body.items()}
            r = client.request(method, url, data=form, headers=headers, follow_redirects=False)
        else:
            r = client.request(method, url, json=body, headers=headers, follow_redirects=False)
        if r.status_code != expected[role]:
            failures.append(f"{role} {method} {url}: {r.status_code} != {expected[role]} "
                            f"{r.text[:200]}")
        bodies.append(r.text)
        if method == "POST" and path == "/api/logout" and role != "anon":
            assert client.get("/api/me").status_code == 401
    assert not failures, "\n".join(failures)
    if role == "adj1":
        leaked = [(w, b[:200]) for b in bodies for w in SECRETS if w in b]
        assert not leaked, leaked


def test_investigator_lists_only_own_site(client: TestClient) -> None:
    login(client, "inv2")
    rows = client.get("/api/patients").json()
    assert [r["site_code"] for r in rows] == ["S02"]


def test_statistician_and_regulator_see_pseudonyms(client: TestClient) -> None:
    for who in ("stat", "reg"):
        login(client, who)
        rows = client.get("/api/patients").json()
        assert {r["site_code"] for r in rows} == {"S01", "S02"}
        text = client.get("/api/patients").text
        assert "Dr. Treating" not in text and '"P1"' not in text and '"Q1"' not in text
        assert all(len(r["pseudonym"]) == 64 for r in rows)


def test_regulator_audit_trail_pseudonymized(client: TestClient) -> None:
    login(client, "reg")
    events = client.get("/api/audit", params={"limit": 1000}).json()
    assert events and all(e["actor"].startswith("user-") for e in events)
    text = str(events)
    for name in ("Dr. Treating", "adj1", "inv1", "'seed'"):
        assert name not in text
    login(client, "admin")
    assert any(e["actor"] == "seed" for e in client.get("/api/audit").json())
