"""Blinded adjudication through HTTP, and agreement statistics checked against R.

Reference: tests/reference/web/kappa.R (base R, textbook formulas of Cohen 1960 and Fleiss
1971) on kappa_input.csv → kappa.json. Tolerance 1e-12 (the same closed-form arithmetic).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import regmed.registry as reg
from regmed.web import cohen_kappa, fleiss_kappa

from .conftest import login

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


def _assessment(client: TestClient, headers: dict[str, str], pid: int, endpoint: str) -> int:
    r = client.post(f"/api/patients/{pid}/assessments", headers=headers, json={
        "endpoint": endpoint, "visit": "day49", "assessed_on": "2026-02-18", "value_text": "x",
        "assessor": "Dr. Treating", "assessor_role": "treating_physician", "blinded": False})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _my_assignment(client: TestClient, endpoint: str, n: int) -> list[int]:
    items = [a for a in client.get("/api/adjudications").json() if a["endpoint"] == endpoint]
    assert len(items) == n
    return [a["assignment_id"] for a in items]


def test_agreement_through_http_matches_r(client: TestClient) -> None:
    rows, ref = _ref()
    h = login(client, "inv1")
    pid = client.get("/api/patients").json()[0]["id"]
    k3 = [_assessment(client, h, pid, "k3") for _ in rows]
    k2 = [_assessment(client, h, pid, "k2") for _ in rows]
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
                r = client.post(f"/api/adjudications/{g}/verdict", headers=h,
                                json={"value_text": row[col]})
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
    assert d == {"awaiting_verdict": 4, "awaiting_consensus": n_disagree}


def test_blinded_review_disagreement_and_consensus(client: TestClient) -> None:
    h1 = login(client, "adj1")
    [g1] = _my_assignment(client, "ais_grade", 1)
    view = client.get(f"/api/adjudications/{g1}").json()
    assert set(view) == {"assignment_id", "endpoint", "visit", "value", "value_text",
                         "my_verdict", "reviews_done", "reviews_needed", "needs_consensus",
                         "consensus", "other_verdicts"}
    r = client.post(f"/api/adjudications/{g1}/verdict", headers=h1, json={"value_text": "C"})
    assert r.json()["reviews_done"] == 1 and r.json()["other_verdicts"] == []
    # one verdict per reviewer; no empty verdicts
    assert client.post(f"/api/adjudications/{g1}/verdict", headers=h1,
                       json={"value_text": "B"}).status_code == 422
    h2 = login(client, "adj2")
    g2 = [a for a in client.get("/api/adjudications").json() if a["my_verdict"] is None
          and a["reviews_done"] == 1][0]["assignment_id"]
    assert client.post(f"/api/adjudications/{g2}/verdict", headers=h2,
                       json={}).status_code == 422
    v = client.post(f"/api/adjudications/{g2}/verdict", headers=h2,
                    json={"value_text": "D"}).json()
    assert v["needs_consensus"] and v["other_verdicts"] == ["C"]
    login(client, "stat")
    assert client.get("/api/dashboard").json()["adjudications"]["awaiting_consensus"] == 1
    h2 = login(client, "adj2")
    v = client.post(f"/api/adjudications/{g2}/consensus", headers=h2,
                    json={"value_text": "C"}).json()
    assert v["consensus"] == "C" and not v["needs_consensus"]
    assert client.post(f"/api/adjudications/{g2}/consensus", headers=h2,
                       json={"value_text": "C"}).status_code == 422
    login(client, "stat")
    assert client.get("/api/dashboard").json()["adjudications"]["awaiting_consensus"] == 0
    with reg.session_scope(client.app.state.engine) as s:  # type: ignore[attr-defined]
        rows = s.query(reg.Adjudication).order_by(reg.Adjudication.id).all()
        assert [(r.reviewer, r.value_text, bool(r.consensus)) for r in rows][-3:] == [
            ("adj1", "C", False), ("adj2", "D", False), ("consensus", "C", True)]
        assert reg.verify_audit(s).ok


def test_assignment_needs_two_adjudicators(client: TestClient) -> None:
    h = login(client, "inv1")
    pid = client.get("/api/patients").json()[0]["id"]
    a = _assessment(client, h, pid, "lvef")
    h = login(client, "admin")
    r = client.post(f"/api/assessments/{a}/assignments", headers=h, json={"reviewers": ["adj1"]})
    assert r.status_code == 422 and "at least two" in r.text
    r = client.post(f"/api/assessments/{a}/assignments", headers=h,
                    json={"reviewers": ["adj1", "inv1"]})
    assert r.status_code == 422 and "not an active adjudicator" in r.text
