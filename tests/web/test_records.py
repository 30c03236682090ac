"""Electronic signature / lock with audited unlock, and data queries, over HTTP."""

from __future__ import annotations

from fastapi.testclient import TestClient

import regmed.registry as reg

from .conftest import PASSWORD, login


def _own_assessment(client: TestClient) -> tuple[int, int]:
    p = client.get("/api/patients").json()[0]
    return int(p["id"]), int(p["assessments"][0]["id"])


def test_sign_lock_and_audited_unlock(client: TestClient) -> None:
    h = login(client, "inv1")
    pid, aid = _own_assessment(client)
    url = f"/api/records/assessments/{aid}"
    r = client.post(f"{url}/signature", headers=h, json={"password": "bad", "meaning": "approved"})
    assert r.status_code == 422 and "password" in r.text
    r = client.post(f"{url}/signature", headers=h,
                    json={"password": PASSWORD, "meaning": "I approve these data"})
    assert r.status_code == 422 and "meaning" in r.text  # a coded meaning, not free text
    r = client.post(f"{url}/signature", headers=h,
                    json={"password": PASSWORD, "meaning": "approved"})
    assert r.status_code == 201 and r.json()["signed_by"] == "inv1"
    assert client.get(f"/api/patients/{pid}").json()["assessments"][0]["locked"] is True
    assert client.post(f"{url}/signature", headers=h, json={
        "password": PASSWORD, "meaning": "approved"}).status_code == 422  # signed already
    change = {"changes": {"value_text": "D"}, "reason": "correction"}
    r = client.patch(f"/api/assessments/{aid}", headers=h, json=change)
    assert r.status_code == 422 and "locked" in r.text
    assert client.post(f"{url}/unlock", headers=h, json={"reason": " "}).status_code == 422
    assert client.post(f"{url}/unlock", headers=h,
                       json={"reason": "late lab correction"}).status_code == 200
    assert client.patch(f"/api/assessments/{aid}", headers=h, json=change).status_code == 200
    # follow-up locks too
    fu = f"/api/patients/{pid}/follow-up"
    client.put(fu, headers=h, json={"last_contact_on": "2026-02-01", "status": "alive"})
    with reg.session_scope(client.app.state.engine) as s:  # type: ignore[attr-defined]
        fid = s.query(reg.FollowUp).filter_by(patient_id=pid).one().id
    assert client.post(f"/api/records/follow_ups/{fid}/signature", headers=h, json={
        "password": PASSWORD, "meaning": "authored"}).status_code == 201
    r = client.put(fu, headers=h, json={"last_contact_on": "2026-02-20", "status": "alive",
                                        "reason": "visit"})
    assert r.status_code == 422 and "locked" in r.text
    assert client.post("/api/records/patients/1/signature", headers=h, json={
        "password": PASSWORD, "meaning": "approved"}).status_code == 404
    with reg.session_scope(client.app.state.engine) as s:  # type: ignore[attr-defined]
        log = reg.audit_log(s, "record_locks", key=f"assessments:{aid}")
        assert [(e["action"], e["reason"]) for e in log] == [
            ("insert", None), ("delete", "late lab correction")]
        assert log[0]["new_values"]["meaning"] == "approved"
        assert reg.verify_audit(s).ok


def test_data_query_flow(client: TestClient) -> None:
    login(client, "inv1")
    _, aid = _own_assessment(client)
    h = login(client, "stat")
    body = {"table": "assessments", "record_id": aid, "field": "nope", "question": "?"}
    assert client.post("/api/queries", headers=h, json=body).status_code == 422
    r = client.post("/api/queries", headers=h, json={**body, "field": "value_text",
                                                     "question": "Source document?"})
    assert r.status_code == 201
    qid = r.json()["id"]
    assert client.get("/api/dashboard").json()["open_queries"] == 1
    assert client.post(f"/api/queries/{qid}/close", headers=h).status_code == 422
    h = login(client, "inv2")
    assert client.get("/api/queries").json() == []  # another site's query is invisible
    assert client.post(f"/api/queries/{qid}/answer", headers=h,
                       json={"answer": "x"}).status_code == 404
    h = login(client, "inv1")
    [q] = client.get("/api/queries").json()
    assert q["question"] == "Source document?" and q["status"] == "open"
    r = client.post(f"/api/queries/{qid}/answer", headers=h, json={"answer": "Checked: C"})
    assert r.json()["status"] == "answered"
    h = login(client, "stat")
    assert client.post(f"/api/queries/{qid}/close", headers=h).json()["status"] == "closed"
    assert client.get("/api/dashboard").json()["open_queries"] == 0
    with reg.session_scope(client.app.state.engine) as s:  # type: ignore[attr-defined]
        log = reg.audit_log(s, "data_queries", record_id=qid)
        assert [(e["actor"], e["new_values"]["status"]) for e in log] == [
            ("stat", "open"), ("inv1", "answered"), ("stat", "closed")]
        assert log[1]["new_values"]["answer"] == "Checked: C"
