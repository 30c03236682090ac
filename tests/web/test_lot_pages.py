"""The lots pages (master data, issue 17 part 2): the administrator enters lots, quality
results and shipments through forms that save through the importer (the JSON API's path):
every problem is the importer's, shown beside its field with what was typed, status 422,
nothing written; a reason is asked only when a saved value changes; every save is audited;
the other roles read or are refused."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import regmed.registry as reg
from regmed.registry.importer import prepare_import
from regmed.web.i18n import Translator, load_catalogues
from regmed.web.lots import SOURCE, today_of
from regmed.web.problems import plain
from regmed.web.studyforms import REASON_NEEDED

from .conftest import login

ATTRIBUTES = [
    {"product_code": "PROD-X", "attribute_code": "viability", "name": "Viability",
     "unit": "%", "method": "trypan blue", "lower_spec": 70, "upper_spec": 100},
    {"product_code": "PROD-X", "attribute_code": "sterility", "name": "Sterility",
     "unit": "-", "spec_category": "negative"},
]
NEW_LOT = {"lot_code": "LOT-100", "product_code": "PROD-X", "donor_code": "D-P1",
           "process_version": "v2", "manufactured_on": "2026-02-01",
           "released_on": "2026-02-10", "status": "released", "coa_reference": "COA-100"}


def _session(app: Any) -> Session:
    return Session(app.state.engine, join_transaction_mode="create_savepoint")


def _token(page: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert m, "the page has a form with a CSRF token"
    return m.group(1)


def _post(client: TestClient, url: str, page: str, data: dict[str, Any]) -> Any:
    token = _token(client.get(page).text)
    return client.post(url, data={**data, "csrf_token": token}, follow_redirects=False)


def _errors(page: str, form: str) -> dict[str, str]:
    return {m[0]: html.unescape(m[1]) for m in re.findall(
        rf'<small class="field-error" id="err-{form}-([a-z_]+)">(.*?)</small>', page)}


def _form(page: str, form: str) -> str:
    return page.split(f'id="{form}"')[1].split("</form>")[0]


def _value(page: str, form: str, name: str) -> str:
    m = re.search(rf'name="{name}" type="[a-z]+" value="([^"]*)"', _form(page, form))
    assert m, f"{name} is a field of {form}"
    return html.unescape(m.group(1))


def _audit(app: Any, table: str) -> list[reg.AuditEvent]:
    with _session(app) as s:
        return list(s.execute(select(reg.AuditEvent).where(reg.AuditEvent.table_name == table)
                              .order_by(reg.AuditEvent.seq)).scalars())


def _count(app: Any, model: Any) -> int:
    with _session(app) as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def _lot_id(app: Any, code: str) -> int:
    with _session(app) as s:
        return int(s.execute(select(reg.Lot.id).where(reg.Lot.lot_code == code)).scalar_one())


def _expected(app: Any, table: str, row: dict[str, Any]) -> dict[str, list[str]]:
    """The importer's own problems of ``row`` in plain English, by field."""
    en = Translator("en", "western", load_catalogues()["en"])
    with _session(app) as s:
        found = prepare_import(s, {table: pd.DataFrame([row], dtype=object)}, actor="admin",
                               sources={table: SOURCE}, overwrite=True,
                               today=today_of(app.state.settings)).problems
    out: dict[str, list[str]] = {}
    for p in found:
        out.setdefault(p.field or "", []).append(plain(p.message, en))
    return out


def _as_admin(client: TestClient, app: Any, code: str, part: str) -> tuple[str, str, str]:
    """Log in as the administrator: the form's address, the lot page's, and the page."""
    lid = _lot_id(app, code)
    login(client, "admin")
    return f"/lots/{lid}/{part}", f"/lots/{lid}", client.get(f"/lots/{lid}").text


@pytest.fixture
def attributes(app: Any, client: TestClient) -> None:
    h = login(client, "admin")
    r = client.post("/api/tables/quality_attributes", json=ATTRIBUTES, headers=h)
    assert r.status_code == 201, r.text
    r = client.post("/api/tables/lot_results", headers=h, json=[
        {"lot_code": "LOT-001", "attribute_code": "viability", "value": 85, "unit": "%"},
        {"lot_code": "LOT-004", "attribute_code": "viability", "value": 62, "unit": "%"}])
    assert r.status_code == 201, r.text
    client.post("/api/logout", headers=h)


