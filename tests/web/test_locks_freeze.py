"""Locks and freezes hold whatever the path: a signed record refuses the importer as it
refuses the web; a change after the audited unlock leaves no signature in force; a frozen
site or study refuses web writes and imports until an audited unfreeze."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

import regmed.registry as reg
from regmed.errors import DataError
from regmed.web.signing import record_sha256, signatures_of

from .conftest import KEY, PASSWORD, login, patient_id
from .test_signatures import _token


def _session(client: TestClient) -> Session:
    return Session(client.app.state.engine,  # type: ignore[attr-defined]
                   join_transaction_mode="create_savepoint")


def _assessment_row(value_text: str) -> dict[str, Any]:
    return {"assessment_ref": "S01-P1-d49", "site_code": "S01", "patient_ref": "P1",
            "endpoint": "ais_grade", "visit": "day49", "assessed_on": "2026-02-19",
            "value_text": value_text, "assessor": "Dr. Treating",
            "assessor_role": "treating_physician", "blinded": False}


def _import(client: TestClient, value_text: str, **kw: Any) -> reg.ImportSummary:
    with _session(client) as s:
        out = reg.import_tables(s, {"assessments": pd.DataFrame([_assessment_row(value_text)])},
                                actor="dm", reason="site file", key=KEY, **kw)
        s.commit()
    return out


def _aid(client: TestClient) -> int:
    with _session(client) as s:
        return int(s.execute(select(reg.Assessment.id).where(
            reg.Assessment.assessment_ref == "S01-P1-d49")).scalar_one())


def test_import_of_a_signed_record_is_refused_and_a_later_change_leaves_no_signature(
        client: TestClient) -> None:
    h = login(client, "inv1")
    aid = _aid(client)
    url = f"/api/records/assessments/{aid}"
    assert client.post(f"{url}/signature", headers=h,
                       json={"password": PASSWORD, "meaning": "approved"}).status_code == 201
    with _session(client) as s:
        events = reg.count_events(s)
    with pytest.raises(DataError) as err:
        _import(client, "D")
    text = " ".join(p.message for p in err.value.problems)
    assert "signed by inv1" in text and "locked" in text and "audited unlock" in text
    with _session(client) as s:  # nothing written
        assert reg.count_events(s) == events
        record = s.get_one(reg.Assessment, aid)
        assert record.value_text == "C" and len(signatures_of(s, "assessments", aid)) == 1
    # the service layer refuses it too
    with _session(client) as s, pytest.raises(DataError, match="locked"):
        reg.update_record(s.get_one(reg.Assessment, aid), {"value_text": "D"}, session=s,
                          actor="dm", reason="correction")
    # an audited unlock, then the change: the signature is not in force on the changed record
    assert client.post(f"{url}/unlock", headers=h,
                       json={"reason": "source says D"}).status_code == 200
    assert _import(client, "D").updated["assessments"] == 1
    with _session(client) as s:
        record = s.get_one(reg.Assessment, aid)
        assert record.value_text == "D" and signatures_of(s, "assessments", aid) == []
        [signature] = s.execute(select(reg.models.Base.metadata.tables["record_signatures"])
                                ).mappings().all()
        assert signature["withdrawn_at"] is not None  # marked ...
        assert signature["record_sha256"] != record_sha256(record)  # ... and it was C, not D
        log = reg.audit_log(s, "record_signatures", key=f"assessments:{aid}")
        assert [(e["action"], e["reason"]) for e in log] == [("insert", None),
                                                             ("update", "source says D")]
        assert reg.verify_audit(s).ok


def test_a_frozen_site_refuses_web_writes_and_imports_until_an_audited_unfreeze(
        client: TestClient) -> None:
    h = login(client, "admin")
    r = client.post("/api/freezes", headers=h, json={"site_code": "S01"})
    assert r.status_code == 422 and "reason" in r.text
    r = client.post("/api/freezes", headers=h, json={"site_code": "S01",
                                                     "reason": "database lock for the interim"})
    assert r.status_code == 201 and r.json()[0]["site_code"] == "S01"
    assert client.post("/api/freezes", headers=h, json={
        "site_code": "S01", "reason": "again"}).status_code == 422  # frozen already
    h1 = login(client, "inv1")
    p1 = patient_id(client, "S01", h1)
    aid = _aid(client)
    r = client.patch(f"/api/assessments/{aid}", headers=h1,
                     json={"changes": {"value_text": "D"}, "reason": "correction"})
    assert r.status_code == 422 and "site S01 are frozen" in r.text and "unfreeze" in r.text
    r = client.post(f"/api/patients/{p1}/adverse-events", headers=h1,
                    json={"term": "rash", "onset_on": "2026-01-11", "serious": False})
    assert r.status_code == 422 and "frozen" in r.text
    with pytest.raises(DataError, match="frozen"):
        _import(client, "D")
    # another site's data are not frozen
    h2 = login(client, "inv2")
    q1 = patient_id(client, "S02", h2)
    assert client.post(f"/api/patients/{q1}/adverse-events", headers=h2, json={
        "term": "rash", "onset_on": "2026-01-11", "serious": False}).status_code == 201
    # only the data manager (administrator) unfreezes, with a reason; then writes pass again
    assert client.post("/api/freezes/unfreeze", headers=h2, json={
        "site_code": "S01", "reason": "done"}).status_code == 403
    h = login(client, "admin")
    r = client.post("/api/freezes/unfreeze", headers=h,
                    json={"site_code": "S01", "reason": "interim analysis done"})
    assert r.status_code == 200 and r.json() == []
    assert _import(client, "D").updated["assessments"] == 1
    with _session(client) as s:
        log = reg.audit_log(s, "data_freezes", key="site:S01")
        assert [(e["action"], e["reason"]) for e in log] == [
            ("insert", "database lock for the interim"), ("update", "interim analysis done")]
        assert log[1]["new_values"]["unfrozen_by"] == "admin"


def test_a_study_freeze_refuses_master_data_and_patient_data(client: TestClient) -> None:
    h = login(client, "admin")
    assert client.post("/api/freezes", headers=h, json={
        "study": True, "reason": "final analysis"}).status_code == 201
    r = client.post("/api/tables/sites", headers=h, json=[{"site_code": "S09", "name": "New"}])
    assert r.status_code == 422 and "the study's data are frozen" in r.text
    h2 = login(client, "inv2")
    q1 = patient_id(client, "S02", h2)
    r = client.put(f"/api/patients/{q1}/follow-up", headers=h2,
                   json={"last_contact_on": "2026-02-01", "status": "alive"})
    assert r.status_code == 422 and "frozen" in r.text
    h = login(client, "admin")
    assert client.post("/api/freezes/unfreeze", headers=h, json={
        "study": True, "reason": "reopened for late data"}).status_code == 200
    assert client.post("/api/tables/sites", headers=h, json=[
        {"site_code": "S09", "name": "New"}]).status_code == 201


def test_the_data_freezes_page_freezes_and_unfreezes(client: TestClient) -> None:
    login(client, "admin")
    page = client.get("/freezes")
    assert page.status_code == 200 and "nothing is frozen" in page.text
    form = {"csrf_token": _token(page.text), "scope": "S01", "action": "freeze"}
    r = client.post("/freezes", data=form)
    assert r.status_code == 422 and "a reason is required" in r.text
    r = client.post("/freezes", data={**form, "reason": "monitoring visit"},
                    follow_redirects=False)
    assert r.status_code == 303
    page = client.get("/freezes")
    assert "monitoring visit" in page.text and "<td>S01</td>" in page.text
    with pytest.raises(DataError, match="site S01 are frozen"):
        _import(client, "D")
    r = client.post("/freezes", data={**form, "action": "unfreeze", "reason": "visit done"},
                    follow_redirects=False)
    assert r.status_code == 303 and "nothing is frozen" in client.get("/freezes").text
