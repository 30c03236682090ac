"""Forms generated from the study dictionary (the 30-variable REDCap fixture stored in the
registry): a widget per field type, labels by the page language, branching evaluated on the
server (and re-asked by the page's script), inline errors with exactly the importer's texts,
a change reason asked only when a saved value changes, nothing written on refusal, and the
patient pages' access rules."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

import regmed.registry as reg
from regmed.errors import DataError
from regmed.registry.study_dictionary import store_study_dictionary
from regmed.study import read_redcap_csv, validate_record

from .conftest import KEY, login, patient_id

FIXTURE = Path(__file__).parents[1] / "study" / "data" / "redcap_30.csv"
GOOD = {"age": "40", "ais_grade": "C", "injury_level": "C5", "injury_date": "2026-01-01",
        "days_from_injury": "10", "baseline_motor_score": "50", "height_cm": "170",
        "weight_kg": "65"}


def _session(app: Any) -> Session:
    return Session(app.state.engine, join_transaction_mode="create_savepoint")


@pytest.fixture
def stored(app: Any) -> Any:
    """The fixture dictionary, stored in the registry of the test's app."""
    d = read_redcap_csv(FIXTURE)
    with _session(app) as s:
        store_study_dictionary(d, session=s, actor="admin", reason="from REDCap")
        s.commit()
    return d


def _pid(client: TestClient, site: str = "S01") -> int:
    login(client, "stat")
    pid = patient_id(client, site, {})
    client.post("/api/logout")
    return pid


