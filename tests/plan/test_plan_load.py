"""Loading plans: the example and its extension load; every mistake is one clear message."""

from __future__ import annotations

import datetime as dt

import pytest

from regmed.errors import PlanError
from regmed.plan import example_path, key_path, load_plan, plan_to_yaml
from regmed.plan.model import RatesSampleSize


def _problems(text: str) -> list[str]:
    with pytest.raises(PlanError) as info:
        load_plan(text)
    return [str(p) for p in info.value.problems]


def test_example_loads_with_every_block():
    plan = load_plan(example_path("sci_example"))
    assert plan.product.type == "autologous"
    assert plan.approval is not None and plan.approval.date == dt.date(2026, 1, 15)
    assert isinstance(plan.sample_size, RatesSampleSize)
    assert plan.sample_size.assumptions.allocation_ratio == 0.5
    assert plan.sample_size.interim.reestimation.max_n_treated == 140
    assert [c.kind for c in plan.controls] == ["concurrent", "historical"]
    assert plan.controls[0].adjustment.covariates[-1] == "days_from_injury"
    assert plan.controls[1].period.end == dt.date(2025, 12, 31)
    assert [q.id for q in plan.quality_efficacy_analyses][0] == "potency_vs_response"
    assert plan.source_text == example_path("sci_example").read_text(encoding="utf-8")


def test_extended_example_has_measurement_and_analyses():
    plan = load_plan(example_path("sci_extended"))
    m = plan.endpoints[0].measurement
    assert m is not None and m.variable == "ais_grade" and m.derivation == "ais_improvement"
    assert (m.baseline_visit.day, m.baseline_visit.window) == (49, 7)
    assert (m.outcome_visit.day, m.outcome_visit.window) == (180, 30)
    assert m.assessor_roles == ["blinded_central"]
    survival = plan.endpoint("overall_survival")
    assert survival.kind == "survival" and survival.event.time_origin
    assert survival.measurement.derivation == "time_to_death"
    assert plan.missing_data.primary == "non_responder"
    assert {s.variable for s in plan.subgroup_analyses} == {"ais_grade", "level"}
    assert plan.sensitivity_analyses[0].id == "without_historical"
    assert plan.quality_understanding.mechanism_cqa.startswith("VEGF")


def test_bad_yaml_gives_line_and_column():
    problems = _problems("product: {name: X, type: autologous\nindication: y\n")
    assert len(problems) == 1
    assert "line 2" in problems[0] and "column" in problems[0]


def test_duplicate_key_is_a_yaml_problem():
    problems = _problems("indication: a\nindication: b\n")
    assert problems == ["line 2, column 1: duplicate key 'indication'"]


def test_unknown_key_names_path_and_suggests(example_text):
    text = example_text.replace("  n_control: 138", "  n_control: 138\n  n_contorl: 140")
    problems = _problems(text)
    assert len(problems) == 1
    assert problems[0].startswith("sample_size.n_contorl: unknown key (did you mean 'n_control'?)")


def test_wrong_date_gives_the_issue_message(example_text):
    text = example_text.replace("start: 2019-01-01", "start: 2019-13-01")
    assert _problems(text) == [
        "controls[1].period.start: not a date (write YYYY-MM-DD), got '2019-13-01'"
    ]


def test_every_problem_is_collected_in_one_error(example_text):
    text = (
        example_text.replace("count: 6", "count: six")
        .replace("kind: binary", "kind: dichotomous")
        .replace("power: 0.8", "power: 1.8")
        .replace("direction: prospective", "direction: forwards")
        .replace("ratio: 2}", "ratio: 2, colour: red}")
    )
    problems = _problems(text)
    assert problems == [
        "endpoints[0].kind: must be one of 'binary', 'continuous' or 'survival', got 'dichotomous'",
        "sample_size.assumptions.power: must be less than 1.0, got 1.8",
        "sites.count: not a whole number, got 'six'",
        "controls[0].direction: must be one of 'prospective' or 'retrospective', got 'forwards'",
        problems[4],
    ]
    assert problems[4].startswith("controls[0].adjustment.colour: unknown key")