@pytest.mark.usefixtures("attributes")
def test_the_lots_page_lists_lots_with_results_shipments_and_oos(client: TestClient) -> None:
    login(client, "admin")
    page = client.get("/lots").text
    assert '<a href="/lots">Lots</a>' in page  # in the administrator's navigation
    rows = {m[1]: m[2] for m in re.findall(
        r'<tr><td><a href="/lots/(\d+)">(LOT-\d+)</a></td>(.*?)</tr>', page, re.S)}
    assert {"LOT-001", "LOT-002", "LOT-003", "LOT-004", "LOT-005", "LOT-007"} <= set(rows)
    assert "viability 85 %" in rows["LOT-001"] and "SH-LOT-001 → S01" in rows["LOT-001"]
    assert "out of specification" not in rows["LOT-001"]
    assert "out of specification" in rows["LOT-004"]  # 62 % is below the 70 % limit
    assert "out of specification" in rows["LOT-002"]  # released as out of specification
    assert "D-P1" in rows["LOT-001"] and "v1" in rows["LOT-001"] and "2025-12-10" in rows[
        "LOT-001"]
    assert 'id="new-lot"' in page
    ja = client.get("/lots", headers={"Accept-Language": "ja"}).text
    assert "新しいロット" in ja and "規格外" in ja


@pytest.mark.usefixtures("attributes")
@pytest.mark.parametrize("user", ["stat", "reg", "mon"])
def test_readers_see_the_lots_without_forms(client: TestClient, app: Any, user: str) -> None:
    login(client, user)
    page = client.get("/lots")
    assert page.status_code == 200 and "LOT-001" in page.text
    assert 'id="new-lot"' not in page.text
    lot = client.get(f"/lots/{_lot_id(app, 'LOT-001')}").text
    assert "viability" in lot and 'id="lot-result"' not in lot and 'id="change-lot"' not in lot


@pytest.mark.usefixtures("attributes")
@pytest.mark.parametrize("user", ["inv1", "adj1", "stat"])
def test_only_the_administrator_writes_lots(client: TestClient, app: Any, user: str) -> None:
    lid = _lot_id(app, "LOT-001")
    login(client, user)
    token = _token(client.get("/account").text)
    before = (_count(app, reg.Lot), _count(app, reg.LotResult), _count(app, reg.Shipment))
    for url, data in (("/lots", NEW_LOT),
                      (f"/lots/{lid}", {**NEW_LOT, "released_on": "2026-01-01"}),
                      (f"/lots/{lid}/results", {"attribute_code": "sterility",
                                                "value_text": "negative"}),
                      (f"/lots/{lid}/shipments", {"shipment_code": "SH-X", "site_code": "S02",
                                                  "shipped_on": "2026-01-01",
                                                  "received_on": "2026-01-02"})):
        r = client.post(url, data={**data, "csrf_token": token}, follow_redirects=False)
        assert r.status_code == 403, (url, r.status_code)
    assert (_count(app, reg.Lot), _count(app, reg.LotResult),
            _count(app, reg.Shipment)) == before
    if user != "stat":
        assert client.get("/lots").status_code == 403
        assert client.get(f"/lots/{lid}").status_code == 403
    assert 'href="/lots"' not in client.get("/").text or user == "stat"


def test_a_new_lot_is_saved_audited_and_continues_to_its_page(client: TestClient,
                                                              app: Any) -> None:
    login(client, "admin")
    r = _post(client, "/lots", "/lots", {**NEW_LOT, "next": "1"})
    assert r.status_code == 303, r.text
    lid = _lot_id(app, "LOT-100")
    assert r.headers["location"] == f"/lots/{lid}?saved=new-lot"
    page = client.get(r.headers["location"]).text
    assert 'id="saved"' in page and "COA-100" in page and "v2" in page
    event = _audit(app, "lots")[-1]
    assert (event.action, event.actor, event.record_key) == ("insert", "admin", "LOT-100")
    r = _post(client, "/lots", "/lots", {**NEW_LOT, "lot_code": "LOT-101", "next": "0"})
    assert r.headers["location"] == "/lots?saved=new-lot"
    assert "LOT-101" in client.get("/lots").text
    # a code typed with a Japanese input method is stored normalized; its page opens
    r = _post(client, "/lots", "/lots", {**NEW_LOT, "lot_code": "ＬＯＴ－２００", "next": "1"})
    assert r.headers["location"] == f"/lots/{_lot_id(app, 'LOT-200')}?saved=new-lot"