def _token(page: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert m, "the page has a form with a CSRF token"
    return m.group(1)


def _post(client: TestClient, url: str, data: dict[str, Any], **headers: str) -> Any:
    token = _token(client.get(url, headers=headers).text)
    return client.post(url, data={**data, "csrf_token": token}, headers=headers,
                       follow_redirects=False)


def _field(page: str, name: str) -> str:
    m = re.search(rf'<div class="field" data-var="{name}"[^>]*>.*?</div>', page, re.S)
    assert m, f"field {name} is on the page"
    return m.group(0)


def _error(page: str, name: str) -> str:
    m = re.search(rf'<small class="field-error" id="err-{name}">(.*?)</small>', page, re.S)
    assert m, f"an inline error beside {name}"
    return html.unescape(m.group(1))


def _baseline_rows(app: Any, pid: int) -> dict[str, Any]:
    with _session(app) as s:
        rows = s.execute(select(reg.Baseline.variable, reg.Baseline.value,
                                reg.Baseline.value_text).where(reg.Baseline.patient_id == pid))
        return {v: x if x is not None else t for v, x, t in rows}


def _count(app: Any, table: str) -> int:
    with _session(app) as s:
        return int(s.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one())


@pytest.mark.usefixtures("stored")
def test_every_field_type_has_its_widget_and_label_in_the_page_language(
        client: TestClient) -> None:
    pid = _pid(client)
    login(client, "inv1")
    en = client.get(f"/patients/{pid}/forms/baseline").text
    assert re.search(r'<select id="f-ais_grade" name="ais_grade"', en)  # dropdown
    assert 'data-widget="select"' in _field(en, "injury_level")
    age = _field(en, "age")
    assert 'inputmode="numeric"' in age and 'min="0"' in age and 'max="120"' in age
    assert "Age" in age and "(years)" in age and "年齢" not in age
    assert "range 0–120 years" in age
    height = _field(en, "height_cm")
    assert 'inputmode="decimal"' in height and 'min="100"' in height and "(cm)" in height
    assert 'type="date"' in _field(en, "injury_date")
    bmi = _field(en, "bmi")
    assert "<output" in bmi and "<input" not in bmi  # calculated: read-only
    smoker = _field(en, "smoker")  # truefalse: radio
    assert smoker.count('type="radio"') == 2 and "True" in smoker
    boxes = _field(en, "comorbidities")
    assert boxes.count('type="checkbox"') == 3 and "Hypertension" in boxes
    assert "<textarea" in _field(en, "medical_history")
    enrollment = client.get(f"/patients/{pid}/forms/enrollment").text
    sex = _field(enrollment, "sex")  # REDCap radio → radio
    assert sex.count('type="radio"') == 2 and "Female" in sex
    pregnant = _field(enrollment, "pregnant")  # yes/no → radio 1/0
    assert 'value="1"' in pregnant and 'value="0"' in pregnant and "Yes" in pregnant
    note = _field(enrollment, "enroll_note")
    assert "Notes on enrolment" in note and "<input" not in note  # descriptive: text only
    consent = _field(enrollment, "consent_date")
    assert 'type="date"' in consent and 'min="2020-01-01"' in consent
    ja = client.get(f"/patients/{pid}/forms/baseline", headers={"Accept-Language": "ja"}).text
    assert '<html lang="ja"' in ja and "年齢" in _field(ja, "age")
    assert '<h2 class="section">身体計測</h2>' in ja and "Body measures" in en
    assert "高血圧" in _field(ja, "comorbidities") and "保存して次へ" in ja
    assert '<script src="/static/forms.js"' in ja
    assert client.get("/static/forms.js").status_code == 200


@pytest.mark.usefixtures("stored")
def test_the_patient_page_links_the_forms(client: TestClient) -> None:
    pid = _pid(client)
    login(client, "inv1")
    page = client.get(f"/patients/{pid}").text
    for form in ("enrollment", "baseline", "visit"):
        assert f'href="/patients/{pid}/forms/{form}"' in page


BAD = {"age": "40.5", "ais_grade": "Z", "injury_level": "C9", "injury_date": "2026-13-01",
       "days_from_injury": "61", "baseline_motor_score": "abc", "height_cm": "99",
       "weight_kg": "heavy", "comorbidities": ["1", "7"]}


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_bad_values_of_each_type_give_the_importers_texts_inline(
        app: Any, client: TestClient, stored: Any, lang: str) -> None:
    pid = _pid(client)
    login(client, "inv1")
    before = (_count(app, "baseline"), _count(app, "audit_events"))
    url = f"/patients/{pid}/forms/baseline"
    r = _post(client, url, BAD, **{"Accept-Language": lang})
    assert r.status_code == 422
    page = r.text
    typed = {k: "|".join(v) if isinstance(v, list) else v for k, v in BAD.items()}
    expected = {p.field: p.message for p in validate_record(
        stored, "baseline", {**typed, "comorbidities": frozenset(BAD["comorbidities"])},
        lang=lang)}
    assert set(expected) == set(BAD)  # every field refused
    for name, message in expected.items():
        assert _error(page, name) == message, name
    # what was typed is kept
    assert 'value="40.5"' in _field(page, "age") and 'value="heavy"' in _field(page, "weight_kg")
    assert re.search(r'value="1" checked', _field(page, "comorbidities"))
    assert (_count(app, "baseline"), _count(app, "audit_events")) == before
    if lang == "ja":
        assert "整数を入力してください（入力値: 40.5）。" == _error(page, "age")
        return
    # the importer gives the very same sentences for the same values
    rows = [("age", 40.5, None), ("ais_grade", None, "Z"), ("injury_level", None, "C9"),
            ("injury_date", None, "2026-13-01"), ("days_from_injury", 61, None),
            ("height_cm", 99, None), ("weight_kg", None, "heavy"),
            ("comorbidities", None, "1|7"), ("baseline_motor_score", None, "abc")]
    frame = pd.DataFrame([{"site_code": "S01", "patient_ref": "P1", "variable": v,
                           "value": x, "value_text": t} for v, x, t in rows])
    with _session(app) as s, pytest.raises(DataError) as info:
        reg.import_tables(s, {"baseline": frame}, actor="inv1", key=KEY)
    by_row = {p.row: p.message for p in info.value.problems}
    for i, (name, _, _) in enumerate(rows, start=1):
        assert by_row[i] == _error(page, name), name


@pytest.mark.usefixtures("stored")
def test_branching_hides_and_shows_fields(app: Any, client: TestClient) -> None:
    pid = _pid(client)
    login(client, "inv1")
    url = f"/patients/{pid}/forms/baseline"
    page = client.get(url).text
    other = _field(page, "comorbidity_other")
    assert " hidden>" in other and "disabled" in other
    assert " hidden>" not in _field(page, "comorbidities")
    # the page's script asks the server, which evaluates the same branching
    token = _token(page)
    shown = client.post(f"{url}/visibility", data={"comorbidities": ["1", "3"],
                                                   "height_cm": "170", "weight_kg": "68",
                                                   "csrf_token": token}).json()
    assert shown["shown"]["comorbidity_other"] is True
    assert shown["calculated"]["bmi"] == "23.53"
    assert client.post(f"{url}/visibility", data={"comorbidities": "1", "csrf_token": token}
                       ).json()["shown"]["comorbidity_other"] is False
    # without the script: ticking box 3 and saving shows the (required) other disease
    r = _post(client, url, {**GOOD, "comorbidities": ["1", "3"]})
    assert r.status_code == 422
    other = _field(r.text, "comorbidity_other")
    assert " hidden>" not in other and "disabled" not in other
    assert _error(r.text, "comorbidity_other") == "Required: enter a value."
    assert _count(app, "baseline") == 0
    r = _post(client, url, {**GOOD, "comorbidities": ["1", "3"], "comorbidity_other": "asthma"})
    assert r.status_code == 303, r.text
    saved = _baseline_rows(app, pid)
    assert saved["comorbidities"] == "1|3" and saved["comorbidity_other"] == "asthma"
    assert saved["bmi"] == pytest.approx(65 / 1.7 ** 2)
    # a value for a field the answers hide is refused with the importer's sentence
    enrollment = f"/patients/{pid}/forms/enrollment"
    r = _post(client, enrollment, {"sex": "M", "pregnant": "1", "consent_date": "2026-01-05",
                                   "birth_year": "1970"})
    assert r.status_code == 422
    assert _error(r.text, "pregnant").startswith("Must be empty")


@pytest.mark.usefixtures("stored")
def test_a_reason_is_asked_only_when_a_saved_value_changes(app: Any, client: TestClient
                                                            ) -> None:
    pid = _pid(client)
    login(client, "inv1")
    url = f"/patients/{pid}/forms/baseline"
    assert 'name="reason"' not in client.get(url).text  # nothing saved: no reason asked
    r = _post(client, url, {**GOOD, "next": "1"})  # first entry: no reason
    assert r.status_code == 303 and r.headers["location"] == f"/patients/{pid}/forms/visit?saved=1"
    assert _baseline_rows(app, pid)["age"] == 40
    events = _count(app, "audit_events")
    assert _post(client, url, GOOD).status_code == 303  # saved again unchanged: no reason
    assert _count(app, "audit_events") == events
    r = _post(client, url, {**GOOD, "age": "41"})
    assert r.status_code == 422
    assert _error(r.text, "reason") == (
        "A saved value changes: give the reason for the change.")
    assert 'value="41"' in _field(r.text, "age")
    ja = _post(client, url, {**GOOD, "age": "41"}, **{"Accept-Language": "ja"})
    assert _error(ja.text, "reason") == "保存済みの値を変更します。変更理由を入力してください。"
    assert _baseline_rows(app, pid)["age"] == 40 and _count(app, "audit_events") == events
    r = _post(client, url, {**GOOD, "age": "41", "reason": "typo in the chart"})
    assert r.status_code == 303 and r.headers["location"] == f"{url}?saved=1"
    assert _baseline_rows(app, pid)["age"] == 41
    with _session(app) as s:
        log = [e for e in reg.audit_log(s, "baseline") if e["action"] == "update"]
    assert [(e["actor"], e["reason"]) for e in log] == [("inv1", "typo in the chart")]


@pytest.mark.usefixtures("stored")
def test_nothing_is_written_on_refusal(app: Any, client: TestClient) -> None:
    pid = _pid(client)
    login(client, "inv1")
    before = _count(app, "baseline"), _count(app, "audit_events")
    r = _post(client, f"/patients/{pid}/forms/baseline", {**GOOD, "weight_kg": "500"})
    assert r.status_code == 422 and _error(r.text, "weight_kg") == (
        "Must be at most 250 kg (got 500).")
    assert (_count(app, "baseline"), _count(app, "audit_events")) == before


@pytest.mark.usefixtures("stored")
def test_access_rules_of_the_patient_pages(app: Any, client: TestClient) -> None:
    pid = _pid(client)
    url = f"/patients/{pid}/forms/baseline"
    login(client, "inv2")  # another site's investigator
    assert client.get(url).status_code == 404
    token = _token(client.get("/account").text)
    assert client.post(url, data={**GOOD, "csrf_token": token}).status_code == 404
    assert client.post(f"{url}/visibility", data={"csrf_token": token}).status_code == 404
    client.post("/api/logout")
    login(client, "adj1")  # blinded: no patient records
    assert client.get(url).status_code == 403
    client.post("/api/logout")
    login(client, "mon")  # reads every site, enters nothing
    page = client.get(url).text
    assert 'id="save"' not in page
    token = _token(page)
    assert client.post(url, data={**GOOD, "csrf_token": token}).status_code == 403
    assert client.get(f"/patients/{pid}/forms/nosuchform").status_code == 404
    with _session(app) as s:
        assert s.execute(select(func.count()).select_from(reg.Baseline)).scalar_one() == 0


def test_forms_are_titled_by_their_instrument_labels_in_the_page_language(
        app: Any, client: TestClient) -> None:
    from regmed.study import parse_instruments_text

    d = parse_instruments_text("instrument_name,instrument_label\r\n"
                               "baseline,患者背景 / Baseline\r\n", read_redcap_csv(FIXTURE))
    with _session(app) as s:
        store_study_dictionary(d, session=s, actor="admin", reason="titles")
        s.commit()
    pid = _pid(client)
    login(client, "inv1")
    ja = client.get(f"/patients/{pid}/forms/baseline", headers={"Accept-Language": "ja"}).text
    en = client.get(f"/patients/{pid}/forms/baseline", headers={"Accept-Language": "en"}).text
    assert "<h1>フォーム 患者背景" in ja or "<h1>患者背景" in ja
    assert '<strong aria-current="page">患者背景</strong>' in ja
    assert '<strong aria-current="page">Baseline</strong>' in en
    assert ">enrollment</a>" in en  # a form without a title shows its name
    page = client.get(f"/patients/{pid}", headers={"Accept-Language": "ja"}).text
    assert f'href="/patients/{pid}/forms/baseline">患者背景</a>' in page
