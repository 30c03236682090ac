"""Every quality result is frozen, JSON-ready and prints a summary; inputs are not mutated."""

from __future__ import annotations

import dataclasses
import functools
import json

import pandas as pd
import pytest

from regmed.quality import (
    associate,
    associate_potency,
    check_specs,
    compare_lots,
    control_chart,
    responder_strata,
    simulate_process_change,
    simulate_quality,
    tolerance_interval,
    variance_components,
)
from regmed.results import Result


@functools.cache
def _results() -> list[Result]:
    sim = simulate_quality(n_lots=30, n_donors=10, patients_per_lot=3, rng=5)
    attrs = pd.DataFrame({"attribute_code": sim.attributes, "unit": "u", "lower_spec": 0.0,
                          "upper_spec": 100.0})
    ref, cand = simulate_process_change(rng=1)
    return [
        associate(sim.patients, sim.lots, "response", sim.attributes[:3], site_key="site_code",
                  spline=True, log=["a01"]),
        associate_potency(sim.lots, sim.attributes[1:4], "a01"),
        responder_strata(sim.patients, "response", ["sex", "age"]),
        check_specs(sim.lot_results, attrs),
        compare_lots(ref, cand, ["a01", "a02"], method="quality_range"),
        control_chart(sim.lots["a01"], sim.lots["manufactured_on"]),
        control_chart([1.0, 2.0, 1.5]),
        tolerance_interval(ref["a01"]),
        variance_components(sim.lot_results, "a02"),
    ]


@pytest.mark.parametrize("i", range(9))
def test_result_contract(i: int) -> None:
    res = _results()[i]
    assert isinstance(res, Result)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.options = {}  # type: ignore[misc]
    d = res.to_dict()
    assert d["type"] == type(res).__name__
    json.dumps(d, allow_nan=False)
    assert "options" in d
    assert len(res.summary()) > 20


def test_inputs_are_not_mutated() -> None:
    sim = simulate_quality(n_lots=30, patients_per_lot=3, rng=5)
    before_p, before_l = sim.patients.copy(), sim.lots.copy()
    associate(sim.patients, sim.lots, "response", sim.attributes[:2], log=["a01"],
              cluster="donor")
    pd.testing.assert_frame_equal(sim.patients, before_p)
    pd.testing.assert_frame_equal(sim.lots, before_l)
