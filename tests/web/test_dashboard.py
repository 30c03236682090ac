"""The dashboard follows the locked plan: targets, achieved power, visit windows, periods."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

import regmed as rg
from regmed.registry.plans import lock_plan

from .conftest import Clock, lockable_example_text, login

ENROLL = {"patient_ref": "N-1", "sex": "F", "birth_year": 1975, "indication_code": "SCI",
          "cohort": "treated", "direction": "prospective", "index_on": "2026-01-01",
          "enrolled_on": "2026-01-02"}


def _lock(app: Any) -> None:
    text = lockable_example_text()
    with Session(app.state.engine, join_transaction_mode="create_savepoint") as s:
        lock_plan(text, session=s, name="sci", signer="Dr Stat", reason="protocol v1")
        s.commit()


def _enroll(client: TestClient, user: str, **over: Any) -> None:
    h = login(client, user)
    r = client.post("/api/patients", headers=h, json={**ENROLL, **over})
    assert r.status_code == 201, r.text


def test_visit_windows_come_from_the_locked_plan(app: Any) -> None:
    with TestClient(app) as client:
        # index 2026-01-01: day49 closes 2026-03-05 with the default window (14 days) but
        # 2026-02-26 with the plan's (7 days); today is 2026-03-01
        _enroll(client, "inv1")
        login(client, "stat")
        d = client.get("/api/dashboard").json()
        assert d["plan"] is None
        assert [v["visit"] for v in d["visits_due"]] == ["day49"] and not d["visits_overdue"]
        _lock(app)
        d = client.get("/api/dashboard").json()
        assert d["visit_schedule"] == [{"name": "day49", "day": 49, "window": 7},
                                       {"name": "day180", "day": 180, "window": 30}]
        assert [(v["visit"], v["window_closes"], v["days_overdue"])
                for v in d["visits_overdue"]] == [("day49", "2026-02-26", 3)]
        assert d["visits_due"] == []
        # the assessment form accepts only the plan's visits
        h = login(client, "inv1")
        pid = [p["id"] for p in client.get("/api/patients").json()
               if p["index_on"] == "2026-01-01"][0]
        body = {"endpoint": "ais_grade", "visit": "day90", "assessed_on": "2026-02-20",
                "value_text": "B", "assessor": "Dr A", "assessor_role": "blinded_independent",
                "blinded": True}
        r = client.post(f"/api/patients/{pid}/assessments", headers=h, json=body)
        assert r.status_code == 422 and "one of day49, day180" in r.text


def test_targets_power_and_periods_follow_the_plan(app: Any, clock: Clock) -> None:
    with TestClient(app) as client:
        _lock(app)
        for i in range(2):
            _enroll(client, "inv1", patient_ref=f"T{i}")
        # a control enrolled in April: the app's today moves past it (no future dates)
        clock.now = dt.datetime(2026, 4, 10, tzinfo=dt.UTC).timestamp()
        _enroll(client, "inv2", patient_ref="C1", cohort="concurrent_control",
                index_on="2026-04-02", enrolled_on="2026-04-03")
        login(client, "stat")
        d = client.get("/api/dashboard").json()
        plan = d["plan"]
        assert plan["plan"]["name"] == "sci" and plan["plan"]["version"] == 1
        assert plan["targets"] == [
            {"cohort": "treated", "target": 69, "enrolled": 3, "percent": 4.3},
            {"cohort": "concurrent_control", "target": 138, "enrolled": 2, "percent": 1.4}]
        expected = rg.design.power_rates(p_treated=0.5, p_control=0.3, n_treated=3,
                                         n_control=2, alpha=0.025, sided=1, method="normal")
        assert plan["power"]["achieved_power"] == expected.power
        assert plan["power"]["planned_power"] == 0.8 and plan["power"]["shortfall"]
        periods = {p["cohort"]: p for p in d["periods"]}
        # every treated index date (2026-01-01) precedes the planned 2026-04-01 start
        assert (periods["treated"]["planned_start"], periods["treated"]["n"],
                periods["treated"]["outside_planned_period"]) == ("2026-04-01", 3, 3)
        control = periods["concurrent_control"]
        assert (control["first_index"], control["last_index"]) == ("2026-01-02", "2026-04-02")
        assert control["outside_planned_period"] == 1
        assert periods["historical_control"]["n"] == 0
        assert periods["historical_control"]["planned_end"] == "2025-12-31"
        page = client.get("/dashboard").text
        assert 'id="achieved-power"' in page and "protocol" not in page
        assert f"{100 * expected.power:.1f}" in page
