"""Blinded adjudication through HTTP, and agreement statistics checked against R.

Reference: tests/reference/web/kappa.R (base R, textbook formulas of Cohen 1960 and Fleiss
1971) on kappa_input.csv → kappa.json. Tolerance 1e-12 (the same closed-form arithmetic).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

import regmed.registry as reg
from regmed.registry.plans import lock_plan
from regmed.web import cohen_kappa, fleiss_kappa

from .conftest import KEY, PASSWORD, lockable_example_text, login

REF = Path(__file__).parents[1] / "reference" / "web"


def _ref() -> tuple[list[dict[str, str]], dict[str, float]]:
    with open(REF / "kappa_input.csv") as f:
        rows = list(csv.DictReader(f))
    return rows, json.loads((REF / "kappa.json").read_text())


def test_kappa_matches_r() -> None:
    rows, ref = _ref()
    r1, r2, r3 = ([r[k] for r in rows] for k in ("r1", "r2", "r3"))
    assert cohen_kappa(r1, r2) == pytest.approx(ref["cohen_kappa_r1_r2"], abs=1e-12)
    assert fleiss_kappa(list(zip(r1, r2, r3, strict=True))) == pytest.approx(
        ref["fleiss_kappa_r1_r2_r3"], abs=1e-12)
    assert fleiss_kappa(list(zip(r1, r2, strict=True))) == pytest.approx(
        ref["fleiss_kappa_r1_r2"], abs=1e-12)
    with pytest.raises(ValueError):
        fleiss_kappa([["A", "B"], ["A"]])


def _lock(app: Any, block: str) -> None:
    """Lock the example plan with an ``adjudication`` block (its visits: day49 ± 7, day180)."""
    text = lockable_example_text() + f"\nadjudication: {block}\n"
    with Session(app.state.engine, join_transaction_mode="create_savepoint") as s:
        lock_plan(text, session=s, name="sci", signer="Dr Stat", reason="protocol v1")
        s.commit()


def _assessment(client: TestClient, headers: dict[str, str], pid: int, endpoint: str,
                assessor: str = "Dr. Treating") -> int:
    r = client.post(f"/api/patients/{pid}/assessments", headers=headers, json={
        "endpoint": endpoint, "visit": "day49", "assessed_on": "2026-02-18", "value_text": "x",
        "assessor": assessor, "assessor_role": "treating_physician", "blinded": False})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _my_assignment(client: TestClient, endpoint: str, n: int) -> list[int]:
    items = [a for a in client.get("/api/adjudications").json() if a["endpoint"] == endpoint]
    assert len(items) == n
    return [a["assignment_id"] for a in items]


def _verdict(client: TestClient, h: dict[str, str], g: int, grade: str,
             reason: str = "source_clear", step: str = "verdict") -> Any:
    return client.post(f"/api/adjudications/{g}/{step}", headers=h,
                       json={"value_text": grade, "reason": reason})


def _seeded(client: TestClient, who: str) -> tuple[dict[str, str], int]:
    """``who``'s headers and assignment of the seeded S01 assessment (site value C)."""
    h = login(client, who)
    mine = [a for a in client.get("/api/adjudications").json() if a["endpoint"] == "ais_grade"]
    return h, int(mine[0]["assignment_id"])


def _s01_assessment(client: TestClient) -> int:
    login(client, "stat")
    pid = [p for p in client.get("/api/patients").json() if p["site_code"] == "S01"][0]
    return int(pid["assessments"][0]["id"])


