"""The demo plans: format, sample sizes against rpact, and agreement with the generated data."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from regmed.demo import DemoData, generate

REFERENCE = json.loads(
    (Path(__file__).resolve().parents[1] / "reference" / "demo" / "sample_size.json").read_text())
EXAMPLE_KEYS = {  # the top-level keys of the plan example in issue 5
    "product", "indication", "approval", "endpoints", "achievement_criteria", "sample_size",
    "sites", "randomization", "blinding", "controls", "treated_period",
    "use_results_survey_justification", "quality_efficacy_analyses", "management_plan",
}
COHORT_OF = {"concurrent": "concurrent_control", "historical": "historical_control",
             "external": "external_control"}


@pytest.fixture(scope="module", params=["sci", "heart_failure_shortfall"])
def demo(request: pytest.FixtureRequest) -> DemoData:
    return generate(request.param, seed=4)


def _plan(demo: DemoData) -> dict:
    return yaml.safe_load(demo.plan_yaml)


def test_plan_has_the_example_format_and_a_measurement_block(demo: DemoData) -> None:
    plan = _plan(demo)
    assert set(plan) == EXAMPLE_KEYS
    primary = [e for e in plan["endpoints"] if e["role"] == "primary"]
    (endpoint,) = primary
    assert endpoint["role"] == "primary" and endpoint["kind"] == "binary"
    for other in plan["endpoints"]:
        if other is not endpoint:
            assert other["role"] == "secondary" and other["measurement"]["derivation"] in {
                "time_to_death", "change", "value"}
    assert endpoint["objective"] is True and endpoint["assessor"] == "blinded_central"
    m = endpoint["measurement"]
    assert set(m) == {"variable", "baseline_visit", "outcome_visit", "derivation", "threshold",
                      "assessor_roles"}
    assert m["derivation"] in {"ais_improvement", "change", "change_at_least", "value"}
    for visit in ("baseline_visit", "outcome_visit"):
        assert set(m[visit]) == {"name", "day", "window"}
    (criterion,) = plan["achievement_criteria"]
    assert criterion["endpoint"] == endpoint["id"] and criterion["measure"] == "risk_difference"
    assert criterion["ci_lower_above"] == 0.0
    assert isinstance(plan["approval"]["date"], dt.date)


def test_measurement_names_what_the_assessments_hold(demo: DemoData) -> None:
    m = _plan(demo)["endpoints"][0]["measurement"]
    a = demo.tables["assessments"]
    a = a[a["endpoint"] == m["variable"]]
    assert len(a) > 0
    assert {m["baseline_visit"]["name"], m["outcome_visit"]["name"]} == set(a["visit"])
    assert set(m["assessor_roles"]) <= set(a["assessor_role"])
    enrol = demo.tables["enrollments"]
    a = a.merge(enrol, on=["site_code", "patient_ref"])
    offset = (np.asarray(a["assessed_on"], dtype="datetime64[D]")
              - np.asarray(a["index_on"], dtype="datetime64[D]")).astype(int)
    for visit in ("baseline_visit", "outcome_visit"):
        v = m[visit]
        inside = np.abs(offset[a["visit"] == v["name"]] - v["day"]) <= v["window"]
        assert inside.mean() > 0.9, visit


@pytest.mark.parametrize("scenario", ["sci", "heart_failure_shortfall"])
def test_stated_sample_size_is_rpacts(scenario: str) -> None:
    plan = yaml.safe_load(generate(scenario, seed=0, n_treated=3, n_historical=0).plan_yaml
                          if scenario == "sci" else
                          generate(scenario, seed=0, n_treated=3, n_control=3).plan_yaml)
    ref = REFERENCE[scenario]
    ss = plan["sample_size"]
    assert ss["method"] == "rates"
    for k in ("p_treated", "p_control", "alpha", "power", "allocation_ratio"):
        assert ss["assumptions"][k] == ref[k], k
    assert (ss["n_treated"], ss["n_control"]) == (ref["n_treated"], ref["n_control"])


def test_sci_plan_matches_the_generated_registry() -> None:
    demo = generate("sci", seed=4)
    plan = _plan(demo)
    enrol = demo.tables["enrollments"]
    covariates = {"age", "sex"} | set(demo.tables["baseline"]["variable"])
    for control in plan["controls"]:
        cohort = enrol[enrol["cohort"] == COHORT_OF[control["kind"]]]
        assert len(cohort) > 0 and set(cohort["direction"]) == {control["direction"]}
        assert cohort["index_on"].min() >= str(control["period"]["start"])
        assert cohort["index_on"].max() <= str(control["period"]["end"])
        assert set(control["adjustment"]["covariates"]) <= covariates
        assert control["adjustment"]["caliper"] == 0.2 and control["adjustment"]["ratio"] == 2
    assert plan["controls"][1]["source"] == "National regenerative-medicine registry"
    treated = enrol[enrol["cohort"] == "treated"]
    assert treated["index_on"].min() >= str(plan["treated_period"]["start"])
    assert treated["index_on"].max() <= str(plan["treated_period"]["end"])
    assert plan["sites"]["count"] == treated["site_code"].nunique() == 6
    # the planted truth clearly meets the criterion; the planned effect is not above truth
    threshold = plan["achievement_criteria"][0]["threshold"]
    assert threshold == 0.15
    assert demo.truth["att_risk_difference_population"] > threshold + 0.08
    ss = plan["sample_size"]
    assert ss["assumptions"]["p_treated"] - ss["assumptions"]["p_control"] >= threshold
    assert (treated.shape[0], (enrol.cohort == "concurrent_control").sum()) >= (
        ss["n_treated"], ss["n_control"])


def test_heart_plan_shows_the_shortfall_and_low_power() -> None:
    demo = generate("heart_failure_shortfall", seed=4)
    plan = _plan(demo)
    ss = plan["sample_size"]
    enrol = demo.tables["enrollments"]
    n = enrol["cohort"].value_counts()
    assert (ss["n_treated"], ss["n_control"]) == (60, 120)
    assert (n["treated"], n["concurrent_control"]) == (49, 102)
    m = plan["endpoints"][0]["measurement"]
    assert m["derivation"] == "change_at_least" and m["threshold"] == 5
    # rpact power with 49 vs 102: under the planned assumptions below 0.8, under the true
    # effect about 30%
    ref = REFERENCE["heart_failure_shortfall"]
    power = REFERENCE["heart_power"]
    assert ref["p_control"] == power["p_control"] == demo.truth["control_rate"]
    assert 0.65 < power["planned_assumptions"] < 0.8
    true_p1 = demo.truth["control_rate"] + demo.truth["att_risk_difference_population"]
    achieved = np.interp(true_p1, power["grid_p_treated"], power["grid_power"])
    assert 0.2 < achieved < 0.4, achieved
    assert demo.truth["att_risk_difference_population"] < ss["assumptions"]["p_treated"] - \
        ss["assumptions"]["p_control"]
