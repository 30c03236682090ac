"""The web forms' API refuses what issue 17 found accepted: an AIS grade Z, dates in the
future, a visit entered twice, a grade 5 adverse event that "recovered" — with the importer's
words (the rules live in the registry: regmed.registry.rules)."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from .conftest import login
from .test_forms import ENROLL, _problems

TOMORROW = (dt.date.today() + dt.timedelta(days=1)).isoformat()
BASE = {"endpoint": "ais_grade", "visit": "day180", "assessed_on": "2026-06-30",
        "value_text": "D", "assessor": "Dr. B", "assessor_role": "blinded_independent",
        "blinded": True}


def test_web_refuses_grade_z_future_dates_and_non_fatal_grade_5(client: TestClient) -> None:
    h = login(client, "inv1")
    pid = client.get("/api/patients").json()[0]["id"]
    url = f"/api/patients/{pid}/assessments"
    r = client.post(url, headers=h, json={**BASE, "value_text": "Z"})
    assert r.status_code == 422
    assert _problems(r) == ["not a ais_grade (one of A, B, C, D, E): 'Z'"]
    r = client.post(url, headers=h, json={**BASE, "assessed_on": TOMORROW})
    assert r.status_code == 422 and any("in the future" in m for m in _problems(r))
    r = client.post(url, headers=h, json={**BASE, "value_text": "Ｄ"})  # full-width D
    assert r.status_code == 201, r.text
    assert client.post(url, headers=h, json=BASE).status_code == 422  # the visit again
    ae = {"ae_ref": "AE5", "term": "sepsis", "onset_on": "2026-03-01", "serious": True,
          "grade": 5, "outcome": "recovered"}
    r = client.post(f"/api/patients/{pid}/adverse-events", headers=h, json=ae)
    assert r.status_code == 422
    assert _problems(r) == ["grade 5 is death: the outcome must be fatal, not 'recovered'"]
    r = client.post(f"/api/patients/{pid}/adverse-events", headers=h,
                    json={**ae, "outcome": "fatal"})
    assert r.status_code == 201, r.text
    r = client.post("/api/patients", headers=h, json={**ENROLL, "enrolled_on": TOMORROW})
    assert r.status_code == 422 and any("in the future" in m for m in _problems(r))
