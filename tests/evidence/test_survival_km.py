"""kaplan_meier and survival effects against R's survival::survfit / coxph (survival 3.5-3).

Reference: tests/reference/evidence/survival/make_reference.R. Tolerances: survival and CI
limits 1e-8 absolute, medians exact, RMST 1e-8 relative, its SE 1e-6 relative.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regmed.evidence.effects import estimate_effect
from regmed.evidence.sample import AdjustedSample
from regmed.evidence.survival import SurvivalEffect, kaplan_meier

REF = Path(__file__).parents[1] / "reference" / "evidence" / "survival"
EXPECTED = json.loads((REF / "expected.json").read_text())
DATA = {
    "lung": pd.read_csv(REF / "lung.csv"),
    "veteran": pd.read_csv(REF / "veteran.csv"),
    "sim": pd.read_csv(REF / "sim_matched.csv"),
}
KM: dict[str, tuple[str | None, ...]] = {
    "lung_sex": ("lung", "sex", None),
    "lung_all": ("lung", None, None),
    "veteran_trt": ("veteran", "trt2", None),
    "sim_weighted": ("sim", "treat", "weights"),
    "sim_weighted_cluster": ("sim", "treat", "weights", "subclass"),
    "sim_cluster_site": ("sim", None, None, "site"),
}


@pytest.mark.parametrize("name", sorted(KM))
def test_kaplan_meier_matches_survfit(name: str) -> None:
    data, group, weights, *cluster = KM[name]
    ref = EXPECTED["km"][name]
    km = kaplan_meier(DATA[data], "time", "event", group=group, weights=weights,
                      cluster=cluster[0] if cluster else None)
    times = sorted(set(ref["at"]["time"]))
    at = km.survival_at(times).dropna()
    at["group"] = at["group"].astype(str)
    want = pd.DataFrame(ref["at"])
    merged = want.merge(at, on=["group", "time"], suffixes=("_r", ""))
    assert len(merged) == len(want) == len(at)
    for col in ("surv", "lower", "upper"):
        np.testing.assert_allclose(merged[col], merged[f"{col}_r"], rtol=1e-8, atol=1e-10)
    meds = km.medians
    np.testing.assert_allclose(meds["median"], ref["median"], rtol=1e-12)
    np.testing.assert_allclose(meds["lower"], ref["median_lower"], rtol=1e-12)
    np.testing.assert_allclose(meds["upper"], ref["median_upper"], rtol=1e-12)
    rm = km.rmst(ref["tau"])
    np.testing.assert_allclose(rm["rmst"], ref["rmean"], rtol=1e-8)
    np.testing.assert_allclose(rm["std_err"], ref["rmean_se"], rtol=1e-6)


def test_survival_effect_matched_sample() -> None:
    sim = DATA["sim"]
    sample = AdjustedSample(sim, sim, "treat", ("x",), "ATT", "matching", "subclass")
    eff = estimate_effect(sample, time="time", event="event", kind="survival", tau=25)
    assert isinstance(eff, SurvivalEffect)
    cox = EXPECTED["cox"]["sim_weights_cluster"]
    assert eff.log_hazard_ratio == pytest.approx(cox["estimate"], abs=1e-7)
    assert eff.log_hazard_ratio_se == pytest.approx(cox["std_error"], rel=1e-6)
    assert eff.hazard_ratio_ci[0] == pytest.approx(np.exp(cox["ci_lower"]), rel=1e-6)
    km = EXPECTED["km"]["sim_weighted_cluster"]
    at = eff.km.survival_at([10])
    assert at["lower"].tolist() == pytest.approx(
        [v for t, v in zip(km["at"]["time"], km["at"]["lower"], strict=True) if t == 10],
        rel=1e-8)
    assert eff.rmst_control == pytest.approx(km["rmean"][0], rel=1e-8)
    assert eff.rmst_treated == pytest.approx(km["rmean"][1], rel=1e-8)
    assert eff.rmst_difference_se == pytest.approx(np.hypot(*km["rmean_se"]), rel=1e-6)
    assert eff.estimates["term"].tolist() == ["log_hazard_ratio", "rmst_difference"]


def test_survival_effect_weighted_sample_default_tau() -> None:
    sim = DATA["sim"]
    sample = AdjustedSample(sim, sim, "treat", ("x",), "ATT", "weighting", None)
    eff = estimate_effect(sample, time="time", event="event", kind="survival")
    assert isinstance(eff, SurvivalEffect)
    cox = EXPECTED["cox"]["sim_weights_robust_treat"]
    assert eff.log_hazard_ratio == pytest.approx(cox["estimate"], abs=1e-7)
    assert eff.log_hazard_ratio_se == pytest.approx(cox["std_error"], rel=1e-6)
    last = sim.groupby("treat")["time"].max()
    assert eff.tau == min(last)
