"""The planted truths show in the generated registry data.

Each check derives the endpoint from the import tables only (central assessor, visit windows)
and compares it with the planted value, with a tolerance of about four standard errors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from demo_derive import KEY, ais_response, lot_potency_z, lvef_response

from regmed.demo import DemoData, generate

LARGE = {"n_treated": 2000, "n_concurrent": 2000, "n_historical": 0, "n_sites": 6}


def _se(p: float, n: int) -> float:
    return float(np.sqrt(p * (1 - p) / n))


def _adjusted_fit(df: pd.DataFrame) -> sm.regression.linear_model.RegressionResults:
    """Logistic regression on the generator's own covariates (a correctly specified model)."""
    x = pd.DataFrame({
        "treated": df["treated"],
        "potency_z": df["potency_z"].fillna(0.0),
        "grade_B": (df["grade49"] == "B").astype(float),
        "grade_C": (df["grade49"] == "C").astype(float),
        "age": df["age"].astype(float),
        "motor": df["baseline_motor_score"],
        "days": df["days_from_injury"],
        "level": df["level"],
    })
    return sm.Logit(df["response"], sm.add_constant(x)).fit(disp=0)


def _with_potency(demo: DemoData) -> pd.DataFrame:
    df = ais_response(demo.tables)
    std = demo.truth["potency_standardization"]
    df["potency_z"] = lot_potency_z(demo.tables, std["log_mean"], std["log_sd"])
    return df


@pytest.fixture(scope="module")
def controls() -> DemoData:
    return generate("sci", seed=101, n_treated=0, n_concurrent=3000, n_historical=3000)


@pytest.fixture(scope="module")
def planted() -> DemoData:
    return generate("sci", seed=202, **LARGE)


@pytest.fixture(scope="module")
def null() -> DemoData:
    return generate("sci", seed=303, effect=0.0, potency_effect=0.0, **LARGE)


def test_derived_response_is_the_planted_response(planted: DemoData) -> None:
    df = ais_response(planted.tables)
    truth = planted.truth["patients"].set_index(KEY)
    assert len(df) > 0.85 * len(truth)
    assert (df["response"] == truth.loc[df.index, "response"].astype(float)).all()
    # and patients without an in-window pair are the ones the truth marks
    complete = truth["day49_in_window"] & truth["day180_in_window"]
    assert set(df.index) == set(truth.index[complete])


def test_control_recovery_follows_natural_history(controls: DemoData) -> None:
    df = ais_response(controls.tables)
    conc = df[df["cohort"] == "concurrent_control"]
    for grade, rate in {"A": 0.08, "B": 0.60, "C": 0.60}.items():
        sub = conc.loc[conc["grade49"] == grade, "response"]
        assert abs(sub.mean() - rate) < 4 * _se(rate, len(sub)), (grade, sub.mean(), len(sub))
    bc = conc.loc[conc["grade49"] != "A", "response"]
    assert abs(bc.mean() - 0.60) < 4 * _se(0.6, len(bc))


def test_historical_controls_recover_less(controls: DemoData) -> None:
    df = ais_response(controls.tables)
    df = df[df["grade49"] != "A"]
    hist = df.loc[df["cohort"] == "historical_control", "response"]
    conc = df.loc[df["cohort"] == "concurrent_control", "response"]
    # era_effect -0.3 on the log-odds at 60% is about -7 points
    diff = conc.mean() - hist.mean()
    se = np.hypot(_se(0.6, len(conc)), _se(0.53, len(hist)))
    assert abs(diff - 0.072) < 4 * se and diff > 0, diff
    assert controls.truth["rate_historical_control"] < controls.truth["rate_concurrent_control"]


