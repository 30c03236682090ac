"""Group-sequential survival sample sizes against rpact 3.3.4 (issue 14, defect 4).

Reference: tests/reference/design/survival_sequential/make_reference.R (getSampleSizeSurvival
with 3-5 stage OF/Pocock/HSD designs, futility bounds, two-sided, piecewise accrual
intensities, dropout, allocation ratios). Subjects at an interim are those enrolled by its
calendar time. rpact's design constants carry ~1e-8 (events, maxima: rtol 1e-7) and it finds
the analysis times to 1e-6 (times, subjects per stage, expectations: rtol 1e-6). Largest
differences seen: 3e-8 (events, subjects), 3e-7 (expected study duration).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from regmed import design

REF = json.loads((Path(__file__).parents[1] / "reference" / "design" / "survival_sequential"
                  / "survival_sequential.json").read_text())
CASES = REF["cases"]


def _id(case: dict) -> str:
    d, p = case["design"], case["input"]
    futility = "-" + d["futility"] if "futility" in d else ""
    return (f"{d['spending']}{len(d['information_rates'])}{futility}-s{d['sided']}"
            f"-hr{p['hazard_ratio']}-acc{p['accrual_time']}")


def f(values: list) -> np.ndarray:
    return np.array([float(v) for v in values])


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_subjects_per_stage_are_rpacts(case: dict) -> None:
    gs = design.group_sequential(**case["design"])
    r = design.sample_size_survival(**case["input"], design=gs)
    np.testing.assert_allclose(r.events, f(case["events"])[0], rtol=1e-7)
    np.testing.assert_allclose(r.events_by_stage, f(case["events_by_stage"]), rtol=1e-7)
    np.testing.assert_allclose(r.n_total, f(case["n_total"])[0], rtol=1e-7)
    np.testing.assert_allclose(r.n_treated, f(case["n_treated"])[0], rtol=1e-7)
    np.testing.assert_allclose(r.n_control, f(case["n_control"])[0], rtol=1e-7)
    np.testing.assert_allclose(r.accrual_intensity, f(case["accrual_intensity"]), rtol=1e-7)
    np.testing.assert_allclose(r.analysis_times, f(case["analysis_times"]), rtol=1e-6)
    np.testing.assert_allclose(r.n_total_by_stage, f(case["n_total_by_stage"]), rtol=1e-6)
    np.testing.assert_allclose(r.expected_n_total_h1, f(case["expected_n_total_h1"])[0], rtol=1e-6)
    np.testing.assert_allclose(r.study_duration_h1, f(case["study_duration_h1"])[0], rtol=1e-6)
    np.testing.assert_allclose(r.expected_events_h1, f(case["expected_events_h1"])[0], rtol=1e-7)


def test_first_interim_counts_subjects_enrolled_by_then() -> None:
    """The issue's reproduction: the interim is not the maximum times the information rate."""
    case = CASES[0]
    gs = design.group_sequential(**case["design"])
    r = design.sample_size_survival(**case["input"], design=gs)
    assert r.n_total_by_stage[0] != pytest.approx(gs.information_rates[0] * r.n_total, rel=1e-3)
    assert r.n_total_by_stage[0] == pytest.approx(float(case["n_total_by_stage"][0]), rel=1e-6)


def test_bad_accrual_is_reported_with_all_problems() -> None:
    from regmed.errors import PlanError

    with pytest.raises(PlanError) as err:
        design.sample_size_survival(hazard_ratio=0.6, median_control=18,
                                    accrual_time=[0, 10, 5], follow_up_time=-1)
    fields = {p.field for p in err.value.problems}
    assert {"accrual_time", "follow_up_time"} <= fields
    with pytest.raises(PlanError, match="invalid") as err:
        design.sample_size_survival(hazard_ratio=0.6, median_control=18,
                                    accrual_time=[0, 6, 24], accrual_intensity=[1.0],
                                    follow_up_time=12)
    assert [p.field for p in err.value.problems] == ["accrual_intensity"]


def test_uniform_accrual_as_edges_is_the_same_design() -> None:
    gs = design.group_sequential(information_rates=[0.5, 1])
    a = design.sample_size_survival(hazard_ratio=0.7, median_control=12, accrual_time=20,
                                    follow_up_time=10, design=gs)
    b = design.sample_size_survival(hazard_ratio=0.7, median_control=12,
                                    accrual_time=[0, 8, 20], accrual_intensity=[2.0, 2.0],
                                    follow_up_time=10, design=gs)
    np.testing.assert_allclose(b.n_total_by_stage, a.n_total_by_stage, rtol=1e-12)
    np.testing.assert_allclose(b.analysis_times, a.analysis_times, rtol=1e-10)
