"""Plan methods against R (tests/reference/evidence/methods/make_reference.R).

MatchIt 4.7.2 ``method = "exact"`` and ``method = "subclass"`` (subclasses, weights, cut
points), effects after them with ``lm``/``glm`` + ``sandwich::vcovHC(type = "HC0")`` and
``coxph(robust = TRUE)``; weighting effects against the same and ``survey::svyglm``; the
confidence level in every interval; g-computation by hand (glm + HC0 + delta method); single-arm
``binom.test``, ``t.test`` and ``survfit`` medians.

Tolerance: 1e-6 relative (1e-10 absolute for values near 0) on every estimate, SE and bound.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from regmed.errors import DataError
from regmed.evidence import (
    Effect,
    SingleArm,
    Subclassification,
    SurvivalEffect,
    balance,
    estimate_effect,
    gcomputation,
    judge,
    match_exact,
    single_arm,
    stratify,
    weight,
)

BASE = Path(__file__).parents[1] / "reference" / "evidence" / "methods"
REF = json.loads((BASE / "expected.json").read_text())
RTOL, ATOL = 1e-6, 1e-10
QUANTITIES = ("estimate", "std_error", "ci_lower", "ci_upper")


def data(name: str) -> pd.DataFrame:
    return pd.read_csv(BASE / name)


def close(got: float, want: float) -> None:
    assert got == pytest.approx(want, rel=RTOL, abs=ATOL)


def check_row(table: pd.DataFrame, term: str, ref: dict[str, Any], p: bool = True) -> None:
    row = table.set_index("term").loc[term]
    for q in QUANTITIES + (("p_value",) if p and "p_value" in ref else ()):
        close(float(row[q]), ref[q])


def check_effects(sample: Subclassification | Any, outcome: str, ref: dict[str, Any],
                  level: float = 0.95) -> None:
    eff = estimate_effect(sample, outcome=outcome, kind="binary" if "log_or" in ref
                          else "continuous", confidence_level=level)
    assert isinstance(eff, Effect)
    check_row(eff.estimates, eff.measure, ref["diff"])
    if "log_or" in ref:
        check_row(eff.estimates, "log_risk_ratio", ref["log_rr"])
        check_row(eff.estimates, "log_odds_ratio", ref["log_or"])
    if "log_hr" in ref:
        surv = estimate_effect(sample, time="time", event="event", kind="survival",
                               confidence_level=level)
        assert isinstance(surv, SurvivalEffect)
        check_row(surv.estimates, "log_hazard_ratio", ref["log_hr"])


def subclass_codes(values: list[Any]) -> np.ndarray:
    return np.array([0 if v is None else v for v in values])


# --- exact matching ------------------------------------------------------------------------
@pytest.mark.parametrize("key", sorted(REF["exact"]))
def test_exact_matching_as_matchit(key: str) -> None:
    ref = REF["exact"][key]
    df = data(ref["data"])
    m = match_exact(df, treatment="treat", covariates=ref["covariates"], estimand=ref["estimand"])
    assert isinstance(m, Subclassification) and m.cluster is None
    assert m.n_subclasses == ref["n_subclasses"]
    np.testing.assert_array_equal(m.subclass.fillna(0).to_numpy(), subclass_codes(ref["subclass"]))
    np.testing.assert_allclose(m.weights_all.to_numpy(), ref["weights"], rtol=1e-12, atol=1e-12)
    matched = np.asarray(ref["weights"]) > 0
    assert m.attrition["n_treated"].iloc[1] == int((df["treat"][matched] == 1).sum())
    assert len(m.data) == int(matched.sum())
    check_effects(m, ref["outcome"], ref["effects"])


def test_exact_matching_refuses_clearly() -> None:
    df = pd.DataFrame({"t": [1, 1, 0, 0], "sex": ["f", "f", "m", "m"], "x": [1, None, 2, 3]})
    with pytest.raises(DataError) as err:
        match_exact(df, treatment="t", covariates=["sex", "x", "nope"], estimand="ATO")
    text = str(err.value) + " ".join(p.field or "" for p in err.value.problems)
    assert "estimand" in text and "nope" in text and "x" in text
    with pytest.raises(DataError, match="exactly"):
        match_exact(df, treatment="t", covariates=["sex"])


# --- stratification ------------------------------------------------------------------------
@pytest.mark.parametrize("key", sorted(REF["stratify"]))
def test_stratification_as_matchit(key: str) -> None:
    ref = REF["stratify"][key]
    df = data(ref["data"])
    s = stratify(df, df["ps"], n_subclasses=ref["n_subclasses"], estimand=ref["estimand"],
                 min_n=ref["min_n"], treatment="treat")
    np.testing.assert_allclose(s.q_cut, ref["q_cut"], rtol=1e-12)
    np.testing.assert_array_equal(s.subclass.fillna(0).to_numpy(), subclass_codes(ref["subclass"]))
    np.testing.assert_allclose(s.weights_all.to_numpy(), ref["weights"], rtol=1e-12, atol=1e-12)
    table = s.subclass_table
    assert (table[["n_treated", "n_control"]] >= max(ref["min_n"], 1)).all().all()
    check_effects(s, ref["outcome"], ref["effects"])
    bal = balance(s, covariates=["ps"])
    assert abs(bal.smd_after["ps"]) < abs(bal.smd_before["ps"])


def test_stratification_scoots_empty_subclasses() -> None:
    # the small set has no controls in the upper subclasses before MatchIt's subclass_scoot
    ref = REF["stratify"]["small_10_ATT"]
    df = data(ref["data"])
    e = df["ps"].to_numpy()
    q = np.quantile(e[df["treat"] == 1], np.linspace(0, 1, 11))
    raw = np.clip(np.searchsorted(q, e, side="right"), 1, 10)
    assert len(set(raw[df["treat"] == 0])) < 10
    s = stratify(df, df["ps"], n_subclasses=10, treatment="treat")
    assert s.n_subclasses == 10 and (s.subclass_table["n_control"] >= 1).all()


def test_stratification_refuses_clearly() -> None:
    df = pd.DataFrame({"t": [1, 0, 1, 0], "ps": [0.2, 0.3, 0.6, 0.5]})
    with pytest.raises(DataError) as err:
        stratify(df, df["ps"], n_subclasses=1, estimand="ATO", treatment="t")
    assert {p.field for p in err.value.problems} >= {"n_subclasses", "estimand"}
    with pytest.raises(DataError, match="not enough units"):
        stratify(df, df["ps"], n_subclasses=4, treatment="t")
    s = stratify(df, df["ps"], n_subclasses=3, treatment="t")  # as MatchIt: 2 with a warning
    assert s.n_subclasses == 2 and "fewer subclasses" in s.warnings[0]


# --- weighting -----------------------------------------------------------------------------
@pytest.mark.parametrize("estimand", ["ATT", "ATE", "ATO"])
def test_weighting_effects_hc0_svyglm_and_cox(estimand: str) -> None:
    ref = REF["weighting"][estimand]
    df = data("sim.csv")
    w = weight(df, df["ps"], estimand, treatment="treat")
    np.testing.assert_allclose(w.data["weights"].to_numpy(), ref["weights"], rtol=1e-12)
    check_effects(w, "y", ref["binary"])
    check_effects(w, "yc", ref["continuous"])
    # survey::svyglm: the same coefficients; its variance is the HC0 sandwich times n/(n-1)
    n = len(df)
    binary = estimate_effect(w, outcome="y", kind="binary").estimates.set_index("term")
    cont = estimate_effect(w, outcome="yc", kind="continuous").estimates.set_index("term")
    pairs = {"rd": binary.loc["risk_difference"], "log_rr": binary.loc["log_risk_ratio"],
             "log_or": binary.loc["log_odds_ratio"], "md": cont.loc["mean_difference"]}
    for name, row in pairs.items():
        sv = ref["svyglm"][name]
        close(float(row["estimate"]), sv["estimate"])
        close(float(row["std_error"]) * math.sqrt(n / (n - 1)), sv["std_error"])


# --- confidence levels ---------------------------------------------------------------------
@pytest.mark.parametrize("level", ["0.80", "0.90", "0.95"])
def test_confidence_level_in_every_interval(level: str) -> None:
    ref = REF["levels"][level]
    df = data("sim.csv")
    w = weight(df, df["ps"], "ATT", treatment="treat")
    check_effects(w, "y", ref["binary"], level=ref["level"])
    check_effects(w, "yc", ref["continuous"], level=ref["level"])
    surv = estimate_effect(w, time="time", event="event", kind="survival",
                           confidence_level=ref["level"])
    assert isinstance(surv, SurvivalEffect)
    close(surv.tau, ref["rmst"]["tau"])
    check_row(surv.estimates, "rmst_difference", ref["rmst"], p=False)
    eff = estimate_effect(w, outcome="y", confidence_level=ref["level"])
    assert eff.options["confidence_level"] == ref["level"]


def test_confidence_level_alias_conflict() -> None:
    df = data("sim.csv")
    w = weight(df, df["ps"], "ATT", treatment="treat")
    a = estimate_effect(w, outcome="y", conf_level=0.8)
    b = estimate_effect(w, outcome="y", confidence_level=0.8)
    assert a.risk_difference_ci == b.risk_difference_ci
    with pytest.raises(DataError, match="confidence_level"):
        estimate_effect(w, outcome="y", confidence_level=0.8, conf_level=0.9)


# --- g-computation -------------------------------------------------------------------------
TERMS = {"difference": ("risk_difference", "mean_difference"), "log_ratio": ("log_risk_ratio",),
         "log_odds_ratio": ("log_odds_ratio",)}
SIM_COVS = ["x1", "x2", "bin", "grp"]


@pytest.mark.parametrize("key", sorted(k for k in REF["gcomputation"] if "survival" not in k))
def test_gcomputation_as_delta_method_in_r(key: str) -> None:
    ref = REF["gcomputation"][key]
    df = data("sim.csv")
    eff = gcomputation(df, treatment="treat", outcome="y" if ref["kind"] == "binary" else "yc",
                       covariates=SIM_COVS, kind=ref["kind"], estimand=ref["estimand"],
                       confidence_level=ref["level"],
                       ps=df["ps"] if ref["adjust"] == "ps" else None)
    assert isinstance(eff, Effect)
    terms = set(eff.estimates["term"])
    for name, r in ref["result"].items():
        (term,) = [t for t in TERMS[name] if t in terms]
        check_row(eff.estimates, term, r)
        # R's forward-difference jacobian (as marginaleffects) agrees to ~1e-6
        assert float(eff.estimates.set_index("term").loc[term, "std_error"]) == pytest.approx(
            r["std_error_numeric"], rel=1e-4)
        close(eff.risk_treated, r["risk_treated"])
        close(eff.risk_control, r["risk_control"])
    assert eff.options["method"] == ("propensity_covariate" if ref["adjust"] == "ps"
                                     else "covariate_adjustment")


@pytest.mark.parametrize("level", ["0.80", "0.95"])
def test_gcomputation_survival_is_adjusted_cox(level: str) -> None:
    ref = REF["gcomputation"][f"cov_survival_{level}"]
    df = data("sim.csv")
    eff = gcomputation(df, treatment="treat", time="time", event="event", covariates=SIM_COVS,
                       kind="survival", confidence_level=ref["level"])
    assert isinstance(eff, SurvivalEffect)
    check_row(eff.estimates, "log_hazard_ratio", ref["result"], p=False)
    assert math.isnan(eff.rmst_difference)


def test_gcomputation_missing_outcome_and_errors() -> None:
    df = data("sim.csv")
    df.loc[df.index[:5], "yc"] = np.nan
    eff = gcomputation(df, treatment="treat", outcome="yc", covariates=SIM_COVS,
                       kind="continuous", estimand="ATE")
    assert eff.n_missing_outcome == 5 and eff.n_treated + eff.n_control == len(df) - 5
    with pytest.raises(DataError) as err:
        gcomputation(df, treatment="treat", outcome="yc", covariates=["x1", "nope"],
                     kind="continuous", estimand="ATO", confidence_level=1.5)
    fields = {p.field for p in err.value.problems}
    assert {"nope", "estimand", "confidence_level"} <= fields


# --- single arm ----------------------------------------------------------------------------
@pytest.mark.parametrize("level", ["0.80", "0.90", "0.95"])
def test_single_arm_as_r(level: str) -> None:
    ref = REF["single_arm"][level]
    arm = data("sim.csv").query("treat == 1")
    lev = ref["level"]
    p = single_arm(arm, outcome="y", measure="proportion", confidence_level=lev,
                   null_value=ref["proportion"]["null"])
    assert isinstance(p, SingleArm) and p.n == ref["proportion"]["n"]
    for got, want in zip((p.estimate, *p.ci, p.p_value),
                         [ref["proportion"][k] for k in ("estimate", "ci_lower", "ci_upper",
                                                         "p_value")], strict=True):
        close(got, want)
    m = single_arm(arm, outcome="yc", measure="mean", confidence_level=lev,
                   null_value=ref["mean"]["null"])
    check_row(m.estimates, "mean", ref["mean"])
    s = single_arm(arm, time="time", event="event", measure="median_survival",
                   confidence_level=lev)
    for got, want in zip((s.estimate, *s.ci), [ref["median_survival"][k] for k in
                                               ("estimate", "ci_lower", "ci_upper")], strict=True):
        close(got, want)
    verdict = judge(p, {"measure": "proportion", "threshold": 0.3, "direction": "greater"})
    assert verdict is not None


def test_single_arm_binom_edge_cases_and_errors() -> None:
    r = single_arm(pd.DataFrame({"y": [0, 0, 0, 0]}), outcome="y")
    assert r.ci[0] == 0.0 and r.ci[1] == pytest.approx(1 - 0.025 ** 0.25, rel=1e-12)
    with pytest.raises(DataError) as err:
        single_arm(pd.DataFrame({"y": [0, 2]}), outcome="y", measure="proportion")
    assert err.value.problems[0].field == "y"
    with pytest.raises(DataError) as err:
        single_arm(pd.DataFrame({"y": [1]}), measure="median_survival")
    assert err.value.problems


def test_single_arm_median_with_unreached_upper_limit() -> None:
    ref = REF["single_arm"]["censored"]["median_survival"]
    s = single_arm(data("single_censored.csv"), time="time", event="event",
                   measure="median_survival")
    close(s.estimate, ref["estimate"])
    close(s.ci[0], ref["ci_lower"])
    assert ref["ci_upper"] is None and math.isnan(s.ci[1])