def test_missing_required_key_and_unknown_method(example_text):
    text = example_text.replace('    definition: "AIS', '    note: "AIS').replace(
        "method: rates", "method: ratios"
    )
    problems = _problems(text)
    assert "endpoints[0].definition: required key is missing" in problems
    assert any(p.startswith("endpoints[0].note: unknown key") for p in problems)
    assert any(
        p.startswith("sample_size: method must be one of 'rates', 'means', 'survival'")
        for p in problems
    )


def test_cross_references_and_orders(example_text):
    text = (
        example_text.replace("  - endpoint: ais_improvement", "  - endpoint: ais_improvment")
        .replace("end: 2030-12-31}\n    adjustment", "end: 2020-12-31}\n    adjustment")
        .replace(
            "kind: historical\n    direction: retrospective",
            "kind: historical\n    direction: prospective",
        )
    )
    assert _problems(text) == [
        "achievement_criteria[0].endpoint: unknown endpoint 'ais_improvment' "
        "(did you mean 'ais_improvement'?)",
        "controls[0].period.end: 2020-12-31 is before the start 2026-04-01",
        "controls[1].direction: a historical control is retrospective",
    ]


def test_top_level_must_be_a_mapping_and_files_must_exist(tmp_path):
    assert _problems("- a\n- b\n") == ["the plan must be a mapping of keys (key: value)"]
    with pytest.raises(PlanError, match="no such file"):
        load_plan(str(tmp_path / "absent.yaml"))


def test_conditional_term_is_at_most_seven_years(example_text):
    problems = _problems(example_text.replace("term_years: 7", "term_years: 10"))
    assert problems == ["approval.term_years: must be at most 7, got 10"]


def test_key_path_translation():
    assert key_path(("controls", 1, "period", "start")) == "controls[1].period.start"
    assert (
        key_path(("sample_size", "rates", "assumptions", "alpha"))
        == "sample_size.assumptions.alpha"
    )
    assert key_path(()) == "(top level)"


def test_canonical_yaml_round_trips():
    plan = load_plan(example_path("sci_extended"))
    again = load_plan(plan_to_yaml(plan))
    assert again.model_dump() == plan.model_dump()
    assert again.source_text != plan.source_text  # the text differs, the content does not


def test_measurement_rules_name_their_keys(example_text):
    block = (
        "    measurement:\n"
        "      variable: uems\n"
        "      baseline_visit: {name: day49, day: 49, window: 7}\n"
        "      outcome_visit: {name: day30, day: 30}\n"
        "      derivation: change_at_least\n"
        "      assessor_roles: [blinded_central, nurse]\n"
    )
    text = example_text.replace("achievement_criteria:", block + "achievement_criteria:", 1)
    assert _problems(text) == [
        "endpoints[0].measurement.assessor_roles[1]: must be one of 'blinded_central', "
        "'blinded_independent' or 'treating_physician', got 'nurse'"
    ]
    text = text.replace(", nurse]", "]")
    assert _problems(text) == [
        "endpoints[0].measurement.threshold: required when derivation is change_at_least",
        "endpoints[0].measurement.outcome_visit.day: must come after the baseline visit",
    ]


def test_odd_yaml_never_crashes(example_text):
    assert _problems("? [a, b]\n: 1\n") == ["line 1, column 3: a key must be a plain word"]
    assert _problems(example_text.replace("count: 6", "count: true")) == [
        "sites.count: not a whole number, got True"
    ]
    assert _problems("indication: !!python/object:os.system x\n")[0].startswith(
        "line 1, column 13: could not determine a constructor"
    )
    assert _problems("") == ["the plan must be a mapping of keys (key: value)"]


def test_survival_assumptions_need_one_control_hazard(example_text):
    survival = (
        "sample_size:\n  method: survival\n"
        "  assumptions: {hazard_ratio: 0.6, accrual_time: 24, follow_up_time: 12}\n"
        "  n_treated: 120\n  n_control: 120\n"
    )
    head, tail = example_text.split("sample_size:\n", 1)
    rest = tail.split("sites:", 1)[1]
    text = head + survival + "sites:" + rest
    assert _problems(text) == [
        "sample_size.assumptions: give either median_control or lambda_control"
    ]
    plan = load_plan(text.replace("hazard_ratio: 0.6,", "hazard_ratio: 0.6, lambda_control: 0.04,"))
    assert plan.sample_size.assumptions.lambda_control == 0.04
