"""estimate_effect on binary and continuous outcomes against lm/glm + sandwich in R.

Reference: tests/reference/evidence/effects/make_reference.R (R 4.2.2, sandwich, lmtest).
Tolerances: effects 1e-6 absolute (relative for large outcomes), SEs 1e-6 relative.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from regmed.errors import DataError
from regmed.evidence.effects import Effect, estimate_effect
from regmed.evidence.sample import AdjustedSample

REF = Path(__file__).parents[1] / "reference" / "evidence" / "effects"
EXPECTED = json.loads((REF / "expected.json").read_text())
DESIGNS = {
    "nn1": ("lalonde_nn1.csv", "subclass", "matching"),
    "nn2": ("lalonde_nn2.csv", "subclass", "matching"),
    "small_clusters": ("lalonde_small_clusters.csv", "subclass", "matching"),
    "iptw_att": ("lalonde_iptw_att.csv", None, "weighting"),
    "iptw_ate": ("lalonde_iptw_ate.csv", None, "weighting"),
}


def _sample(name: str) -> AdjustedSample:
    file, cluster, method = DESIGNS[name]
    data = pd.read_csv(REF / file).set_index("id")
    estimand = "ATE" if name == "iptw_ate" else "ATT"
    return AdjustedSample(data, data, "treat", ("age",), estimand, method, cluster)


def _check_row(row: pd.Series, ref: dict[str, float], scale: float = 1.0) -> None:
    assert row["estimate"] == pytest.approx(ref["estimate"], rel=1e-6, abs=1e-8 * scale)
    assert row["std_error"] == pytest.approx(ref["std_error"], rel=1e-6)
    assert row["statistic"] == pytest.approx(ref["statistic"], rel=1e-6, abs=1e-8)
    assert row["p_value"] == pytest.approx(ref["p_value"], rel=1e-6, abs=1e-10)
    assert row["ci_lower"] == pytest.approx(ref["ci_lower"], rel=1e-6, abs=1e-8 * scale)
    assert row["ci_upper"] == pytest.approx(ref["ci_upper"], rel=1e-6, abs=1e-8 * scale)


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_continuous_matches_r(name: str) -> None:
    ref = EXPECTED[name]
    eff = estimate_effect(_sample(name), outcome="re78", kind="continuous")
    assert isinstance(eff, Effect)
    row = eff.estimates.set_index("term").loc["mean_difference"]
    _check_row(row, ref["mean_difference"], scale=1e4)
    assert eff.mean_difference == pytest.approx(ref["mean_difference"]["estimate"], rel=1e-6)
    assert eff.n_treated == ref["n_treated"] and eff.n_control == ref["n_control"]


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_binary_matches_r(name: str) -> None:
    ref = EXPECTED[name]
    eff = estimate_effect(_sample(name), outcome="employed", kind="binary")
    assert isinstance(eff, Effect)
    table = eff.estimates.set_index("term")
    for term in ("risk_difference", "log_risk_ratio", "log_odds_ratio"):
        _check_row(table.loc[term], ref[term])
    assert eff.risk_difference_se == pytest.approx(ref["risk_difference"]["std_error"], rel=1e-6)
    assert eff.risk_ratio == pytest.approx(math.exp(ref["log_risk_ratio"]["estimate"]), rel=1e-6)
    assert eff.odds_ratio_ci[0] == pytest.approx(
        math.exp(ref["log_odds_ratio"]["ci_lower"]), rel=1e-6
    )
    assert eff.risk_treated == pytest.approx(ref["risk_treated"], rel=1e-9)
    assert eff.risk_control == pytest.approx(ref["risk_control"], rel=1e-9)


def test_missing_outcomes_are_dropped_and_counted() -> None:
    s = _sample("nn1")
    data = s.data.copy()
    data.loc[data.index[:3], "employed"] = float("nan")
    eff = estimate_effect(
        AdjustedSample(data, data, "treat", (), "ATT", "matching", "subclass"),
        outcome="employed",
    )
    assert isinstance(eff, Effect)
    assert eff.n_missing_outcome == 3
    assert eff.n_treated + eff.n_control == len(data) - 3


def test_bad_input_collects_problems() -> None:
    s = _sample("nn1")
    data = s.data.copy()
    data["treat"] = data["treat"] * 2
    with pytest.raises(DataError) as err:
        estimate_effect(
            AdjustedSample(data, data, "treat", (), "ATT", "matching", "nosuch"),
            outcome="employed",
        )
    assert len(err.value.problems) == 1
    with pytest.raises(DataError):
        estimate_effect(s, outcome="re78", kind="binary")
    with pytest.raises(DataError):
        estimate_effect(s, outcome="employed", kind="ordinal")


def test_missing_cluster_is_an_error() -> None:
    data = _sample("nn1").data.copy()
    data.loc[data.index[0], "subclass"] = float("nan")
    s = AdjustedSample(data, data, "treat", (), "ATT", "matching", "subclass")
    with pytest.raises(DataError) as err:
        estimate_effect(s, outcome="employed")
    assert err.value.problems[0].field == "subclass"
