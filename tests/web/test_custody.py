"""Chain of identity and custody through the web: the JSON API and the HTML form refuse another
patient's autologous lot and a lot not received at the site, and offer only the site's lots.

Seed (``conftest.seed``): P1 at S01 (donor D-P1), Q1 at S02 (donor D-Q1); LOT-001/002 are P1's
and at S01, LOT-005 is another donor's lot at S01, LOT-004 is Q1's at S02, LOT-007 is P1's but
was sent to S02.
"""

from __future__ import annotations

import html

import pandas as pd
from fastapi.testclient import TestClient

import regmed.registry as reg

from .conftest import login, patient_id
from .test_page_forms import _post

GIVEN = {"administered_on": "2026-01-21", "dose": 1.0, "dose_unit": "1e8 cells",
         "route": "intravenous"}
#: What S01 must not learn: other sites' lot codes and release dates.
ELSEWHERE = ("LOT-004", "LOT-007", "2025-12-14", "2025-12-15")


def _ids(client: TestClient) -> tuple[int, int]:
    h = login(client, "stat")
    return patient_id(client, "S01", h), patient_id(client, "S02", h)


def _given(client: TestClient, pid: int) -> list[str]:
    login(client, "stat")
    return [a["lot_code"] for a in client.get(f"/api/patients/{pid}").json()["administrations"]]


def _api_problem(client: TestClient, who: str, pid: int, body: dict[str, object]) -> str:
    """The one problem the API answers (422, field ``lot_code``) to an administration."""
    h = login(client, who)
    r = client.post(f"/api/patients/{pid}/administrations", headers=h, json=body)
    assert r.status_code == 422
    (problem,) = r.json()["problems"]
    assert problem["field"] == "lot_code"
    return str(problem["message"])


def test_api_refuses_another_patients_autologous_lot(client: TestClient) -> None:
    p1, _ = _ids(client)
    message = _api_problem(client, "inv1", p1, {**GIVEN, "lot_code": "LOT-005"})
    assert "comes from another donor than the patient (chain of identity)" in message
    assert _given(client, p1) == ["LOT-001"]


def test_form_refuses_another_patients_autologous_lot(client: TestClient) -> None:
    p1, _ = _ids(client)
    login(client, "inv1")
    page = f"/patients/{p1}"
    status, text = _post(client, f"{page}/administrations", page,
                         **{**GIVEN, "dose": "1.0", "lot_code": "LOT-005"})
    assert status == 422
    assert "comes from another donor than the patient" in html.unescape(text)
    assert _given(client, p1) == ["LOT-001"]


def test_a_lot_not_received_at_the_site_is_refused_like_an_unknown_one(
    client: TestClient,
) -> None:
    p1, _ = _ids(client)
    h = login(client, "inv1")
    answers = set()
    for code in ("LOT-007", "LOT-004", "NO-SUCH-LOT"):  # P1's lot sent to S02, Q1's, none
        r = client.post(f"/api/patients/{p1}/administrations", headers=h,
                        json={**GIVEN, "lot_code": code})
        assert r.status_code == 422
        answers.add(r.text)
        page = f"/patients/{p1}"
        status, text = _post(client, f"{page}/administrations", page,
                             **{**GIVEN, "dose": "1.0", "lot_code": code})
        assert status == 422 and "not a lot shipped to this site" in text
    (answer,) = answers  # the same words: nothing tells another site's lot from none
    assert "not a lot shipped to this site" in answer
    assert _given(client, p1) == ["LOT-001"]


def test_lot_lists_offer_only_the_patients_own_lots_at_the_site(client: TestClient) -> None:
    p1, q1 = _ids(client)
    login(client, "inv1")
    lots = client.get(f"/api/patients/{p1}/lots").json()
    assert [x["lot_code"] for x in lots] == ["LOT-001", "LOT-002"]  # not LOT-003/005/007
    page = client.get(f"/patients/{p1}").text
    form = page.split('id="administer"')[1].split("</form>")[0]
    assert "LOT-001" in form and "LOT-005" not in form
    for leak in ELSEWHERE:
        assert leak not in page and leak not in str(lots), leak
    assert client.get(f"/api/patients/{q1}/lots").status_code == 404
    login(client, "inv2")  # Q1 is a concurrent control: S02's lots are offered to nobody
    assert client.get(f"/api/patients/{q1}/lots").json() == []
    for code in ("LOT-001", "LOT-002", "LOT-005", "LOT-007"):
        assert code not in client.get(f"/patients/{q1}").text


