"""Invariance of the evidence estimators to the units of the data (issue 14).

A covariate shifted by 1e6 or scaled by 1e-6 ... 1e9 must leave propensity scores, matched
sets, weights and effect estimates unchanged and transform its coefficient as it must
(shift: same slope, intercept - slope * shift; scale: slope / scale, SE / scale); follow-up
times in other units leave Cox coefficients and Kaplan-Meier curves unchanged; times of 0
and tied times are accepted as R's glm/coxph/survfit accept them. Random cohorts come from
hypothesis seeds (``_data.cohort``); the real-data cases use the data sets of
tests/reference/evidence/realdata/.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from regmed.evidence import (
    estimate_effect,
    fit_cox,
    fit_propensity,
    kaplan_meier,
    match,
    weight,
)

from ._data import SCALES, SEEDS, SETTINGS, SHIFT, cohort, transformed

COVS = ["age", "year", "female", "crp", "site"]
NUMERIC = st.sampled_from(["age", "year", "female", "crp"])
REAL = Path(__file__).parents[1] / "reference" / "evidence" / "realdata"


def _est(fit) -> pd.DataFrame:
    return fit.estimates.set_index("term")


def _check_coefficients(a: pd.DataFrame, b: pd.DataFrame, column: str, shift: float,
                        scale: float, intercept: str | None = "(Intercept)") -> None:
    """b is the fit on ``column * scale + shift``: slopes and SEs transform as they must."""
    np.testing.assert_allclose(b.at[column, "estimate"], a.at[column, "estimate"] / scale,
                               rtol=1e-6)
    np.testing.assert_allclose(b.at[column, "std_error"], a.at[column, "std_error"] / scale,
                               rtol=1e-6)
    others = [t for t in a.index if t not in (column, intercept)]
    np.testing.assert_allclose(b.loc[others, "estimate"], a.loc[others, "estimate"],
                               rtol=1e-6, atol=1e-9)
    if intercept is not None:
        moved = a.at[intercept, "estimate"] - b.at[column, "estimate"] * shift
        np.testing.assert_allclose(b.at[intercept, "estimate"], moved, rtol=1e-6,
                                   atol=1e-6 * abs(b.at[column, "estimate"] * shift) + 1e-9)


def _transform(draw_scale: float | None, column: str, df: pd.DataFrame):
    if draw_scale is None:
        return transformed(df, column, shift=SHIFT), SHIFT, 1.0
    return transformed(df, column, scale=draw_scale), 0.0, draw_scale


TRANSFORMS = st.one_of(st.none(), SCALES)  # None: shift by 1e6


@SETTINGS
@given(seed=SEEDS, column=NUMERIC, how=TRANSFORMS)
def test_propensity_matching_weights_and_effects(seed: int, column: str,
                                                 how: float | None) -> None:
    df = cohort(seed)
    moved, shift, scale = _transform(how, column, df)
    a = fit_propensity(df, "treat", COVS)
    b = fit_propensity(moved, "treat", COVS)
    assert list(b.terms) == list(a.terms)  # nothing dropped as aliased
    np.testing.assert_allclose(b.ps, a.ps, rtol=1e-7, atol=1e-12)
    _check_coefficients(_est(a), _est(b), column, shift, scale)
    for kw in (dict(ratio=1), dict(ratio=2, caliper=0.2, caliper_scale="logit"),
               dict(ratio=1, caliper=0.1, caliper_scale="ps", replace=True)):
        ma, mb = match(df, a, **kw), match(moved, b, **kw)
        pd.testing.assert_frame_equal(ma.pairs, mb.pairs)
        np.testing.assert_allclose(mb.data["weights"], ma.data["weights"], rtol=1e-12)
        ea = estimate_effect(ma, "response").estimates
        eb = estimate_effect(mb, "response").estimates
        np.testing.assert_allclose(eb[["estimate", "std_error"]], ea[["estimate", "std_error"]],
                                   rtol=1e-9)
    for estimand in ("ATT", "ATE", "ATO"):
        wa, wb = weight(df, a, estimand=estimand), weight(moved, b, estimand=estimand)
        np.testing.assert_allclose(wb.data["weights"], wa.data["weights"], rtol=1e-6)
    sa = estimate_effect(weight(df, a, estimand="ATE"), time="time", event="event",
                         kind="survival").estimates
    sb = estimate_effect(weight(moved, b, estimand="ATE"), time="time", event="event",
                         kind="survival").estimates
    np.testing.assert_allclose(sb[["estimate", "std_error"]], sa[["estimate", "std_error"]],
                               rtol=1e-6)


@SETTINGS
@given(seed=SEEDS, column=st.sampled_from(["age", "year", "crp"]), how=TRANSFORMS,
       ties=st.sampled_from(["efron", "breslow"]))
def test_cox_covariate_units(seed: int, column: str, how: float | None, ties: str) -> None:
    df = cohort(seed)
    moved, shift, scale = _transform(how, column, df)
    covs = ["treat", "age", "year", "crp"]
    for kw in (dict(), dict(strata="site"), dict(cluster="cluster")):
        a = fit_cox(df, "time", "event", covs, ties=ties, **kw)
        b = fit_cox(moved, "time", "event", covs, ties=ties, **kw)
        _check_coefficients(_est(a), _est(b), column, shift, scale, intercept=None)
        np.testing.assert_allclose(b.loglik, a.loglik, rtol=1e-9)


@SETTINGS
@given(seed=SEEDS, scale=st.sampled_from([1 / 365.25, 1 / 24, 7.0, 1e3, 1e6]))
def test_time_units_and_day_zero(seed: int, scale: float) -> None:
    """Times in days, weeks, hours, ...: the same Cox fit and the same KM curve."""
    df = cohort(seed)
    df.iloc[:3, df.columns.get_loc("time")] = 0.0  # events (or censorings) on day 0
    moved = transformed(df, "time", scale=scale)
    a = fit_cox(df, "time", "event", ["treat", "age"])
    b = fit_cox(moved, "time", "event", ["treat", "age"])
    np.testing.assert_allclose(b.coef, a.coef, rtol=1e-9)
    ka = kaplan_meier(df, "time", "event", group="treat").table
    kb = kaplan_meier(moved, "time", "event", group="treat").table
    np.testing.assert_allclose(kb["time"], ka["time"] * scale, rtol=1e-12)
    cols = ["n_risk", "n_event", "surv", "std_err", "lower", "upper"]
    np.testing.assert_allclose(kb[cols], ka[cols], rtol=1e-12)
    tau = float(df["time"].quantile(0.8))
    ea = estimate_effect(weight(df, fit_propensity(df, "treat", ["age"]), estimand="ATE"),
                         time="time", event="event", kind="survival", tau=tau)
    eb = estimate_effect(weight(moved, fit_propensity(moved, "treat", ["age"]),
                                estimand="ATE"),
                         time="time", event="event", kind="survival", tau=tau * scale)
    assert eb.hazard_ratio == pytest.approx(ea.hazard_ratio, rel=1e-9)
    assert eb.rmst_difference == pytest.approx(ea.rmst_difference * scale, rel=1e-9)


def _real(name: str) -> pd.DataFrame:
    df = pd.read_csv(REAL / f"{name}.csv")
    return df.set_index("id") if name in ("lalonde_year", "birthwt") else df


@pytest.mark.parametrize("column,how", [("year", None), ("year", 1e-6), ("re74", 1e9),
                                        ("age", 365.25 * 86400)])
def test_real_data_propensity_and_matching(column: str, how: float | None) -> None:
    """lalonde with a calendar year: the propensity model and MatchIt-style sets keep."""
    df = _real("lalonde_year")
    covs = ["age", "educ", "race", "married", "nodegree", "re74", "re75", "year"]
    moved, shift, scale = _transform(how, column, df)
    a, b = fit_propensity(df, "treat", covs), fit_propensity(moved, "treat", covs)
    np.testing.assert_allclose(b.ps, a.ps, rtol=1e-7)
    _check_coefficients(_est(a), _est(b), column, shift, scale)
    for kw in (dict(ratio=1, caliper=0.2), dict(ratio=3, replace=True)):
        pd.testing.assert_frame_equal(match(moved, b, **kw).pairs, match(df, a, **kw).pairs)
    for estimand in ("ATT", "ATE", "ATO"):
        np.testing.assert_allclose(weight(moved, b, estimand=estimand).data["weights"],
                                   weight(df, a, estimand=estimand).data["weights"], rtol=1e-6)


@pytest.mark.parametrize("column,how", [("bili", 1e-3), ("bili", 1e-6), ("age", None),
                                        ("albumin", 1e9)])
def test_real_data_cox_units(column: str, how: float | None) -> None:
    """pbc: bilirubin in g/dL or ng/dL, age shifted, albumin in tiny units: coxph's fit."""
    df = _real("pbc")
    moved, shift, scale = _transform(how, column, df)
    covs = ["bili", "age", "albumin", "edema"]
    a = fit_cox(df, "time", "event", covs)
    b = fit_cox(moved, "time", "event", covs)
    _check_coefficients(_est(a), _est(b), column, shift, scale, intercept=None)


