"""Endpoint derivation from registry tables: visit windows, AIS rule, deaths, attrition."""

from __future__ import annotations

import pandas as pd
import pytest

from regmed.errors import DataError
from regmed.registry.derive import build_study_data

PLAN = {
    "endpoints": [
        {
            "id": "ais_improvement",
            "role": "primary",
            "kind": "binary",
            "assessor": "blinded_central",
            "measurement": {
                "variable": "ais_grade",
                "baseline_visit": {"name": "day49", "day": 49, "window": 7},
                "outcome_visit": {"name": "day180", "day": 180, "window": 30},
                "derivation": "ais_improvement",
            },
        }
    ]
}


def _tables() -> dict[str, pd.DataFrame]:
    # p1: A -> C (gain 2, improved); p2: A -> B (gain 1, not improved for A); p3: B -> C (improved)
    # p4: C -> C outcome only by the treating physician (blinded one missing) -> missing
    # p5: B, outcome at day 260 (out of window); p6: died on day 100 -> failure
    # p7: baseline D -> ineligible
    patients = pd.DataFrame({
        "site_code": ["S1"] * 7,
        "patient_ref": [f"p{i}" for i in range(1, 8)],
        "sex": ["M", "F", "M", "F", "M", "M", "F"],
        "birth_year": [1970, 1980, 1990, 1960, 1975, 1950, 1985],
    })
    enr = patients[["site_code", "patient_ref"]].assign(
        indication_code="SCI", cohort=["treated"] * 3 + ["concurrent_control"] * 4,
        direction="prospective", source=None, index_on="2027-01-01", enrolled_on="2027-01-20",
    )
    rows = []

    def add(ref: str, visit: str, day: int, grade: str, role: str = "blinded_central") -> None:
        on = (pd.Timestamp("2027-01-01") + pd.Timedelta(days=day)).date().isoformat()
        rows.append({
            "assessment_ref": f"{ref}-{visit}-{role}", "site_code": "S1", "patient_ref": ref,
            "endpoint": "ais_grade", "visit": visit, "assessed_on": on, "value": None,
            "value_text": grade, "assessor": "x", "assessor_role": role,
            "blinded": role != "treating_physician",
        })

    add("p1", "day49", 50, "A")
    add("p1", "day180", 181, "C")
    add("p2", "day49", 45, "A")
    add("p2", "day180", 170, "B")
    add("p3", "day49", 49, "B")
    add("p3", "day180", 200, "C")
    add("p4", "day49", 49, "C")
    add("p4", "day180", 180, "D", role="treating_physician")
    add("p5", "day49", 55, "B")
    add("p5", "day180", 260, "C")
    add("p6", "day49", 49, "A")
    add("p7", "day49", 49, "D")
    add("p7", "day180", 180, "E")
    follow = patients[["site_code", "patient_ref"]].assign(
        last_contact_on="2027-09-01", status="alive", death_on=None, death_cause=None
    )
    follow.loc[5, ["status", "death_on"]] = ["dead", "2027-04-11"]
    return {"patients": patients, "enrollments": enr, "assessments": pd.DataFrame(rows),
            "follow_ups": follow}


def test_ais_rule_windows_roles_and_death() -> None:
    data = build_study_data(_tables(), PLAN)
    p = data.patients
    y = p["ais_improvement"]
    assert y["S1:p1"] == 1.0 and y["S1:p2"] == 0.0 and y["S1:p3"] == 1.0
    assert pd.isna(y["S1:p4"]) and p.loc["S1:p4", "ais_improvement_status"] == "missing"
    assert pd.isna(y["S1:p5"]) and p.loc["S1:p5", "ais_improvement_status"] == "out_of_window"
    assert y["S1:p6"] == 0.0 and p.loc["S1:p6", "ais_improvement_status"] == "died"
    assert pd.isna(y["S1:p7"]) and p.loc["S1:p7", "ais_improvement_status"] == "ineligible"
    assert p.loc["S1:p1", "age"] == 57.0


def test_every_exclusion_is_an_attrition_row() -> None:
    data = build_study_data(_tables(), PLAN)
    a = data.attrition
    ctrl = a[(a["cohort"] == "concurrent_control") & a["step"].str.startswith("endpoint")]
    assert set(ctrl["reason"].str.split().str[0]) == {"baseline", "outcome"}
    assert int(ctrl["n_excluded"].sum()) == 3  # p4 missing, p5 out of window, p7 ineligible
    # the died patient is kept as a failure, not dropped
    assert int(a[a["cohort"] == "concurrent_control"]["n_excluded"].sum()) == 3


def test_treating_physician_counts_when_plan_allows() -> None:
    plan = {"endpoints": [dict(PLAN["endpoints"][0])]}
    plan["endpoints"][0]["measurement"] = dict(
        plan["endpoints"][0]["measurement"],
        assessor_roles=["blinded_central", "treating_physician"],
    )
    data = build_study_data(_tables(), plan)
    assert data.patients.loc["S1:p4", "ais_improvement"] == 1.0


def test_missing_tables_are_a_clear_error() -> None:
    with pytest.raises(DataError, match="no study data"):
        build_study_data({"patients": pd.DataFrame()}, PLAN)


def test_derivation_recovers_the_demo_generators_planted_responses() -> None:
    """On generated registry tables, the derived endpoint equals the planted response for
    every patient observed in both windows; the others carry a reason, never a silent drop."""
    from regmed import demo
    from regmed.plan import load_plan

    data = demo.generate("sci", seed=4, n_treated=80, n_concurrent=80, n_historical=80)
    study = build_study_data(data.tables, load_plan(data.plan_yaml))
    truth = data.truth["patients"].copy()
    truth.index = truth["site_code"] + ":" + truth["patient_ref"]
    p = study.patients.loc[truth.index]
    seen = truth["day49_in_window"] & truth["day180_in_window"] & truth["day180_observed"]
    seen &= ~truth["died"] & p["ais_improvement_status"].eq("observed")
    assert seen.sum() > 150
    assert (p.loc[seen, "ais_improvement"] == truth.loc[seen, "response"].astype(float)).all()
    assert set(p["ais_improvement_status"]) <= {"observed", "died", "missing", "out_of_window",
                                               "no_baseline", "ineligible"}
    died = truth["died"] & ~p["ais_improvement_status"].eq("observed")
    assert (p.loc[died, "ais_improvement"].dropna() == 0).all()
    # treated patients carry their lot's quality attributes
    treated = p[p["cohort"] == "treated"]
    assert treated["q_potency_vegf"].notna().all() and treated["lot_code"].notna().all()
