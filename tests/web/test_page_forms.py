"""HTML forms: adverse events, follow-up and death, administrations, assessment changes and
data queries — validated with the importer's rules, changes need a reason, all audited."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from .conftest import login, patient_id


def _token(client: TestClient, url: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', client.get(url).text)
    assert m, "the page has a form with a CSRF token"
    return m.group(1)


def _post(client: TestClient, url: str, page: str, **form: str) -> tuple[int, str]:
    r = client.post(url, data={**form, "csrf_token": _token(client, page)},
                    follow_redirects=False)
    return r.status_code, r.text


def _audit(client: TestClient, table: str) -> list[dict[str, object]]:
    login(client, "admin")
    return list(client.get("/api/audit", params={"table": table, "limit": 1000}).json())


def test_adverse_event_form_applies_the_importer_rules(client: TestClient) -> None:
    h = login(client, "stat")
    pid = patient_id(client, "S01", h)
    login(client, "inv1")
    page = f"/patients/{pid}"
    status, text = _post(client, f"{page}/adverse-events", page, term="rash",
                         onset_on="2025-12-01", serious="maybe", grade="7")
    assert status == 422
    errors = re.findall(r"<li>(.*?)</li>", text.split('id="errors"')[1].split("</ul>")[0])
    assert any("before the patient&#39;s index date" in e for e in errors)
    assert any("not a boolean" in e for e in errors) and any("maximum 5" in e for e in errors)
    status, _ = _post(client, f"{page}/adverse-events", page, term="rash",
                      onset_on="2026-01-12", serious="true", grade="2",
                      related="possibly_related")
    assert status == 303
    assert "rash" in client.get(page).text
    event = _audit(client, "adverse_events")[-1]
    assert event["action"] == "insert" and event["actor"] == "inv1"


def test_follow_up_death_and_changes_need_a_reason(client: TestClient) -> None:
    h = login(client, "stat")
    pid = patient_id(client, "S01", h)
    login(client, "inv1")
    page, url = f"/patients/{pid}", f"/patients/{pid}/follow-up"
    status, text = _post(client, url, page, last_contact_on="2026-02-01", status="dead")
    assert status == 422 and "required when status is dead" in text
    assert _post(client, url, page, last_contact_on="2026-02-01", status="alive")[0] == 303
    # the form shows the saved follow-up: saving it unchanged needs no reason, writes nothing
    shown = client.get(page).text.split('id="follow-up-form"')[1].split("</form>")[0]
    assert 'name="last_contact_on" type="date" value="2026-02-01"' in shown
    assert '<option value="alive" selected>' in shown
    assert "only when a saved value changes" in shown and 'name="reason"' in shown
    events = len(_audit(client, "follow_ups"))
    login(client, "inv1")
    assert _post(client, url, page, last_contact_on="2026-02-01", status="alive")[0] == 303
    assert len(_audit(client, "follow_ups")) == events
    login(client, "inv1")
    status, text = _post(client, url, page, last_contact_on="2026-02-20", status="dead",
                         death_on="2026-02-20", death_cause="pneumonia")
    assert status == 422
    err = re.search(r'id="err-follow-up-form-reason">(.*?)</small>', text)
    assert err and err[1] == "A saved value changes: give the reason for the change."
    assert 'name="death_cause" type="text" value="pneumonia"' in text  # typed, kept
    status, _ = _post(client, url, page, last_contact_on="2026-02-20", status="dead",
                      death_on="2026-02-20", death_cause="pneumonia",
                      reason="death reported by family")
    assert status == 303
    assert "died 2026-02-20 (pneumonia)" in client.get(page).text
    event = _audit(client, "follow_ups")[-1]
    assert (event["action"], event["reason"]) == ("update", "death reported by family")


def test_administration_form_offers_released_lots_and_needs_the_oos_request(
    client: TestClient,
) -> None:
    h = login(client, "stat")
    pid = patient_id(client, "S01", h)
    login(client, "inv1")
    page, url = f"/patients/{pid}", f"/patients/{pid}/administrations"
    html = client.get(page).text
    form = html.split('id="administer"')[1].split("</form>")[0]
    assert "LOT-001" in form and "LOT-002" in form and "LOT-003" not in form
    assert "out of specification" in form
    given = dict(lot_code="LOT-002", administered_on="2026-01-21", dose="1.5",
                 dose_unit="1e8 cells", route="intravenous")
    status, text = _post(client, url, page, **given)
    assert status == 422 and "needs the documented request" in text
    assert _post(client, url, page, **given, oos_request_documented="true")[0] == 303
    table = client.get(page).text.split('id="administrations"')[1].split("</table>")[0]
    assert "LOT-002" in table and "2026-01-21" in table


def test_assessment_change_form_needs_a_reason(client: TestClient) -> None:
    h = login(client, "stat")
    pid = patient_id(client, "S01", h)
    login(client, "inv1")
    page = f"/patients/{pid}"
    aid = client.get(f"/api/patients/{pid}").json()["assessments"][0]["id"]
    form = dict(assessment=str(aid), field="value_text", value="D")
    status, text = _post(client, "/assessments/change", page, **form, reason="")
    assert status == 422 and "a reason is required" in text
    status, _ = _post(client, "/assessments/change", page, **form, reason="re-read the chart")
    assert status == 303
    assert client.get(f"/api/patients/{pid}").json()["assessments"][0]["value_text"] == "D"
    event = _audit(client, "assessments")[-1]
    assert (event["action"], event["reason"]) == ("update", "re-read the chart")


def test_data_query_raised_answered_and_closed_through_pages(client: TestClient) -> None:
    h = login(client, "stat")
    pid = patient_id(client, "S01", h)
    aid = client.get(f"/api/patients/{pid}").json()["assessments"][0]["id"]
    page = f"/patients/{pid}"
    status, text = _post(client, "/queries", page, patient_id=str(pid),
                         record=f"assessments:{aid}", field="colour", question="?")
    assert status == 422 and "not a field of assessments" in text
    status, _ = _post(client, "/queries", page, patient_id=str(pid),
                      record=f"assessments:{aid}", field="value_text",
                      question="source document?")
    assert status == 303
    login(client, "inv1")
    listing = client.get("/queries").text
    qid = int(re.findall(r'action="/queries/(\d+)/answer"', listing)[0])
    assert _post(client, f"/queries/{qid}/answer", "/queries", answer="")[0] == 422
    assert _post(client, f"/queries/{qid}/answer", "/queries", answer="checked: C")[0] == 303
    login(client, "inv2")  # another site sees nothing of it
    assert "source document?" not in client.get("/queries").text
    login(client, "stat")
    assert _post(client, f"/queries/{qid}/close", "/queries")[0] == 303
    assert "closed" in client.get(page).text.split('id="queries"')[1]
    login(client, "reg")
    listing = client.get("/queries").text
    assert "checked: C" in listing and "inv1" not in listing and "user-" in listing
    history = [e for e in _audit(client, "data_queries") if e["record_key"].startswith(
        f"assessments:{aid}:")]
    assert [e["action"] for e in history] == ["insert", "update", "update"]


def test_enrollment_saves_and_continues_to_the_first_study_form(client: TestClient,
                                                                app: Any) -> None:
    from pathlib import Path

    from sqlalchemy.orm import Session

    from regmed.registry.study_dictionary import store_study_dictionary
    from regmed.study import read_redcap_csv

    form = {"patient_ref": "CONT-1", "sex": "F", "birth_year": "1970",
            "indication_code": "SCI", "cohort": "treated", "direction": "prospective",
            "index_on": "2026-02-01", "enrolled_on": "2026-02-02"}
    login(client, "inv1")
    page = client.get("/patients").text
    assert 'id="enroll-save"' in page and 'id="enroll-continue"' not in page  # no dictionary
    r = client.post("/patients", data={**form, "next": "1",
                                       "csrf_token": _token(client, "/patients")},
                    follow_redirects=False)
    assert re.fullmatch(r"/patients/\d+", r.headers["location"])  # no study forms: its page
    d = read_redcap_csv(Path(__file__).parents[1] / "study" / "data" / "redcap_30.csv")
    with Session(app.state.engine, join_transaction_mode="create_savepoint") as s:
        store_study_dictionary(d, session=s, actor="admin", reason="from REDCap")
        s.commit()
    assert 'id="enroll-continue"' in client.get("/patients").text
    r = client.post("/patients", data={**form, "patient_ref": "CONT-2", "next": "1",
                                       "csrf_token": _token(client, "/patients")},
                    follow_redirects=False)
    assert r.status_code == 303
    m = re.fullmatch(r"/patients/(\d+)/forms/([a-z_]+)", r.headers["location"])
    assert m and m[2] == d.forms()[0]
    assert "Form " + d.forms()[0] in client.get(r.headers["location"]).text
    r = client.post("/patients", data={**form, "patient_ref": "CONT-3", "next": "0",
                                       "csrf_token": _token(client, "/patients")},
                    follow_redirects=False)
    assert re.fullmatch(r"/patients/\d+", r.headers["location"])