@pytest.mark.parametrize("column,how", [("year", None), ("re75", 1e-6), ("age", 1e9)])
def test_real_data_effects(column: str, how: float | None) -> None:
    """lalonde: effects on earnings (continuous) and on any earnings (binary) keep."""
    df = _real("lalonde_year").assign(employed=lambda d: (d["re78"] > 0).astype(int))
    covs = ["age", "educ", "race", "married", "nodegree", "re74", "re75", "year"]
    moved = _transform(how, column, df)[0]
    a, b = fit_propensity(df, "treat", covs), fit_propensity(moved, "treat", covs)
    for sa, sb in ((match(df, a, ratio=2, caliper=0.2), match(moved, b, ratio=2, caliper=0.2)),
                   (weight(df, a, estimand="ATT"), weight(moved, b, estimand="ATT"))):
        for outcome, kind in (("re78", "continuous"), ("employed", "binary")):
            ea = estimate_effect(sa, outcome, kind=kind).estimates
            eb = estimate_effect(sb, outcome, kind=kind).estimates
            np.testing.assert_allclose(eb[["estimate", "std_error"]],
                                       ea[["estimate", "std_error"]], rtol=1e-6)


@pytest.mark.parametrize("scale", [1 / 365.25, 24.0, 1e6])
def test_real_data_km_and_cox_time_units(scale: float) -> None:
    """veteran with two deaths on day 0, in years, hours or microdays: survfit's curve."""
    df = _real("veteran")
    moved = transformed(df, "time0", scale=scale)
    ka = kaplan_meier(df, "time0", "status", group="trt").table
    kb = kaplan_meier(moved, "time0", "status", group="trt").table
    np.testing.assert_allclose(kb["time"], ka["time"] * scale, rtol=1e-12)
    np.testing.assert_allclose(kb[["surv", "lower", "upper"]], ka[["surv", "lower", "upper"]],
                               rtol=1e-12)
    covs = ["trt", "karno", "squamous", "smallcell", "adeno"]
    np.testing.assert_allclose(fit_cox(moved, "time0", "status", covs).coef,
                               fit_cox(df, "time0", "status", covs).coef, rtol=1e-9)
