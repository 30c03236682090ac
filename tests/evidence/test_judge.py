"""judge() against effects whose numbers are checked against R in test_effects/test_survival."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from regmed.errors import PlanError
from regmed.evidence.effects import estimate_effect
from regmed.evidence.judge import Criterion, judge
from regmed.evidence.sample import AdjustedSample

REF = Path(__file__).parents[1] / "reference" / "evidence"
EXP = json.loads((REF / "effects" / "expected.json").read_text())["iptw_att"]


@pytest.fixture(scope="module")
def effect():  # type: ignore[no-untyped-def]
    data = pd.read_csv(REF / "effects" / "lalonde_iptw_att.csv")
    s = AdjustedSample(data, data, "treat", (), "ATT", "weighting", None)
    return estimate_effect(s, outcome="employed", kind="binary")


def test_threshold_and_ci(effect) -> None:  # type: ignore[no-untyped-def]
    rd = EXP["risk_difference"]
    below = judge(effect, {"measure": "risk_difference", "threshold": rd["estimate"] - 0.01,
                           "ci_lower_above": rd["ci_lower"] - 0.001})
    assert below.met and below.estimate == pytest.approx(rd["estimate"], rel=1e-6)
    assert below.reason.startswith("Criterion met")
    v = judge(effect, {"measure": "risk_difference", "threshold": rd["estimate"] - 0.01,
                       "ci_lower_above": rd["ci_lower"] + 0.001})
    assert not v.met and v.checks == {"threshold": True, "ci_lower_above": False}
    assert "is not above" in v.reason


def test_ratio_measures_and_direction(effect) -> None:  # type: ignore[no-untyped-def]
    import math

    lor = EXP["log_odds_ratio"]
    v = judge(effect, Criterion("odds_ratio", ci_upper_below=math.exp(lor["ci_upper"]) + 1e-3))
    assert v.met and v.ci_upper == pytest.approx(math.exp(lor["ci_upper"]), rel=1e-6)
    v = judge(effect, {"measure": "risk_ratio", "threshold": 0.5, "direction": "less"})
    assert not v.met and v.direction == "less"


def test_bad_criteria(effect) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PlanError) as err:
        judge(effect, {"measure": "nnt", "direction": "up"})
    assert len(err.value.problems) == 3
    with pytest.raises(PlanError):
        judge(effect, {"measure": "risk_difference", "treshold": 0.1})


def test_hazard_ratio_defaults_to_lower_is_better() -> None:
    import math

    sim = pd.read_csv(REF / "survival" / "sim_matched.csv")
    cox = json.loads((REF / "survival" / "expected.json").read_text())["cox"]
    ref = cox["sim_weights_cluster"]
    s = AdjustedSample(sim, sim, "treat", ("x",), "ATT", "matching", "subclass")
    eff = estimate_effect(s, time="time", event="event", kind="survival")
    v = judge(eff, {"measure": "hazard_ratio", "threshold": 0.8, "ci_upper_below": 1.0})
    assert v.direction == "less"
    assert v.estimate == pytest.approx(math.exp(ref["estimate"]), rel=1e-6)
    assert v.met == (math.exp(ref["estimate"]) <= 0.8 and math.exp(ref["ci_upper"]) < 1.0)
    assert v.checks["ci_upper_below"] is True
    assert judge(eff, {"measure": "hazard_ratio", "threshold": 0.5}).met is False


def test_results_serialize(effect) -> None:  # type: ignore[no-untyped-def]
    d = effect.to_dict()
    text = json.dumps(d)
    assert d["risk_difference"] == pytest.approx(EXP["risk_difference"]["estimate"], rel=1e-6)
    assert "log_odds_ratio" in text and "log_odds_ratio" in effect.summary()
    v = judge(effect, {"measure": "risk_difference", "threshold": 0.0})
    assert json.loads(json.dumps(v.to_dict()))["met"] is v.met
