"""Patients and analysis specifications of the group-sequential references (shared by
make_input.py and the test)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from regmed.plan.spec import AnalysisSpec
from regmed.plan.spec_rules import InterimSpec


def make_patients(seed: int, n: int, effect: float) -> pd.DataFrame:
    """Treated and concurrent controls over 3 years, a binary, continuous and survival outcome."""
    rng = np.random.default_rng(seed)
    treated = rng.random(n) < 0.4
    # ages not rounded: whole-year ages give controls at exactly equal distances on either
    # side of a treated patient, and which one nearest-neighbour matching takes then turns on
    # the last bit of the fitted coefficients, which differs between CPUs (BLAS kernels)
    age = rng.normal(45, 12, n)
    sex = np.where(rng.random(n) < 0.45, "F", "M")
    lin = -0.6 + effect * treated + 0.03 * (age - 45) + 0.3 * (sex == "F")
    response = (rng.random(n) < 1 / (1 + np.exp(-lin))).astype(float)
    score = (20 + 4 * effect * treated - 0.15 * (age - 45) + rng.normal(0, 6, n)).round(2)
    index_on = pd.Timestamp("2026-04-01") + pd.to_timedelta(rng.integers(0, 1095, n), "D")
    hazard = 1 / 700 * np.exp(-effect * treated + 0.02 * (age - 45))
    death = rng.exponential(1 / hazard)
    end = (pd.Timestamp("2029-12-31") - index_on).days.to_numpy(float)
    return pd.DataFrame({
        "cohort": np.where(treated, "treated", "concurrent_control"),
        "site_code": [f"S{i % 4 + 1}" for i in range(n)], "index_on": index_on,
        "age": age, "sex": sex, "response": response, "response_status": "observed",
        "score": score, "score_status": "observed",
        "os_time": np.minimum(death, end).round(0) + 1, "os_event": (death <= end).astype(float),
    }, index=[f"S{i % 4 + 1}:P{i:04d}" for i in range(n)])


def _interim(rates: tuple[float, ...], spending: str, planned: int, unit: str,
             alpha: float = 0.025, futility: str | None = None) -> InterimSpec:
    return InterimSpec(endpoint="x", information_rates=rates, spending=spending,
                       design_spending=spending[2:], futility=futility, alpha=alpha, beta=0.2,
                       sided=1, planned=planned, planned_unit=unit)


_BASE: dict[str, Any] = {
    "role": "primary", "control_source": "concurrent",
    "control_cohorts": ("concurrent_control",), "missing_data": "complete_case",
    "covariates": ("age", "sex"), "confidence_level": 0.95,
}

#: name -> (patients seed, n, effect, spec fields, stage evaluated)
SCENARIOS: dict[str, tuple[int, int, float, dict[str, Any], int | None]] = {
    "binary_rd_matching_of2": (11, 600, 0.6, {
        "endpoint": "response", "endpoint_kind": "binary", "method": "propensity_matching",
        "estimand": "ATT", "caliper": 0.2, "measure": "risk_difference", "threshold": 0.05,
        "ci_lower_above": 0.0, "interim": _interim((0.5, 1.0), "asOF", 200,
                                                   "treated_patients")}, None),
    "binary_rd_stop_at_1": (12, 800, 1.6, {
        "endpoint": "response", "endpoint_kind": "binary", "method": "propensity_weighting",
        "estimand": "ATE", "measure": "risk_difference", "ci_lower_above": 0.0,
        "interim": _interim((0.5, 1.0), "asOF", 300, "treated_patients")}, None),
    "continuous_md_pocock3": (13, 700, 0.3, {
        "endpoint": "score", "endpoint_kind": "continuous", "method": "none", "estimand": "ATE",
        "covariates": (), "measure": "mean_difference", "ci_lower_above": 0.0,
        "confidence_level": 0.90,
        "interim": _interim((0.3, 0.6, 1.0), "asP", 260, "treated_patients",
                            alpha=0.05)}, None),
    "survival_hr_weighting": (14, 700, 0.5, {
        "endpoint": "os", "endpoint_kind": "survival", "method": "propensity_weighting",
        "estimand": "ATT", "measure": "hazard_ratio", "ci_upper_below": 1.0,
        "interim": _interim((0.4, 0.7, 1.0), "asOF", 250, "events", futility="OF")}, None),
    "binary_or_interim_look": (15, 600, 0.3, {
        "endpoint": "response", "endpoint_kind": "binary", "method": "propensity_matching",
        "estimand": "ATT", "measure": "odds_ratio", "ci_lower_above": 1.0,
        "interim": _interim((0.5, 1.0), "asOF", 200, "treated_patients")}, 1),
}


def scenario(name: str) -> tuple[pd.DataFrame, AnalysisSpec, int | None]:
    """The patients, the spec and the evaluated stage of scenario ``name``."""
    seed, n, effect, fields, stage = SCENARIOS[name]
    fields = dict(fields)
    fields["interim"] = fields["interim"].model_copy(update={"endpoint": fields["endpoint"]})
    return make_patients(seed, n, effect), AnalysisSpec(**{**_BASE, **fields}), stage