def test_agreement_through_http_matches_r(app: Any) -> None:
    _lock(app, "{reviewers: 2, categories: {k3: [A, B, C], k2: [A, B, C]}}")
    client = TestClient(app, headers={"Accept-Language": "en"})
    rows, ref = _ref()
    h = login(client, "inv1")
    pid = client.get("/api/patients").json()[0]["id"]
    # one visit assessed once by each of many assessors (a visit is not entered twice)
    k3 = [_assessment(client, h, pid, "k3", f"Dr. {i}") for i in range(len(rows))]
    k2 = [_assessment(client, h, pid, "k2", f"Dr. {i}") for i in range(len(rows))]
    h = login(client, "stat")
    for a in k3:
        assert client.post(f"/api/assessments/{a}/assignments", headers=h,
                           json={"reviewers": ["adj1", "adj2", "adj3"]}).status_code == 201
    for a in k2:
        assert client.post(f"/api/assessments/{a}/assignments", headers=h,
                           json={"reviewers": ["adj1", "adj2"]}).status_code == 201
    for who, col in (("adj1", "r1"), ("adj2", "r2"), ("adj3", "r3")):
        h = login(client, who)
        for endpoint in ("k3", "k2") if who != "adj3" else ("k3",):
            for g, row in zip(_my_assignment(client, endpoint, len(rows)), rows, strict=True):
                r = _verdict(client, h, g, row[col])
                assert r.status_code == 200, r.text
    login(client, "stat")
    got = {a["endpoint"]: a for a in client.get("/api/agreement").json()}
    assert got["k3"]["raters"] == 3 and got["k3"]["n_assessments"] == len(rows)
    assert got["k3"]["cohen_kappa"] is None
    assert got["k3"]["fleiss_kappa"] == pytest.approx(ref["fleiss_kappa_r1_r2_r3"], abs=1e-12)
    assert got["k2"]["cohen_kappa"] == pytest.approx(ref["cohen_kappa_r1_r2"], abs=1e-12)
    assert got["k2"]["fleiss_kappa"] == pytest.approx(ref["fleiss_kappa_r1_r2"], abs=1e-12)
    assert "ais_grade" not in got or got["ais_grade"]["n_assessments"] == 0
    d = client.get("/api/dashboard").json()["adjudications"]
    # k3/k2 disagreements wait for consensus; the 2 seeded assessments wait for 4 verdicts
    n_disagree = sum(len({r["r1"], r["r2"], r["r3"]}) > 1 for r in rows) + sum(
        r["r1"] != r["r2"] for r in rows)
    assert (d["awaiting_verdict"], d["awaiting_consensus"]) == (4, n_disagree)
    assert len(d["pending"]) == 2 + n_disagree and d["reopened"] == []


def test_blinded_view_shows_neither_the_site_value_nor_other_verdicts(
    client: TestClient,
) -> None:
    h1, g1 = _seeded(client, "adj1")
    view = client.get(f"/api/adjudications/{g1}").json()
    assert set(view) == {"assignment_id", "kind", "endpoint", "visit", "verdict_kind",
                         "verdict_choices", "reasons", "state", "reopened", "my_verdict",
                         "my_reason", "reviews_done", "reviews_needed", "needs_consensus",
                         "consensus", "final", "other_verdicts"}
    assert view["verdict_choices"] == ["A", "B", "C", "D", "E"]
    assert "value" not in view and "value_text" not in view  # the site reported "C"
    assert "reported" not in client.get("/adjudication").text
    assert _verdict(client, h1, g1, "B").json()["other_verdicts"] == []
    h2, g2 = _seeded(client, "adj2")
    view = client.get(f"/api/adjudications/{g2}").json()
    assert view["reviews_done"] == 1 and view["other_verdicts"] == [] and view["final"] is None
    # verdicts and reasons come from the coded lists; no empty verdict
    for body in ({"value_text": "B+", "reason": "source_clear"}, {"value_text": "B"},
                 {"value_text": "B", "reason": "majority"}, {"reason": "source_clear"},
                 {"value": 3.0, "reason": "source_clear"}):
        r = client.post(f"/api/adjudications/{g2}/verdict", headers=h2, json=body)
        assert r.status_code == 422, body
    assert client.post(f"/api/adjudications/{g2}/verdict", headers=h2,
                       json={"value_text": "B", "reason": "whatever"}).status_code == 422
    v = _verdict(client, h2, g2, "B", "source_borderline").json()
    assert (v["state"], v["final"], v["other_verdicts"]) == ("complete", "B", ["B"])