def test_a_refused_lot_shows_the_importers_problems_beside_the_fields(client: TestClient,
                                                                      app: Any) -> None:
    login(client, "admin")
    bad = {**NEW_LOT, "manufactured_on": "2026-05-01", "released_on": "2026-02-20",
           "status": "shipped", "process_version": ""}
    lots, events = _count(app, reg.Lot), len(_audit(app, "lots"))
    r = _post(client, "/lots", "/lots", bad)
    assert r.status_code == 422
    shown = _errors(r.text, "new-lot")
    row = {k: (v or None) for k, v in bad.items()}
    expected = _expected(app, "lots", row)
    assert {"manufactured_on", "released_on", "status", "process_version"} <= set(expected)
    for field, texts in expected.items():
        assert shown[field] == "; ".join(texts), field
    assert shown["manufactured_on"] == "is in the future"  # after the app clock's 2026-03-01
    assert shown["released_on"] == "is before Manufactured on"
    assert _value(r.text, "new-lot", "lot_code") == "LOT-100"  # what was typed is kept
    assert _value(r.text, "new-lot", "manufactured_on") == "2026-05-01"
    assert "web form" not in r.text and "row 1" not in r.text
    assert (_count(app, reg.Lot), len(_audit(app, "lots"))) == (lots, events)
    ja = client.post("/lots", data={**bad, "csrf_token": _token(client.get("/lots").text)},
                     headers={"Accept-Language": "ja"})
    assert ja.status_code == 422 and "未来の日付は入力できません" in _errors(
        ja.text, "new-lot")["manufactured_on"]


def test_changing_a_lot_asks_for_a_reason_only_when_a_value_changes(client: TestClient,
                                                                    app: Any) -> None:
    lid = _lot_id(app, "LOT-003")
    login(client, "admin")
    page = client.get(f"/lots/{lid}").text
    form = {k: _value(page, "change-lot", k) for k in ("process_version", "manufactured_on",
                                                       "released_on", "coa_reference")}
    assert form == {"process_version": "v1", "manufactured_on": "2025-12-01",
                    "released_on": "", "coa_reference": ""}
    assert '<option value="quarantined" selected>' in _form(page, "change-lot")
    saved = {**form, "product_code": "PROD-X", "donor_code": "D-P1", "status": "quarantined"}
    events = len(_audit(app, "lots"))
    r = _post(client, f"/lots/{lid}", f"/lots/{lid}", saved)  # nothing changes: no reason
    assert r.status_code == 303 and len(_audit(app, "lots")) == events
    changed = {**saved, "released_on": "2026-01-05", "status": "released"}
    r = _post(client, f"/lots/{lid}", f"/lots/{lid}", changed)
    assert r.status_code == 422
    assert _errors(r.text, "change-lot") == {"reason": REASON_NEEDED}
    assert _value(r.text, "change-lot", "released_on") == "2026-01-05"
    assert len(_audit(app, "lots")) == events
    r = _post(client, f"/lots/{lid}", f"/lots/{lid}", {**changed, "reason": "QA release"})
    assert r.status_code == 303
    event = _audit(app, "lots")[-1]
    assert (event.action, event.reason) == ("update", "QA release")
    assert json.loads(event.new_values or "{}")["released_on"] == "2026-01-05"
    assert _value(client.get(f"/lots/{lid}").text, "change-lot", "released_on") == "2026-01-05"