def test_adjusted_effect_and_potency_link_are_recovered(planted: DemoData) -> None:
    df = _with_potency(planted)
    fit = _adjusted_fit(df)
    truth = planted.truth
    for term, true in {"treated": truth["effect"], "potency_z": truth["potency_effect"]}.items():
        est, se = fit.params[term], fit.bse[term]
        assert abs(est - true) < 4 * se, (term, est, se)
    assert fit.params["potency_z"] - 2 * fit.bse["potency_z"] > 0
    treated = df[df["treated"] == 1]
    top = treated["potency_z"] > treated["potency_z"].median()
    assert treated.loc[top, "response"].mean() > treated.loc[~top, "response"].mean()
    # the crude treated rate matches the planted probabilities (of the observed patients)
    p1 = planted.truth["patients"].set_index(KEY).loc[treated.index, "p_treated"]
    assert abs(treated["response"].mean() - p1.mean()) < 4 * _se(p1.mean(), len(p1))


def test_no_effect_means_no_adjusted_difference_but_a_crude_one(null: DemoData) -> None:
    df = _with_potency(null)
    crude = df.loc[df.treated == 1, "response"].mean() - df.loc[df.treated == 0, "response"].mean()
    se = np.hypot(_se(0.5, (df.treated == 1).sum()), _se(0.4, (df.treated == 0).sum()))
    assert crude > 4 * se, crude  # confounding: treated have the better prognosis
    fit = _adjusted_fit(df)
    for term in ("treated", "potency_z"):
        assert abs(fit.params[term]) < 4 * fit.bse[term], (term, fit.params[term])
    assert abs(null.truth["att_risk_difference"]) < 0.01


def test_effect_raises_the_rate_by_a_clear_margin(planted: DemoData) -> None:
    truth = planted.truth
    assert 0.2 < truth["att_risk_difference"] < 0.32
    assert 0.2 < truth["att_risk_difference_population"] < 0.32
    assert truth["rate_treated"] - truth["rate_treated_untreated"] == pytest.approx(
        truth["att_risk_difference"])


def test_physician_scores_are_slightly_optimistic(planted: DemoData) -> None:
    a = planted.tables["assessments"]
    a = a[a["visit"] == "day180"].merge(planted.tables["enrollments"][[*KEY, "cohort"]], on=KEY)
    wide = a.pivot_table(index=[*KEY, "cohort"], columns="assessor_role", values="value_text",
                         aggfunc="first").dropna().reset_index()
    up = wide["treating_physician"].map("ABCDE".index) - wide["blinded_central"].map(
        "ABCDE".index)
    assert (up >= 0).all()
    treated = up[wide["cohort"] == "treated"]
    capped = wide.loc[wide["cohort"] == "treated", "blinded_central"] == "E"
    rate = (treated[~capped] > 0).mean()
    assert abs(rate - 0.2) < 4 * _se(0.2, int((~capped).sum()))
    assert (up[wide["cohort"] != "treated"] > 0).mean() < rate


def test_heart_failure_lvef_model_matches_its_truth() -> None:
    demo = generate("heart_failure_shortfall", seed=7, n_treated=1500, n_control=1500)
    df = lvef_response(demo.tables)
    truth = demo.truth["patients"].set_index(KEY)
    control = df.loc[df["treated"] == 0, "response"]
    treated = df.loc[df["treated"] == 1, "response"]
    assert abs(control.mean() - 0.40) < 4 * _se(0.4, len(control))
    p1 = truth.loc[treated.index, "p_treated"].mean()
    assert abs(treated.mean() - p1) < 4 * _se(p1, len(treated))
    assert (df["response"] == truth.loc[df.index, "response"].astype(float)).all()
    assert 0.08 < demo.truth["att_risk_difference"] < 0.15


def test_normal_cdf_used_for_the_lvef_truth_matches_scipy() -> None:
    from scipy.stats import norm

    from regmed.demo._common import norm_cdf

    x = np.linspace(-8, 8, 1601)
    np.testing.assert_allclose(norm_cdf(x), norm.cdf(x), rtol=0, atol=1e-7)
