"""Visit forms (the study dictionary's instrument–event mapping) on the web: one instance per
patient and visit, values stored per visit and audited, branching within the visit, the
importer's texts inline; and clearing a saved value (audited, reason required, not for a
required field)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

import regmed.registry as reg
from regmed.errors import DataError
from regmed.registry.study_dictionary import store_study_dictionary
from regmed.study import Visit, read_event_mapping_csv, read_redcap_csv

from .conftest import KEY, login
from .test_dictionary_forms import (
    FIXTURE,
    GOOD,
    _baseline_rows,
    _count,
    _error,
    _field,
    _pid,
    _post,
)
from .test_dictionary_forms import _session as session_of

ENROLLMENT = {"site_patient_id": "H-001", "consent_date": "2026-01-05", "birth_year": "1970",
              "sex": "M"}
VISIT = {"visit_date": "2026-02-01", "motor_score": "20", "ais_grade_visit": "C",
         "ae_any": "0", "walking": "0"}


@pytest.fixture
def stored(app: Any) -> Any:
    """The fixture dictionary with visits: baseline and visit at screening, visit at
    day180; enrollment patient-level."""
    d = read_redcap_csv(FIXTURE).model_copy(update={"visits": (
        Visit(name="screening", day=0), Visit(name="day180", day=180, window=30))})
    d = read_event_mapping_csv(FIXTURE.with_name("redcap_30_events.csv"), d)
    with session_of(app) as s:
        store_study_dictionary(d, session=s, actor="admin", reason="with visits")
        s.commit()
    return d


def _visit_rows(app: Any, pid: int) -> dict[tuple[str, str], Any]:
    with session_of(app) as s:
        rows = s.execute(select(reg.VisitValue.visit, reg.VisitValue.variable,
                                reg.VisitValue.value, reg.VisitValue.value_text)
                         .where(reg.VisitValue.patient_id == pid))
        return {(v, var): x if x is not None else t for v, var, x, t in rows}


def _url(pid: int, visit: str, form: str) -> str:
    return f"/patients/{pid}/visits/{visit}/forms/{form}"


@pytest.mark.usefixtures("stored")
def test_the_patient_page_lists_each_visits_forms(client: TestClient) -> None:
    pid = _pid(client)
    login(client, "inv1")
    page = client.get(f"/patients/{pid}").text
    assert f'href="/patients/{pid}/forms/enrollment"' in page
    for visit, form in (("screening", "baseline"), ("screening", "visit"),
                        ("day180", "visit")):
        assert f'href="{_url(pid, visit, form)}"' in page
    assert f'href="/patients/{pid}/forms/visit"' not in page
    assert f'href="/patients/{pid}/forms/baseline"' not in page
    ja = client.get(f"/patients/{pid}", headers={"Accept-Language": "ja"}).text
    assert "来院ごとのフォーム" in ja and "180 日目" in ja
    # a visit form has no patient-level page, and a form only where the mapping puts it
    assert client.get(f"/patients/{pid}/forms/visit").status_code == 404
    assert client.get(_url(pid, "day180", "baseline")).status_code == 404
    assert client.get(_url(pid, "week_99", "visit")).status_code == 404
    assert client.get(_url(pid, "screening", "enrollment")).status_code == 404


@pytest.mark.usefixtures("stored")
def test_values_are_saved_per_visit_and_audited(app: Any, client: TestClient) -> None:
    pid = _pid(client)
    login(client, "inv1")
    r = _post(client, _url(pid, "screening", "baseline"), {**GOOD, "next": "1"})
    assert r.status_code == 303, r.text
    # save and continue: the next form of the same visit
    assert r.headers["location"] == _url(pid, "screening", "visit") + "?saved=1"
    assert _visit_rows(app, pid)[("screening", "age")] == 40  # baseline: a screening form
    r = _post(client, _url(pid, "screening", "visit"), {**VISIT, "next": "1"})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == _url(pid, "screening", "visit") + "?saved=1"  # last form
    r = _post(client, _url(pid, "day180", "visit"),
              {**VISIT, "visit_date": "2026-08-01", "motor_score": "35", "walking": "1",
               "walking_aid": "2"})
    assert r.status_code == 303, r.text
    rows = _visit_rows(app, pid)
    assert rows[("screening", "motor_score")] == 20 and rows[("day180", "motor_score")] == 35
    assert rows[("day180", "walking_aid")] == "2" and ("screening", "walking_aid") not in rows
    assert _baseline_rows(app, pid) == {}  # visit values are not baseline rows
    with session_of(app) as s:
        log = reg.audit_log(s, "visit_values")
    assert {e["actor"] for e in log} == {"inv1"}
    assert sum(e["record_key"].endswith(":day180:motor_score") for e in log) == 1
    assert len(log) == len(rows)
    # the patient page marks the forms that hold values, per visit
    page = client.get(f"/patients/{pid}").text
    day180 = page.split('data-visit="day180"')[1].split("</li>")[0]
    assert "(values saved)" in day180
    assert "(values saved)" not in page.split('id="study-forms"')[1].split("</ul>")[0]
    # each instance shows its own visit's values
    screening = client.get(_url(pid, "screening", "visit")).text
    assert 'value="20"' in _field(screening, "motor_score")
    assert " hidden>" in _field(screening, "walking_aid")  # walking is 0 at this visit
    day180 = client.get(_url(pid, "day180", "visit")).text
    assert 'value="35"' in _field(day180, "motor_score")
    assert " hidden>" not in _field(day180, "walking_aid")


@pytest.mark.usefixtures("stored")
def test_branching_reads_the_same_visit(app: Any, client: TestClient) -> None:
    pid = _pid(client)
    login(client, "inv1")
    assert _post(client, _url(pid, "day180", "visit"),
                 {**VISIT, "walking": "1", "walking_aid": "2"}).status_code == 303
    # walking is 1 at day180, not at screening: the aid is hidden there and refused
    r = _post(client, _url(pid, "screening", "visit"), {**VISIT, "walking_aid": "2"})
    assert r.status_code == 422
    assert _error(r.text, "walking_aid").startswith("Must be empty")
    page = client.get(_url(pid, "screening", "visit")).text
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    shown = client.post(_url(pid, "screening", "visit") + "/visibility",
                        data={"walking": "1", "ais_grade_visit": "C", "csrf_token": token})
    assert shown.json()["shown"]["walking_aid"] is True


def test_visit_form_refusals_give_the_importers_texts(app: Any, client: TestClient,
                                                      stored: Any) -> None:
    pid = _pid(client)
    login(client, "inv1")
    before = (_count(app, "visit_values"), _count(app, "audit_events"))
    r = _post(client, _url(pid, "day180", "visit"),
              {**VISIT, "motor_score": "101", "visit_date": "2026-13-01"})
    assert r.status_code == 422
    frame = pd.DataFrame([
        {"site_code": "S01", "patient_ref": "P1", "visit": "day180", "variable": v,
         "value": x, "value_text": t}
        for v, x, t in (("motor_score", 101, None), ("visit_date", None, "2026-13-01"))])
    with session_of(app) as s, pytest.raises(DataError) as info:
        reg.import_tables(s, {"visit_values": frame}, actor="inv1", key=KEY)
    by_row = {p.row: p.message for p in info.value.problems}
    assert by_row == {1: _error(r.text, "motor_score"), 2: _error(r.text, "visit_date")}
    assert by_row[1] == "Must be at most 100 (got 101)."
    assert (_count(app, "visit_values"), _count(app, "audit_events")) == before


@pytest.mark.usefixtures("stored")
def test_clearing_a_saved_value_needs_a_reason_and_is_audited(app: Any, client: TestClient
                                                              ) -> None:
    pid = _pid(client)
    login(client, "inv1")
    url = f"/patients/{pid}/forms/enrollment"  # patient-level: baseline rows
    full = {**ENROLLMENT, "record_id": "R-17"}
    assert _post(client, url, full).status_code == 303
    assert _baseline_rows(app, pid)["record_id"] == "R-17"
    events = _count(app, "audit_events")
    cleared = {**full, "record_id": ""}
    r = _post(client, url, cleared)  # emptied, no reason: refused, nothing deleted
    assert r.status_code == 422
    assert _error(r.text, "reason") == "A saved value changes: give the reason for the change."
    assert "record_id" in _baseline_rows(app, pid)
    assert _count(app, "audit_events") == events
    r = _post(client, url, {**cleared, "reason": "entered for the wrong patient"})
    assert r.status_code == 303, r.text
    assert "record_id" not in _baseline_rows(app, pid)
    assert _baseline_rows(app, pid)["sex"] == "M"  # the others stay
    with session_of(app) as s:
        deleted = [e for e in reg.audit_log(s, "baseline") if e["action"] == "delete"]
    assert [(e["actor"], e["reason"], e["old_values"]["value_text"]) for e in deleted] == [
        ("inv1", "entered for the wrong patient", "R-17")]
    assert 'value=""' in _field(client.get(url).text, "record_id")
    # a required field cannot be emptied: the importer's sentence, nothing deleted
    r = _post(client, url, {**cleared, "birth_year": "", "reason": "unknown"})
    assert r.status_code == 422 and _error(r.text, "birth_year") == "Required: enter a value."
    assert _baseline_rows(app, pid)["birth_year"] == 1970
    ja = _post(client, url, {**cleared, "birth_year": "", "reason": "unknown"},
               **{"Accept-Language": "ja"})
    assert _error(ja.text, "birth_year") == "必須項目です。値を入力してください。"
    # a visit value is cleared the same way
    visit = _url(pid, "day180", "visit")
    assert _post(client, visit, {**VISIT, "sensory_score": "80"}).status_code == 303
    assert _post(client, visit, VISIT).status_code == 422  # emptied without a reason
    assert _post(client, visit, {**VISIT, "reason": "not measured"}).status_code == 303
    assert ("day180", "sensory_score") not in _visit_rows(app, pid)
    with session_of(app) as s:
        (gone,) = [e for e in reg.audit_log(s, "visit_values") if e["action"] == "delete"]
    assert gone["reason"] == "not measured" and gone["record_key"].endswith(
        ":day180:sensory_score")


def test_the_first_form_is_patient_level_else_the_first_visits() -> None:
    from regmed.web.formpages import FormLinks

    visits = [("Week 12", 84, ["vitals", "labs"])]
    assert FormLinks(["enrollment"], visits).first(3) == "/patients/3/forms/enrollment"
    assert FormLinks([], visits).first(3) == "/patients/3/visits/Week%2012/forms/vitals"
    assert FormLinks().first(3) is None and not FormLinks()
