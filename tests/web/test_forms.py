"""Data entry over HTTP applies the importer's rules, audits every write, and needs a reason
for changes."""

from __future__ import annotations

from fastapi.testclient import TestClient

import regmed.registry as reg

from .conftest import login

ENROLL = {"patient_ref": "P77", "sex": "M", "birth_year": 1960, "indication_code": "SCI",
          "cohort": "treated", "direction": "prospective", "index_on": "2026-02-01",
          "enrolled_on": "2026-02-03"}


def _problems(r: object) -> list[str]:
    return [p["message"] for p in r.json()["problems"]]  # type: ignore[attr-defined]


def test_enrollment_rules_of_the_importer(client: TestClient) -> None:
    h = login(client, "inv1")
    bad = {**ENROLL, "indication_code": "NOPE", "enrolled_on": "2026-01-01"}
    r = client.post("/api/patients", headers=h, json=bad)
    assert r.status_code == 422
    msgs = " | ".join(_problems(r))
    assert "NOPE" in msgs and "index_on" in msgs, msgs
    r = client.post("/api/patients", headers=h, json=ENROLL)
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["site_code"] == "S01" and p["cohort"] == "treated" and "P77" not in r.text
    assert client.post("/api/patients", headers=h, json=ENROLL).status_code == 422
    # the other site may use the same local id: a different patient
    h2 = login(client, "inv2")
    assert client.post("/api/patients", headers=h2, json=ENROLL).json()["site_code"] == "S02"
    with reg.session_scope(client.app.state.engine) as s:  # type: ignore[attr-defined]
        events = reg.audit_log(s, "enrollments", record_id=None)
        assert sum(e["actor"] in ("inv1", "inv2") for e in events) == 2
        assert reg.verify_audit(s).ok


def test_pydantic_rejects_bad_types(client: TestClient) -> None:
    h = login(client, "inv1")
    r = client.post("/api/patients", headers=h, json={**ENROLL, "birth_year": 1800})
    assert r.status_code == 422
    r = client.post("/api/patients", headers=h, json={**ENROLL, "extra": 1})
    assert r.status_code == 422


def test_assessment_visits_windows_and_changes(client: TestClient) -> None:
    h = login(client, "inv1")
    pid = client.get("/api/patients").json()[0]["id"]
    base = {"endpoint": "ais_grade", "visit": "day180", "assessed_on": "2026-06-30",
            "value_text": "D", "assessor": "Dr. B", "assessor_role": "blinded_independent",
            "blinded": True}
    r = client.post(f"/api/patients/{pid}/assessments", headers=h, json={**base,
                                                                         "visit": "day7"})
    assert r.status_code == 422 and "not a scheduled visit" in r.text
    r = client.post(f"/api/patients/{pid}/assessments", headers=h,
                    json={**base, "assessed_on": "2025-12-01"})
    assert r.status_code == 422 and "index date" in " ".join(_problems(r))
    r = client.post(f"/api/patients/{pid}/assessments", headers=h,
                    json={**base, "value_text": None})
    assert r.status_code == 422  # value or value_text (importer rule)
    ok = client.post(f"/api/patients/{pid}/assessments", headers=h, json=base)
    late = client.post(f"/api/patients/{pid}/assessments", headers=h,  # another assessor's
                       json={**base, "assessed_on": "2026-09-30", "assessor": "Dr. C"})
    again = client.post(f"/api/patients/{pid}/assessments", headers=h, json=base)
    assert again.status_code == 422 and "assessed this endpoint at this visit" in again.text
    assert ok.status_code == late.status_code == 201
    rows = {a["id"]: a for a in client.get(f"/api/patients/{pid}").json()["assessments"]}
    assert rows[ok.json()["id"]]["in_window"] is True  # day 180 ± 30
    assert rows[late.json()["id"]]["in_window"] is False  # day 272
    aid = ok.json()["id"]
    r = client.patch(f"/api/assessments/{aid}", headers=h,
                     json={"changes": {"value_text": "E"}, "reason": "   "})
    assert r.status_code == 422 and "reason" in r.text
    r = client.patch(f"/api/assessments/{aid}", headers=h,
                     json={"changes": {"patient_id": 2}, "reason": "x"})
    assert r.status_code == 422
    r = client.patch(f"/api/assessments/{aid}", headers=h,
                     json={"changes": {"value_text": "E"}, "reason": "transcription error"})
    assert r.status_code == 200
    with reg.session_scope(client.app.state.engine) as s:  # type: ignore[attr-defined]
        log = reg.audit_log(s, "assessments", record_id=aid)
        assert [e["action"] for e in log] == ["insert", "update"]
        assert log[1]["reason"] == "transcription error" and log[1]["actor"] == "inv1"
        assert log[1]["old_values"]["value_text"] == "D"
        assert log[1]["new_values"]["value_text"] == "E"