def test_one_adjudicator_cannot_complete_a_consensus(client: TestClient) -> None:
    h1, g1 = _seeded(client, "adj1")
    assert _verdict(client, h1, g1, "C").status_code == 200
    # one verdict per reviewer
    assert _verdict(client, h1, g1, "B").status_code == 422
    h2, g2 = _seeded(client, "adj2")
    v = _verdict(client, h2, g2, "D").json()
    assert v["needs_consensus"] and v["other_verdicts"] == ["C"]
    for who, h, g in (("adj1", h1, g1), ("adj2", h2, g2)):  # neither reviewer settles it
        h = login(client, who)
        r = _verdict(client, h, g, "C", "majority", step="consensus")
        assert r.status_code == 422 and "cannot settle" in r.text
    aid = _s01_assessment(client)
    h = login(client, "stat")
    url = f"/api/assessments/{aid}/assignments"
    r = client.post(url, headers=h, json={"reviewers": ["adj2"], "kind": "consensus"})
    assert r.status_code == 422 and "assigned to this event already" in r.text
    assert client.get("/api/dashboard").json()["adjudications"]["awaiting_consensus"] == 1
    assert client.post(url, headers=h, json={"reviewers": ["adj3"],
                                             "kind": "consensus"}).status_code == 201
    r = client.post(url, headers=h, json={"reviewers": ["adj1"], "kind": "consensus"})
    assert r.status_code == 422
    h3 = login(client, "adj3")
    (g3,) = [a["assignment_id"] for a in client.get("/api/adjudications").json()
             if a["kind"] == "consensus"]
    view = client.get(f"/api/adjudications/{g3}").json()
    assert view["other_verdicts"] == ["C", "D"] and view["reasons"] == sorted(
        ["majority", "source_reviewed", "committee_discussion", "protocol_rule"])
    assert _verdict(client, h3, g3, "C", "source_clear", step="verdict").status_code == 422
    assert _verdict(client, h3, g3, "C", "source_clear", step="consensus").status_code == 422
    v = _verdict(client, h3, g3, "C", "majority", step="consensus").json()
    assert (v["consensus"], v["state"]) == ("C", "complete")
    assert _verdict(client, h3, g3, "D", "majority", step="consensus").status_code == 422
    login(client, "stat")
    assert client.get("/api/dashboard").json()["adjudications"]["awaiting_consensus"] == 0
    with reg.session_scope(client.app.state.engine) as s:  # type: ignore[attr-defined]
        rows = s.query(reg.Adjudication).order_by(reg.Adjudication.id).all()
        assert [(r.reviewer, r.value_text, bool(r.consensus), r.reason) for r in rows][-3:] == [
            ("adj1", "C", False, "source_clear"), ("adj2", "D", False, "source_clear"),
            ("adj3", "C", True, "majority")]
        assert reg.verify_audit(s).ok


def test_the_plans_chair_settles_when_the_plan_says_so(app: Any) -> None:
    _lock(app, "{reviewers: 2, consensus: chair, chair: adj4}")
    client = TestClient(app, headers={"Accept-Language": "en"})
    h = login(client, "admin")
    assert client.post("/api/users", headers=h, json={
        "username": "adj4", "role": "adjudicator", "password": PASSWORD}).status_code == 201
    for who, grade in (("adj1", "C"), ("adj2", "D")):
        h, g = _seeded(client, who)
        assert _verdict(client, h, g, grade).status_code == 200
    aid = _s01_assessment(client)
    h = login(client, "stat")
    url = f"/api/assessments/{aid}/assignments"
    r = client.post(url, headers=h, json={"reviewers": ["adj3"], "kind": "consensus"})
    assert r.status_code == 422 and "the chair ('adj4')" in r.text
    assert client.post(url, headers=h, json={"reviewers": ["adj4"],
                                             "kind": "consensus"}).status_code == 201


