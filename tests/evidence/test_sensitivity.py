"""E-values and tipping points.

References: tests/reference/evidence/effects/sensitivity/make_reference.R (EValue's formulas written
out in R, VanderWeele & Ding 2017's worked example; fisher.test). Tolerance 1e-10 relative.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from regmed.errors import DataError
from regmed.evidence.sensitivity import e_value, e_value_rd, tipping_point

REF = Path(__file__).parents[1] / "reference" / "evidence" / "effects" / "sensitivity"
EXPECTED = json.loads((REF / "expected.json").read_text())


def test_published_example() -> None:
    # VanderWeele & Ding (2017): RR 3.9 (1.8 to 8.7) -> E-value 7.2, CI limit 3.0
    ev = e_value(3.9, 1.8, 8.7, measure="risk_ratio")
    assert round(ev.e_value, 1) == 7.3 or round(ev.e_value, 1) == 7.2
    assert ev.e_value == pytest.approx(7.26, abs=0.005)
    assert ev.e_value_ci == pytest.approx(3.0, abs=1e-12)


@pytest.mark.parametrize("name", sorted(EXPECTED["evalues"]))
def test_e_values_match_reference(name: str) -> None:
    c = EXPECTED["evalues"][name]
    ev = e_value(c["est"], c["lo"], c["hi"], measure=c["measure"], rare=c["rare"])
    assert ev.risk_ratio == pytest.approx(c["rr"], rel=1e-10)
    assert ev.risk_ratio_lower == pytest.approx(c["rr_lo"], rel=1e-10)
    assert ev.e_value == pytest.approx(c["e_value"], rel=1e-10)
    assert ev.e_value_ci == pytest.approx(c["e_value_ci"], rel=1e-10)


def test_e_value_mean_difference() -> None:
    c = EXPECTED["mean_difference"]
    ev = e_value(c["estimate"], measure="mean_difference", sd=c["sd"], se=c["se"])
    assert ev.risk_ratio == pytest.approx(c["rr"], rel=1e-10)
    assert ev.risk_ratio_upper == pytest.approx(c["rr_hi"], rel=1e-10)
    assert ev.e_value_ci == pytest.approx(c["e_value_ci"], rel=1e-10)


@pytest.mark.parametrize("name", ["a", "b", "c", "d"])
def test_e_value_rd_matches_reference(name: str) -> None:
    c = EXPECTED["risk_difference"][name]
    ev = e_value_rd(*c["n"], true=c["true"])
    assert ev.risk_ratio == pytest.approx(c["bf"], rel=1e-10)
    assert ev.e_value == pytest.approx(c["e_value"], rel=1e-10)
    # R searches B on a grid of 1e-5; the root lies within one step below R's grid point
    assert c["b_ci"] - 1e-5 - 1e-9 <= ev.risk_ratio_lower <= c["b_ci"] + 1e-9
    assert ev.e_value_ci == pytest.approx(c["e_value_ci"], abs=2e-4)


def test_e_value_errors() -> None:
    with pytest.raises(DataError):
        e_value(0.2, measure="risk_difference")
    with pytest.raises(DataError):
        e_value(-1.0, measure="odds_ratio")
    with pytest.raises(DataError):
        e_value(2.0, 2.5, 3.0)
    with pytest.raises(DataError):
        e_value_rd(10, 40, 30, 20)


@pytest.mark.parametrize("method", ["wald", "fisher"])
def test_tipping_point_grid_matches_r(method: str) -> None:
    a = EXPECTED["tipping"]["args"]
    g = EXPECTED["tipping"]["grid"]
    tp = tipping_point(a["r1"], a["o1"], a["m1"], a["r0"], a["o0"], a["m0"], method=method)
    grid = tp.grid.sort_values(["responders_missing_control", "responders_missing_treated"])
    np.testing.assert_array_equal(grid["responders_missing_treated"], g["x1"])
    np.testing.assert_allclose(grid["risk_difference"], g["rd"], rtol=1e-12)
    if method == "wald":
        np.testing.assert_allclose(grid["ci_lower"], g["ci_lower"], rtol=1e-10)
        sig = np.array(g["ci_lower"]) > 0
    else:
        np.testing.assert_allclose(grid["p_value"], g["fisher_p"], rtol=1e-8)
        sig = (np.array(g["fisher_p"]) < 0.05) & (np.array(g["rd"]) > 0)
    np.testing.assert_array_equal(grid["significant"], sig)
    # the tipping point: first treated count at which R's test is significant
    x0, x1 = np.array(g["x0"]), np.array(g["x1"])
    for _, row in tp.tipping_points.iterrows():
        ok = x1[(x0 == row["responders_missing_control"]) & sig]
        want = ok.min() if len(ok) else np.nan
        np.testing.assert_equal(row["min_responders_missing_treated"], want)


def test_tipping_point_validation() -> None:
    with pytest.raises(DataError) as err:
        tipping_point(10, 5, 1, 3, 0, 1, method="exact")
    assert len(err.value.problems) == 4