def test_adverse_event_and_follow_up(client: TestClient) -> None:
    h = login(client, "inv1")
    pid = client.get("/api/patients").json()[0]["id"]
    r = client.post(f"/api/patients/{pid}/adverse-events", headers=h,
                    json={"term": "fever", "onset_on": "2025-01-01", "serious": False})
    assert r.status_code == 422  # before the index date
    r = client.post(f"/api/patients/{pid}/adverse-events", headers=h,
                    json={"ae_ref": "AE1", "term": "fever", "onset_on": "2026-01-09",
                          "serious": True, "grade": 3})
    assert r.status_code == 201
    url = f"/api/patients/{pid}/follow-up"
    r = client.put(url, headers=h, json={"last_contact_on": "2026-02-01", "status": "dead"})
    assert r.status_code == 422 and "death_on" in r.text
    assert client.put(url, headers=h, json={"last_contact_on": "2026-02-01",
                                            "status": "alive"}).status_code == 200
    r = client.put(url, headers=h, json={"last_contact_on": "2026-02-20", "status": "alive"})
    assert r.status_code == 422 and "reason" in r.text
    r = client.put(url, headers=h, json={"last_contact_on": "2026-02-20", "status": "alive",
                                         "reason": "new visit"})
    assert r.status_code == 200
    p = client.get(f"/api/patients/{pid}").json()
    assert p["follow_up"]["last_contact_on"] == "2026-02-20"
    assert [e["ae_ref"] for e in p["adverse_events"]] == ["AE1"]


def test_enrollment_page_form(client: TestClient) -> None:
    login(client, "inv1")
    page = client.get("/patients")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    bad = {**ENROLL, "enrolled_on": "2026-01-01", "csrf_token": token}
    r = client.post("/patients", data=bad)
    assert r.status_code == 422 and 'id="errors"' in r.text
    r = client.post("/patients", data={**ENROLL, "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    detail = client.get(r.headers["location"])
    assert "treated" in detail.text and "Record an assessment" in detail.text


def test_dashboard_enrollment_and_visits(client: TestClient) -> None:
    login(client, "stat")
    d = client.get("/api/dashboard").json()
    assert d["today"] == "2026-03-01"
    assert {(e["site_code"], e["cohort"], e["enrolled"], e["target"])
            for e in d["enrollment"]} == {("S01", "treated", 1, 10),
                                          ("S02", "concurrent_control", 1, 10)}
    # both seeded patients did day49; day180 (± 30) is not yet due on 2026-03-01
    assert d["visits_due"] == [] and d["visits_overdue"] == []
    assert {p["cohort"]: p["first_enrolled"] for p in d["periods"]} == {
        "treated": "2026-01-05", "concurrent_control": "2026-01-06"}
    h = login(client, "inv1")
    new = {**ENROLL, "index_on": "2025-10-01", "enrolled_on": "2025-10-02"}
    assert client.post("/api/patients", headers=h, json=new).status_code == 201
    login(client, "stat")
    d = client.get("/api/dashboard").json()
    assert d["total_enrolled"] == 3
    # index 2025-10-01: day49 window closed 2025-12-02 (overdue); day180 opens 2026-02-27 (due)
    assert [v["visit"] for v in d["visits_overdue"]] == ["day49"]
    assert [v["visit"] for v in d["visits_due"]] == ["day180"]


def test_administration_lot_rules(client: TestClient) -> None:
    h = login(client, "inv1")
    pid = client.get("/api/patients").json()[0]["id"]
    lots = client.get(f"/api/patients/{pid}/lots").json()
    assert [(x["lot_code"], x["needs_oos_request"]) for x in lots] == [
        ("LOT-001", False), ("LOT-002", True)]  # the quarantined LOT-003 is not offered
    body = {"lot_code": "LOT-003", "administered_on": "2026-01-21", "dose": 1.0,
            "dose_unit": "1e8 cells", "route": "intravenous"}
    url = f"/api/patients/{pid}/administrations"
    r = client.post(url, headers=h, json=body)
    assert r.status_code == 422 and "is not released" in r.text
    r = client.post(url, headers=h, json={**body, "lot_code": "LOT-002"})
    assert r.status_code == 422 and "documented request" in r.text
    r = client.post(url, headers=h, json={**body, "lot_code": "LOT-002",
                                          "administered_on": "2026-01-10",
                                          "oos_request_documented": True})
    assert r.status_code == 422 and "release" in r.text
    r = client.post(url, headers=h, json={**body, "dose": -1, "lot_code": "LOT-002"})
    assert r.status_code == 422
    r = client.post(url, headers=h, json={**body, "lot_code": "LOT-002",
                                          "oos_request_documented": True})
    assert r.status_code == 201, r.text
    # the same lot again would change the stored record: refused without a reason
    r = client.post(url, headers=h, json={**body, "lot_code": "LOT-002", "dose": 2.0,
                                          "oos_request_documented": True})
    assert r.status_code == 422 and "reason" in r.text