def test_a_changed_assessment_reopens_its_adjudication(client: TestClient) -> None:
    for who in ("adj1", "adj2"):
        h, g = _seeded(client, who)
        assert _verdict(client, h, g, "B").status_code == 200
    aid = _s01_assessment(client)
    assert client.get("/api/dashboard").json()["adjudications"]["pending"] == [
        {"assessment_id": aid + 1, "endpoint": "ais_grade", "visit": "day49", "state": "pending",
         "reopened": False, "reviews_done": 0, "reviews_needed": 2}]
    h = login(client, "inv1")
    r = client.patch(f"/api/assessments/{aid}", headers=h,
                     json={"changes": {"value_text": "D"}, "reason": "re-examined"})
    assert r.status_code == 200, r.text
    login(client, "stat")
    d = client.get("/api/dashboard").json()["adjudications"]
    assert [(e["assessment_id"], e["state"], e["reviews_done"]) for e in d["reopened"]] == [
        (aid, "pending", 0)]
    assert 'id="reopened-adjudications"' in client.get("/dashboard").text
    login(client, "admin")
    events = client.get("/api/audit", params={"table": "adjudication_assignments",
                                              "limit": 1000}).json()
    assert [e["reason"] for e in events if e["action"] == "update"] == [
        "reopened for re-review: the assessment changed (re-examined)"] * 2
    assert _reopened_verdicts(client) == [("S01-P1-d49:adj1", REOPENED),
                                          ("S01-P1-d49:adj2", REOPENED)]
    h1, g1 = _seeded(client, "adj1")
    view = client.get(f"/api/adjudications/{g1}").json()
    assert (view["state"], view["reopened"], view["my_verdict"]) == ("pending", True, None)
    assert _verdict(client, h1, g1, "B", "re_review").json()["reviews_done"] == 1
    h2, g2 = _seeded(client, "adj2")
    v = _verdict(client, h2, g2, "B").json()  # the same verdict again is a new review
    assert (v["state"], v["final"], v["reopened"]) == ("complete", "B", False)
    login(client, "stat")
    assert client.get("/api/dashboard").json()["adjudications"]["reopened"] == []
    with reg.session_scope(client.app.state.engine) as s:  # type: ignore[attr-defined]
        assert reg.verify_audit(s).ok


REOPENED = "reopened for re-review: the assessment changed (re-examined)"


def _reopened_verdicts(client: TestClient) -> list[tuple[str, str]]:
    events = client.get("/api/audit", params={"table": "adjudications", "limit": 1000}).json()
    return [(e["record_key"], e["reason"]) for e in events if e["action"] == "reopen"]


def test_an_assessment_changed_by_import_reopens_as_through_the_web(
    client: TestClient,
) -> None:
    """``regmed import`` changing an adjudicated assessment: the dashboard shows the event
    reopened and the audit trail has the same reopening events as a change through the web."""
    for who in ("adj1", "adj2"):
        h, g = _seeded(client, who)
        assert _verdict(client, h, g, "B").status_code == 200
    aid = _s01_assessment(client)
    row = {"assessment_ref": "S01-P1-d49", "site_code": "S01", "patient_ref": "P1",
           "endpoint": "ais_grade", "visit": "day49", "assessed_on": "2026-02-19",
           "value_text": "D", "assessor": "Dr. Treating",
           "assessor_role": "treating_physician", "blinded": False}
    with reg.session_scope(client.app.state.engine) as s:  # type: ignore[attr-defined]
        reg.import_tables(s, {"assessments": pd.DataFrame([row])}, actor="site-import",
                          reason="re-examined", key=KEY)
    login(client, "stat")
    d = client.get("/api/dashboard").json()["adjudications"]
    assert [(e["assessment_id"], e["state"]) for e in d["reopened"]] == [(aid, "pending")]
    login(client, "admin")
    assert _reopened_verdicts(client) == [("S01-P1-d49:adj1", REOPENED),
                                          ("S01-P1-d49:adj2", REOPENED)]
    events = client.get("/api/audit", params={"table": "adjudication_assignments",
                                              "limit": 1000}).json()
    assert [(e["record_key"], e["actor"], e["reason"]) for e in events
            if e["action"] == "update"] == [("S01-P1-d49:adj1", "site-import", REOPENED),
                                            ("S01-P1-d49:adj2", "site-import", REOPENED)]
    h1, g1 = _seeded(client, "adj1")
    assert client.get(f"/api/adjudications/{g1}").json()["reopened"] is True
    with reg.session_scope(client.app.state.engine) as s:  # type: ignore[attr-defined]
        assert reg.verify_audit(s).ok