def test_a_control_patient_is_given_no_lot(client: TestClient) -> None:
    """Q1 (S02, concurrent control) and their own lot LOT-004, shipped to and received at S02:
    refused through the API and the form, as the importer refuses it."""
    _, q1 = _ids(client)
    message = _api_problem(client, "inv2", q1, {**GIVEN, "lot_code": "LOT-004"})
    assert "cannot be given to a patient enrolled in the concurrent_control cohort" in message
    page = f"/patients/{q1}"
    status, text = _post(client, f"{page}/administrations", page,
                         **{**GIVEN, "dose": "1.0", "lot_code": "LOT-004"})
    assert status == 422 and "concurrent_control cohort" in text
    assert _given(client, q1) == []


def _import(client: TestClient, table: str, row: dict[str, object]) -> None:
    with reg.session_scope(client.app.state.engine) as s:  # type: ignore[attr-defined]
        reg.import_tables(s, {table: pd.DataFrame([row])}, actor="qa", reason="receipt data")


SHIPMENT = {"shipment_code": "SH-LOT-002", "lot_code": "LOT-002", "site_code": "S01",
            "shipped_on": "2026-01-20", "received_on": "2026-01-20"}


def test_receipt_outside_the_products_limits_needs_a_documented_deviation(
    client: TestClient,
) -> None:
    """Temperature and time out of storage against the product's limits, through the API,
    the form and the lot list; a documented deviation lets the lot be given."""
    p1, _ = _ids(client)
    _import(client, "products", {"product_code": "PROD-X", "name": "Stemcell",
                                 "type": "autologous", "approval_kind": "conditional",
                                 "receipt_min_temp_c": 2, "receipt_max_temp_c": 8,
                                 "max_time_out_of_storage_min": 60})
    oos = {**GIVEN, "lot_code": "LOT-002", "oos_request_documented": True}
    url, page = f"/api/patients/{p1}/administrations", f"/patients/{p1}"
    for receipt, words in (
        ({"receipt_temperature_c": 11.5, "time_out_of_storage_min": 30},
         "received at 11.5 °C, outside the product's limits (2–8 °C)"),
        ({"receipt_temperature_c": 4.0, "time_out_of_storage_min": 90},
         "90 min out of storage, above the product's limit (60 min)"),
        ({"receipt_temperature_c": 4.0}, "the time out of storage is not recorded"),
    ):
        _import(client, "shipments", {**SHIPMENT, "time_out_of_storage_min": None, **receipt})
        assert words in _api_problem(client, "inv1", p1, oos)
        status, text = _post(client, f"{page}/administrations", page, **{
            **GIVEN, "dose": "1.0", "lot_code": "LOT-002", "oos_request_documented": "true"})
        assert status == 422 and words in html.unescape(text)
        # LOT-001's receipt has no temperature recorded either
        assert client.get(f"/api/patients/{p1}/lots").json() == []
    _import(client, "shipments", {**SHIPMENT, "receipt_temperature_c": 11.5,
                                  "deviation_reference": "DEV-2026-004"})
    h = login(client, "inv1")
    assert [x["lot_code"] for x in client.get(f"/api/patients/{p1}/lots").json()] == [
        "LOT-002"]
    assert client.post(url, headers=h, json=oos).status_code == 201
    assert _given(client, p1) == ["LOT-001", "LOT-002"]


def test_master_data_changes_that_break_a_given_lot_are_refused(client: TestClient) -> None:
    """P1 was given LOT-001 (received at S01 on 2025-12-11) on 2026-01-06: an administrator's
    change that moves its shipment, or withdraws its release, is refused through the API."""
    h = login(client, "admin")
    ship = {"shipment_code": "SH-LOT-001", "lot_code": "LOT-001", "site_code": "S01",
            "shipped_on": "2025-12-11", "received_on": "2025-12-11"}
    for table, row, words in (
            ("shipments", {**ship, "site_code": "S02"}, "was not shipped to the patient's site"),
            ("shipments", {**ship, "received_on": "2026-01-07"}, "after it was given"),
            ("lots", {"lot_code": "LOT-001", "product_code": "PROD-X", "donor_code": "D-P1",
                      "process_version": "v1", "manufactured_on": "2025-12-01",
                      "released_on": "2025-12-10", "status": "rejected"}, "is not released")):
        r = client.post(f"/api/tables/{table}", headers=h, params={"reason": "correction"},
                        json=[row])
        assert r.status_code == 422, r.text
        assert len(r.json()["problems"]) == 1, r.text
        (problem,) = r.json()["problems"]
        assert problem["message"].startswith(
            "breaks the stored administration of lot 'LOT-001' (given 2026-01-06)")
        assert words in problem["message"] and problem["row"] == 1
    r = client.post("/api/tables/shipments", headers=h, params={"reason": "correction"},
                    json=[ship])
    assert r.status_code == 201 and r.json()["updated"] == 0
