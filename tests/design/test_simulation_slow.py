"""Slow: type I error of the re-estimation procedure by simulation (smaller than the
benchmark in benchmarks/sim_reestimation.py)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _only_when_selected(request):
    # pyproject's addopts does not deselect slow tests; run these only with `-m slow`.
    if "slow" not in (request.config.option.markexpr or "") or "not slow" in (
        request.config.option.markexpr or ""
    ):
        pytest.skip("slow simulation: run with -m slow")


def _benchmark():
    path = Path(__file__).parents[2] / "benchmarks" / "sim_reestimation.py"
    spec = importlib.util.spec_from_file_location("sim_reestimation", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.parametrize("rule", ["promising_zone", "conditional_power"])
def test_chw_keeps_type_one_error(rule):
    runs = 400_000
    res = _benchmark().simulate(runs=runs, seed=11, rule=rule)
    se = math.sqrt(0.025 * 0.975 / runs)
    assert abs(res["chw"] - 0.025) < 4 * se
    if rule == "conditional_power":
        assert res["naive"] > 0.025 + 6 * se