def test_assignment_needs_the_plans_number_of_adjudicators(client: TestClient) -> None:
    h = login(client, "inv1")
    pid = client.get("/api/patients").json()[0]["id"]
    a = _assessment(client, h, pid, "lvef")
    h = login(client, "admin")
    r = client.post(f"/api/assessments/{a}/assignments", headers=h, json={"reviewers": ["adj1"]})
    assert r.status_code == 422 and "at least 2 independent adjudicators" in r.text
    r = client.post(f"/api/assessments/{a}/assignments", headers=h,
                    json={"reviewers": ["adj1", "inv1"]})
    assert r.status_code == 422 and "not an active adjudicator" in r.text


def _analysed(client: TestClient, plan_reviewers: int) -> dict[str, str]:
    """The final verdicts the analysis reads (what ``extract`` hands to the derivation)."""
    from regmed.registry.adjudicated import final_verdicts
    from regmed.registry.extract import _mark_stale
    from regmed.registry.io import export_frames

    with reg.session_scope(client.app.state.engine) as s:  # type: ignore[attr-defined]
        frame = _mark_stale(s, export_frames(s)["adjudications"])
    out = final_verdicts(frame, plan_reviewers)
    return dict(zip(out["assessment_ref"], out["value_text"], strict=True))


def test_the_plans_number_of_reviewers_and_only_complete_events_reach_the_analysis(
    app: Any,
) -> None:
    """A plan asking for 3 reviewers: two agreeing verdicts leave the event pending (the
    analysis keeps the site's value), the third completes it; the third reviewer sees nothing
    of the others until their own verdict is in."""
    _lock(app, "{reviewers: 3}")
    client = TestClient(app, headers={"Accept-Language": "en"})
    aid = _s01_assessment(client)
    h = login(client, "stat")
    pending = client.get("/api/dashboard").json()["adjudications"]["pending"]
    assert {(e["assessment_id"], e["reviews_needed"]) for e in pending} == {
        (aid, 3), (aid + 1, 3)}
    r = client.post(f"/api/assessments/{aid}/assignments", headers=h,
                    json={"reviewers": ["adj3"]})
    assert r.status_code == 201, r.text
    for who in ("adj1", "adj2"):
        hh, g = _seeded(client, who)
        v = _verdict(client, hh, g, "B").json()
    assert (v["state"], v["final"], v["other_verdicts"]) == ("pending", None, [])
    assert _analysed(client, 3) == {}
    h3 = login(client, "adj3")
    (g3,) = [a["assignment_id"] for a in client.get("/api/adjudications").json()
             if a["endpoint"] == "ais_grade" and a["reviews_needed"] == 3
             and a["reviews_done"] == 2]
    view = client.get(f"/api/adjudications/{g3}").json()
    assert (view["other_verdicts"], view["final"], view["consensus"]) == ([], None, None)
    page = client.get("/adjudication").text
    assert "final" not in page and "B, B" not in page and "Dr. Treating" not in page
    v = _verdict(client, h3, g3, "B").json()
    assert (v["state"], v["final"], v["other_verdicts"]) == ("complete", "B", ["B", "B"])
    assert "final B" in client.get("/adjudication").text
    assert _analysed(client, 3) == {"S01-P1-d49": "B"}
    assert _analysed(client, 4) == {}  # the same verdicts under a plan asking for 4


def test_a_verdict_is_dated_by_the_app_clock(app: Any, client: TestClient) -> None:
    """The web's today is its clock (2026-03-01 in the tests), not the machine's date."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    import regmed.registry as reg

    h1, g1 = _seeded(client, "adj1")
    assert _verdict(client, h1, g1, "B").status_code == 200
    with Session(app.state.engine) as s:
        dates = set(s.execute(select(reg.Adjudication.adjudicated_on)).scalars())
    assert dates == {dt.date(2026, 3, 1)}
