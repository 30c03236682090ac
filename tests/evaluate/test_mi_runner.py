"""Missing outcomes as the plan says (issue 13): multiple imputation against MatchThem, and
the worst case.

References: ``tests/reference/evaluate/mi_runner`` — ``make_input.py`` writes the patients and
regmed's imputed data sets, ``make_reference.R`` runs MatchThem's matchthem()/weightthem(),
with() and pool() on those same sets (R's random numbers differ from numpy's).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regmed.evaluate.comparison import compare
from regmed.plan import compile_specs, load_plan, spec_problems
from regmed.plan.spec import AnalysisSpec, MissingRule

REF = Path(__file__).parents[1] / "reference" / "evaluate" / "mi_runner"
sys.path.insert(0, str(REF))
from mi_scenarios import SCENARIOS, spec_of  # noqa: E402

EXPECTED = json.loads((REF / "expected.json").read_text())
TOL = 1e-6


@pytest.fixture(scope="module")
def patients() -> pd.DataFrame:
    return pd.read_csv(REF / "patients.csv", index_col=0, keep_default_na=False,
                       na_values=[""], parse_dates=["index_on"])


@pytest.fixture(scope="module")
def runs(patients):
    return {name: compare(patients, spec_of(name), rng=np.random.default_rng(7))
            for name in SCENARIOS}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_imputed_sets_are_the_ones_r_analysed(runs, name: str) -> None:
    spec = spec_of(name)
    mine = runs[name].extra_data[f"{spec.label}__imputed"]
    stored = pd.read_csv(REF / f"{name}__imputed.csv", keep_default_na=False, na_values=[""])
    assert list(mine.columns) == list(stored.columns)
    assert mine["pseudonym"].tolist() == stored["pseudonym"].tolist()
    for col in ("imputation", "treated", "age", "severity", "outcome"):
        np.testing.assert_allclose(mine[col].to_numpy(float), stored[col].to_numpy(float),
                                   rtol=0, atol=1e-12)
    assert mine["sex"].tolist() == stored["sex"].tolist()
    assert not mine[["severity", "outcome"]].isna().any().any()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_pooled_effect_equals_matchthem(runs, name: str) -> None:
    comp = runs[name]
    ref = EXPECTED[name]
    block = comp.entry["imputation"]
    assert block["m"] == 5 and block["seed"] == 4242
    assert [p["n_treated"] + p["n_control"] for p in block["per_imputation"]] == \
        ref["n_analysed"]
    rows = {r["term"]: r for r in comp.entry["effect"]["estimates"]}
    pooling = {r["term"]: r for r in block["pooling"]}
    for term, r in ref.items():
        if term == "n_analysed":
            continue
        for key in ("estimate", "std_error", "df", "ci_lower", "ci_upper", "p_value"):
            assert rows[term][key] == pytest.approx(r[key], abs=TOL), (term, key)
        for key in ("fmi", "ubar", "b", "riv", "dfcom"):
            assert pooling[term][key] == pytest.approx(r[key], abs=TOL), (term, key)
    spec = spec_of(name)
    term = block["term"]
    assert block["fmi"] == pytest.approx(ref[term]["fmi"], abs=TOL)
    effect = comp.entry["effect"]
    log = spec.measure.value in ("risk_ratio", "odds_ratio")
    expect = np.exp(ref[term]["estimate"]) if log else ref[term]["estimate"]
    assert effect["estimate"] == pytest.approx(expect, abs=TOL)
    assert effect["ci_level"] == spec.confidence_level
    assert comp.entry["spec"]["missing_data"] == "multiple_imputation"
    assert comp.entry["spec"]["imputations"] == 5


def test_exported_analysis_data_has_every_imputation(runs) -> None:
    data = runs["weight_att_continuous"].data
    assert sorted(data["imputation"].unique()) == [1, 2, 3, 4, 5]
    assert list(data.columns[:3]) == ["imputation", "pseudonym", "treated"]
    assert len(data) == 5 * 360


def _spec(**kw) -> AnalysisSpec:
    base = {"endpoint": "response", "endpoint_kind": "binary", "role": "primary",
            "control_source": "concurrent", "control_cohorts": ("concurrent_control",),
            "method": "none", "estimand": "ATE", "confidence_level": 0.95,
            "missing_data": "worst_case", "covariates": (), "measure": "risk_difference"}
    return AnalysisSpec(**{**base, **kw})


@pytest.mark.parametrize("direction", ["greater", "less"])
def test_worst_case_fails_missing_treated_and_passes_missing_controls(patients,
                                                                      direction) -> None:
    comp = compare(patients, _spec(direction=direction), rng=np.random.default_rng(1))
    data = comp.data
    frame = patients[patients["response"].notna() | patients["response_status"].isin(
        ["missing", "out_of_window"])]
    assert len(data) == len(frame)
    fill_t, fill_c = (0.0, 1.0) if direction == "greater" else (1.0, 0.0)
    treated = frame["cohort"] == "treated"
    y = frame["response"].where(frame["response"].notna(),
                                np.where(treated, fill_t, fill_c))
    rd = y[treated].mean() - y[~treated].mean()
    assert comp.entry["effect"]["estimate"] == pytest.approx(rd, abs=1e-12)
    steps = [a for a in comp.attrition if "worst-case" in a["step"]]
    missing_t = int((treated & frame["response"].isna()).sum())
    assert any(f"{missing_t} with a missing outcome" in a["reason"] for a in steps)


PLAN = (Path(__file__).parents[2] / "src" / "regmed" / "plan" / "examples"
        / "sci_example.yaml").read_text()


def _variant(missing: str) -> str:
    return PLAN.replace("achievement_criteria:\n", missing + "achievement_criteria:\n", 1)


def test_multiple_imputation_needs_imputations_and_seed() -> None:
    found = {p.field: p.message for p in spec_problems(load_plan(_variant(
        "missing_data: {primary: multiple_imputation}\n")))}
    assert "number of imputations" in found["missing_data.imputations"]
    assert "seed" in found["missing_data.seed"]
    plan = load_plan(_variant("missing_data: {primary: multiple_imputation, imputations: 20, "
                              "seed: 11, iterations: 5}\n"))
    assert not [p for p in spec_problems(plan) if p.field.startswith("missing_data")]
    spec = next(s for s in compile_specs(plan) if s.role == "primary")
    assert spec.missing_data is MissingRule.multiple_imputation
    assert (spec.imputations, spec.imputation_seed, spec.imputation_iterations) == (20, 11, 5)


@pytest.mark.parametrize(("block", "field", "words"), [
    ("missing_data: {primary: ipcw}\n", "missing_data.primary", "censoring weighting"),
    ("missing_data: {primary: other}\n", "missing_data.primary", "unspecified"),
    ("missing_data: {primary: worst_case, seed: 3}\n", "missing_data.seed",
     "option of multiple_imputation"),
])
def test_missing_rules_the_engine_does_not_run_are_refused(block, field, words) -> None:
    found = {p.field: p.message for p in spec_problems(load_plan(_variant(block)))}
    assert words in found[field]


def test_worst_case_and_imputation_need_their_endpoint_kind() -> None:
    text = _variant("missing_data: {primary: worst_case}\n").replace(
        "kind: binary ", "kind: continuous ", 1).replace(
        "measure: risk_difference", "measure: mean_difference").replace(
        "method: rates", "method: means").replace(
        "{p_treated: 0.50, p_control: 0.30,", "{difference: 2, sd: 4,")
    found = {p.field: p.message for p in spec_problems(load_plan(text))}
    assert "worst_case needs a binary endpoint" in found["missing_data.primary"]


MI_BLOCK = "missing_data: {primary: multiple_imputation, imputations: 5, seed: 3}\n"


def test_multiple_imputation_is_refused_outside_matching_and_weighting() -> None:
    exact = _variant(MI_BLOCK).replace("method: propensity_matching", "method: exact_matching",
                                       1).replace(", caliper: 0.2, ratio: 2}", "}", 1)
    found = {p.field: p.message for p in spec_problems(load_plan(exact))}
    assert "within propensity matching or weighting" in found["missing_data.primary"]
    assert "exact_matching" in found["missing_data.primary"]


def test_single_arm_plan_refuses_imputation_and_the_interim_design() -> None:
    text = _variant(MI_BLOCK)
    single = text[:text.index("controls:\n")] + text[text.index("treated_period:"):]
    single = single.replace("measure: risk_difference", "measure: proportion")
    single = single.replace("  interim: null\n", "  interim: {information_rates: [0.5, 1.0], "
                            "spending: asOF}\n")
    found = {p.field: p.message for p in spec_problems(load_plan(single))}
    assert "not in a single-arm analysis" in found["missing_data.primary"]
    assert "not to a single-arm analysis" in found["sample_size.interim"]