@pytest.mark.usefixtures("attributes")
def test_a_lot_result_takes_the_attributes_unit_and_its_rules(client: TestClient,
                                                              app: Any) -> None:
    url, page_url, page = _as_admin(client, app, "LOT-005", "results")
    select_ = _form(page, "lot-result").split('name="attribute_code"')[1].split("</select>")[0]
    assert "viability — Viability (%; specification 70–100 %)" in select_
    assert "sterility — Sterility (-; specification negative)" in select_
    results = _count(app, reg.LotResult)
    r = _post(client, url, page_url, {"attribute_code": "viability", "value": "high",
                                      "measured_on": "2026-12-01"})
    assert r.status_code == 422
    shown = _errors(r.text, "lot-result")
    expected = _expected(app, "lot_results", {"lot_code": "LOT-005",
                                              "attribute_code": "viability", "value": "high",
                                              "value_text": None, "unit": "%",
                                              "measured_on": "2026-12-01"})
    assert {k: "; ".join(v) for k, v in expected.items()} == shown
    assert shown["value"].startswith("not a number") and shown["measured_on"] == "is in the future"
    assert _value(r.text, "lot-result", "value") == "high"
    assert "in %; specification 70–100 %" in r.text  # the chosen attribute's unit and limits
    r = _post(client, url, page_url, {"attribute_code": "potency", "value": "1"})
    assert r.status_code == 422  # not an attribute of the product: said once, no unit problem
    assert _errors(r.text, "lot-result") == {
        "attribute_code": "not a quality attribute of the lot's product"}
    r = _post(client, url, page_url, {"attribute_code": "sterility", "value": "1"})
    assert r.status_code == 422 and "value_text" in _errors(r.text, "lot-result")
    r = client.post(url, data={"attribute_code": "sterility", "value": "1",
                               "csrf_token": _token(client.get(page_url).text)},
                    headers={"Accept-Language": "ja"})
    assert _errors(r.text, "lot-result")["value_text"] == (
        "この品質特性は定性規格です。判定結果を入力してください")
    assert _count(app, reg.LotResult) == results
    r = _post(client, url, page_url, {"attribute_code": "viability", "value": "91.5",
                                      "measured_on": "2025-12-11"})
    assert r.status_code == 303
    with _session(app) as s:
        got = s.execute(select(reg.LotResult.value, reg.LotResult.unit).where(
            reg.LotResult.lot_id == _lot_id(app, "LOT-005"))).one()
    assert tuple(got) == (91.5, "%")
    event = _audit(app, "lot_results")[-1]
    assert (event.action, event.actor, event.record_key) == ("insert", "admin",
                                                             "LOT-005:viability")
    # the saved result in its form: unchanged needs no reason, a change does
    page = client.get(f"{page_url}?result=viability").text
    assert _value(page, "lot-result", "value") == "91.5" and 'name="reason"' in _form(
        page, "lot-result")
    events = len(_audit(app, "lot_results"))
    same = {"attribute_code": "viability", "value": "91.5", "measured_on": "2025-12-11"}
    assert _post(client, url, page_url, same).status_code == 303
    assert len(_audit(app, "lot_results")) == events
    r = _post(client, url, page_url, {**same, "value": "65"})
    assert r.status_code == 422 and _errors(r.text, "lot-result") == {"reason": REASON_NEEDED}
    r = _post(client, url, page_url, {**same, "value": "6 5", "reason": "typo"})
    assert r.status_code == 422 and set(_errors(r.text, "lot-result")) == {"value"}
    assert _value(r.text, "lot-result", "reason") == "typo"  # the reason field stays
    r = _post(client, url, page_url, {**same, "value": "65", "reason": "transcription error"})
    assert r.status_code == 303
    assert _audit(app, "lot_results")[-1].reason == "transcription error"
    assert "out of specification" in client.get(page_url).text  # 65 % < 70 %


def test_a_shipment_form_saves_and_refuses_with_the_importers_texts(client: TestClient,
                                                                   app: Any) -> None:
    url, page_url, page = _as_admin(client, app, "LOT-004", "shipments")
    form = _form(page, "shipment")
    assert '<option value="S01">' in form and '<option value="S02">' in form
    assert "Temperature at receipt (°C)" in form and "Viability at receipt (%)" in form
    assert 'type="date"' in form
    bad = {"shipment_code": "SH-900", "site_code": "S02", "shipped_on": "2026-01-10",
           "received_on": "2026-01-08", "receipt_temperature_c": "99",
           "time_out_of_storage_min": "-5", "viability_at_receipt_pct": "abc"}
    shipments = _count(app, reg.Shipment)
    r = _post(client, url, page_url, bad)
    assert r.status_code == 422
    shown = _errors(r.text, "shipment")
    expected = _expected(app, "shipments", {**bad, "lot_code": "LOT-004",
                                            "deviation_reference": None})
    assert {"received_on", "receipt_temperature_c", "time_out_of_storage_min",
            "viability_at_receipt_pct"} <= set(shown)
    for field in shown:
        assert shown[field] == "; ".join(expected[field]), field
    assert _value(r.text, "shipment", "viability_at_receipt_pct") == "abc"
    assert _count(app, reg.Shipment) == shipments
    good = {**bad, "received_on": "2026-01-11", "receipt_temperature_c": "4",
            "time_out_of_storage_min": "20", "viability_at_receipt_pct": "88"}
    r = _post(client, url, page_url, good)
    assert r.status_code == 303, r.text
    event = _audit(app, "shipments")[-1]
    assert (event.action, event.record_key) == ("insert", "SH-900")
    page = client.get(f"{page_url}?shipment=SH-900").text
    assert _value(page, "shipment", "receipt_temperature_c") == "4"
    r = _post(client, url, page_url, {**good, "receipt_temperature_c": "5"})
    assert r.status_code == 422 and _errors(r.text, "shipment") == {"reason": REASON_NEEDED}
    r = _post(client, url, page_url, {**good, "receipt_temperature_c": "5",
                                      "reason": "logger read again"})
    assert r.status_code == 303 and _audit(app, "shipments")[-1].reason == "logger read again"
