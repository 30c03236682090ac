"""Invariance of associate, variance_components and calendar_trend to units (issue 14).

A lot attribute or an adjustment covariate in other units (shifted by 1e6, scaled by
1e-6 ... 1e9) leaves the per-SD association unchanged; a quality value in other units scales
the variance components by the square of the scale and leaves their shares unchanged; a
calendar year counted from another origin or in days gives the same trend per unit of time.
Real data: lme4's Dyestuff and Penicillin, survival's veteran (tests/reference/).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from regmed.evidence import calendar_trend
from regmed.quality import associate, simulate_quality, variance_components

from ._data import SCALES, SEEDS, SETTINGS, SHIFT, cohort, transformed

TRANSFORMS = st.one_of(st.none(), SCALES)
QREF = Path(__file__).parents[1] / "reference" / "quality"


def _moved(df: pd.DataFrame, column: str, how: float | None) -> pd.DataFrame:
    return transformed(df, column, shift=SHIFT) if how is None else transformed(
        df, column, scale=how)


ASSOC_COLUMNS = ["estimate", "std_error", "ci_lower", "ci_upper", "p_value"]


@SETTINGS
@given(seed=SEEDS, how=TRANSFORMS, kind=st.sampled_from(["binary", "continuous", "survival"]),
       what=st.sampled_from(["attribute", "adjust"]))
def test_associate_units(seed: int, how: float | None, kind: str, what: str) -> None:
    sim = simulate_quality(n_lots=24, n_donors=8, patients_per_lot=4, n_attributes=2, rng=seed)
    outcome = {"binary": "response", "continuous": "score", "survival": "pfs"}[kind]
    patients, lots = sim.patients, sim.lots
    if what == "attribute":
        lots = _moved(lots, "a01", how)
    else:
        patients = _moved(patients, "age", how)
    a = associate(sim.patients, sim.lots, outcome, sim.attributes, kind, adjust=["age"])
    b = associate(patients, lots, outcome, sim.attributes, kind, adjust=["age"])
    assert np.isfinite(b.estimates["estimate"]).all()
    np.testing.assert_allclose(b.estimates[ASSOC_COLUMNS], a.estimates[ASSOC_COLUMNS],
                               rtol=1e-6, atol=1e-12)


def _components(vc) -> pd.DataFrame:
    return vc.components.set_index("component")


@SETTINGS
@given(seed=SEEDS, how=TRANSFORMS, design=st.sampled_from(["nested", "single", "auto", "one"]))
def test_variance_components_units(seed: int, how: float | None, design: str) -> None:
    rng = np.random.default_rng(seed)
    donors = np.repeat([f"D{i}" for i in range(8)], 6)
    lots = {"nested": [f"L{i // 2}" for i in range(48)], "single": [f"L{i}" for i in range(48)],
            "auto": [f"L{i // 6}" for i in range(48)], "one": [f"L{i // 3}" for i in range(48)]}
    d = pd.DataFrame({"donor_code": donors, "lot_code": lots[design]})
    d["value"] = (50 + rng.normal(0, 2, 8)[d.index // 6]
                  + rng.normal(0, 1.2, 24)[d.index // 2] + rng.normal(0, 0.8, 48))
    keys = dict(donor_key="lot_code") if design == "one" else {}
    moved = _moved(d, "value", how)
    a = variance_components(d, **keys, conf_level=None)
    b = variance_components(moved, **keys, conf_level=None)
    scale = 1.0 if how is None else how
    ca, cb = _components(a), _components(b)
    np.testing.assert_allclose(cb["variance"], ca["variance"] * scale**2, rtol=1e-6,
                               atol=1e-9 * scale**2 * ca.at["total", "variance"])
    np.testing.assert_allclose(cb["share"], ca["share"], rtol=1e-6, atol=1e-9)
    assert b.mean == pytest.approx(a.mean * scale + (SHIFT if how is None else 0.0), rel=1e-9)
    assert b.mean_se == pytest.approx(a.mean_se * scale, rel=1e-6)
    # REML criterion of y * c is that of y plus 2 (n - 1) log c (the Jacobian of n - 1 contrasts)
    assert b.reml_criterion == pytest.approx(
        a.reml_criterion + 2 * (a.n_obs - 1) * np.log(scale), rel=1e-9, abs=1e-7)


@pytest.mark.parametrize("data,factor,value,scale", [
    ("vc_dyestuff.csv", "Batch", "Yield", 1e-6), ("vc_dyestuff.csv", "Batch", "Yield", 1e9),
    ("vc_penicillin.csv", "plate", "diameter", 1e-3), ("vc_dyestuff2.csv", "Batch", "Yield", 1e6)])
def test_variance_components_real_data_units(data: str, factor: str, value: str,
                                             scale: float) -> None:
    d = pd.read_csv(QREF / data)
    a = variance_components(d, donor_key=factor, lot_key=factor, value=value)
    b = variance_components(transformed(d, value, scale=scale, shift=SHIFT * scale),
                            donor_key=factor, lot_key=factor, value=value)
    ca, cb = _components(a), _components(b)
    np.testing.assert_allclose(cb["variance"], ca["variance"] * scale**2, rtol=1e-6,
                               atol=1e-9 * scale**2 * ca.at["total", "variance"])
    for side in ("sd_ci_lower", "sd_ci_upper"):
        np.testing.assert_allclose(cb[side], ca[side] * scale, rtol=1e-5, atol=1e-7 * scale)


@SETTINGS
@given(seed=SEEDS, origin=st.sampled_from([0.0, -2016.0, SHIFT]),
       unit=st.sampled_from([1.0, 365.25, 1e-6, 1e9]))
def test_calendar_trend_units(seed: int, origin: float, unit: float) -> None:
    """Years from another origin or in other units: the slope per unit scales, p stays."""
    df = cohort(seed)
    a = calendar_trend(df, "response", "year").estimates.set_index("term")
    moved = df.assign(year=(df["year"] + origin) * unit)
    b = calendar_trend(moved, "response", "year").estimates.set_index("term")
    np.testing.assert_allclose(b.at["year", "estimate"], a.at["year", "estimate"] / unit,
                               rtol=1e-7)
    np.testing.assert_allclose(b.at["year", "std_error"], a.at["year", "std_error"] / unit,
                               rtol=1e-7)
    np.testing.assert_allclose(b.at["year", "p_value"], a.at["year", "p_value"], rtol=1e-6)


def test_calendar_trend_dates_and_years_agree() -> None:
    df = cohort(3)
    dates = pd.to_datetime(df["year"].astype(int).astype(str) + "-06-30")
    a = calendar_trend(df, "response", "year").estimates
    b = calendar_trend(df.assign(year=dates), "response", "year").estimates
    np.testing.assert_allclose(b[["estimate", "std_error"]], a[["estimate", "std_error"]],
                               rtol=1e-12)


@SETTINGS
@given(seed=SEEDS, scale=st.sampled_from([1 / 365.25, 7.0, 1e6]))
def test_associate_survival_time_units_and_day_zero(seed: int, scale: float) -> None:
    sim = simulate_quality(n_lots=24, n_donors=8, patients_per_lot=4, n_attributes=2, rng=seed)
    patients = sim.patients.copy()
    patients.loc[patients.index[:3], "pfs_time"] = 0.0  # events or censorings on day 0
    a = associate(patients, sim.lots, "pfs", sim.attributes, "survival", adjust=["age"])
    b = associate(transformed(patients, "pfs_time", scale=scale), sim.lots, "pfs",
                  sim.attributes, "survival", adjust=["age"])
    np.testing.assert_allclose(b.estimates[ASSOC_COLUMNS], a.estimates[ASSOC_COLUMNS],
                               rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("origin,unit", [(-1978.0, 1.0), (SHIFT, 1.0), (0.0, 365.25),
                                         (0.0, 1e-6)])
def test_calendar_trend_real_year_of_surgery(origin: float, unit: float) -> None:
    """rotterdam: death by year of surgery (1978-1993), the year from another origin/unit."""
    df = pd.read_csv(Path(__file__).parents[1] / "reference" / "evidence" / "realdata"
                     / "rotterdam.csv")
    a = calendar_trend(df, "death", "year").estimates.set_index("term")
    b = calendar_trend(df.assign(year=(df["year"] + origin) * unit), "death",
                       "year").estimates.set_index("term")
    np.testing.assert_allclose(b.at["year", "estimate"] * unit, a.at["year", "estimate"],
                               rtol=1e-8)
    np.testing.assert_allclose(b.at["year", "p_value"], a.at["year", "p_value"], rtol=1e-7)
