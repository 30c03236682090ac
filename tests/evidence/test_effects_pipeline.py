"""End to end: fit_propensity -> match -> estimate_effect reproduces MatchIt 4.7.2 + vcovCL.

Reference: tests/reference/evidence/matchit/ (MatchIt 4.7.2, lm with weights and
sandwich::vcovCL(cluster = ~subclass); copied from the project's shared references). Needs the
matching module (the "matching" helper's branch); skipped where it is not merged yet.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

pytest.importorskip("regmed.evidence.matching")

from regmed import evidence  # noqa: E402

REF = Path(__file__).parents[1] / "reference" / "evidence" / "matchit"
EXPECTED = json.loads((REF / "expected.json").read_text())
DESIGNS: dict[str, dict[str, Any]] = {
    "nn_1to1": {},
    "nn_1to1_caliper02_logit": {"caliper": 0.2, "caliper_scale": "logit"},
    "nn_1to2_caliper01_ps": {"ratio": 2, "caliper": 0.1, "caliper_scale": "ps"},
}


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_matched_att_and_cluster_se(name: str) -> None:
    data = pd.read_csv(REF / "lalonde.csv").set_index("id")
    data = pd.get_dummies(data, columns=["race"], dtype=float)
    covs = ["age", "educ", "race_black", "race_hispan", "married", "nodegree", "re74", "re75"]
    ps = evidence.fit_propensity(data, "treat", covs)
    m = evidence.match(data, ps, **DESIGNS[name])
    eff = evidence.estimate_effect(m, outcome="re78", kind="continuous")
    ref = EXPECTED[name]
    assert eff.n_treated == ref["n_treated"] and eff.n_control == ref["n_control"]
    assert eff.mean_difference == pytest.approx(ref["att"], rel=1e-8)
    assert eff.mean_difference_se == pytest.approx(ref["att_se_cluster_subclass"], rel=1e-8)


@pytest.mark.parametrize("estimand", ["ATT", "ATE"])
def test_weighted_effects_match_r_glm_iptw(estimand: str) -> None:
    """fit_propensity -> weight -> estimate_effect against the R iptw references (glm PS)."""
    data = pd.read_csv(REF / "lalonde.csv").set_index("id")
    data = pd.get_dummies(data, columns=["race"], dtype=float)
    data["employed"] = (data["re78"] > 0).astype(int)
    covs = ["age", "educ", "race_black", "race_hispan", "married", "nodegree", "re74", "re75"]
    w = evidence.weight(data, evidence.fit_propensity(data, "treat", covs), estimand=estimand)
    eff = evidence.estimate_effect(w, outcome="employed", kind="binary")
    ref = json.loads((REF.parent / "effects" / "expected.json").read_text())[
        f"iptw_{estimand.lower()}"]
    table = eff.estimates.set_index("term")
    for term in ("risk_difference", "log_risk_ratio", "log_odds_ratio"):
        assert table.loc[term, "estimate"] == pytest.approx(ref[term]["estimate"], rel=1e-6)
        assert table.loc[term, "std_error"] == pytest.approx(ref[term]["std_error"], rel=1e-6)
