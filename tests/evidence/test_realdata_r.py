"""Differential tests against R on public real data (issue 14).

References: tests/reference/evidence/realdata/make_realdata.R (R 4.2, MatchIt 4.7.2,
survival 3.x); data sets MatchIt::lalonde with a calendar year, MASS::birthwt, survival::pbc,
colon, veteran (a day-0 death), lung.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regmed.evidence import fit_cox, fit_propensity, kaplan_meier, match

REF = Path(__file__).parents[1] / "reference" / "evidence" / "realdata"
R = json.loads((REF / "realdata.json").read_text())
PS_COVS = {
    "lalonde": ["age", "educ", "race", "married", "nodegree", "re74", "re75", "year"],
    "birthwt": ["age_days", "lwt", "race", "ptl", "ht", "ui", "year"],
}
PS_TREAT = {"lalonde": "treat", "birthwt": "smoke"}


def load(name: str) -> pd.DataFrame:
    df = pd.read_csv(REF / f"{name}.csv")
    if "id" in df.columns and name in ("lalonde_year", "birthwt"):
        df = df.set_index("id")
    return df


def f(values: list) -> np.ndarray:
    return np.array([float(v) for v in values])


@pytest.mark.parametrize("ds", ["lalonde", "birthwt"])
def test_propensity_with_year_and_factor_is_glm(ds: str) -> None:
    ref = R["propensity"][ds]
    df = load("lalonde_year" if ds == "lalonde" else "birthwt")
    if ds == "birthwt":
        df["race"] = pd.Categorical(df["race"], categories=["white", "black", "other"])
    fit = fit_propensity(df, PS_TREAT[ds], PS_COVS[ds])
    assert not fit.warnings or not any("singular" in w for w in fit.warnings)
    assert list(fit.terms) == ref["term"]
    np.testing.assert_allclose(fit.estimates["estimate"], f(ref["estimate"]), rtol=1e-8)
    np.testing.assert_allclose(fit.estimates["std_error"], f(ref["std_error"]), rtol=1e-7)
    np.testing.assert_allclose(fit.ps, f(ref["fitted"]), rtol=1e-9)
    assert fit.deviance == pytest.approx(f(ref["deviance"])[0], rel=1e-10)


@pytest.mark.parametrize("name", sorted(R["matching"]))
def test_matched_sets_with_year_are_matchits(name: str) -> None:
    case = R["matching"][name]
    args = case["args"]
    df = load("lalonde_year")
    fit = fit_propensity(df, "treat", PS_COVS["lalonde"])
    m = match(df, fit, ratio=args.get("ratio", 1), caliper=args.get("caliper"),
              caliper_scale="logit" if args.get("link") == "linear.logit" else "ps",
              replace=args.get("replace", False))
    ours = {tid: list(g.sort_values("rank")["control_id"])
            for tid, g in m.pairs.groupby("treated_id", sort=False)}
    theirs = {s["treated"]: s["controls"] if isinstance(s["controls"], list) else [s["controls"]]
              for s in case["sets"]}
    assert ours == theirs
    w = pd.Series(case["weights"])
    np.testing.assert_allclose(m.matched.loc[w.index, "weights"], w, rtol=1e-10)


COX = {c["name"]: c for c in R["cox"]}


@pytest.mark.parametrize("name", sorted(COX))
def test_cox_on_real_data_is_coxph(name: str) -> None:
    """Large/small units (pbc bilirubin in g/dL: 135.3, SE 13.7), strata, clusters, day-0 deaths."""
    c = COX[name]
    df = load(c["data"])
    fit = fit_cox(df, c["time"], c["event"], c["covariates"], strata=c["strata"],
                  cluster=c["cluster"], ties=c["ties"])
    np.testing.assert_allclose(fit.coef, f(c["coef"]), rtol=1e-7)
    np.testing.assert_allclose(fit.estimates["std_error"], f(c["se"]), rtol=1e-6)
    np.testing.assert_allclose(fit.loglik, f(c["loglik"]), rtol=1e-10)


def test_pbc_bilirubin_in_g_per_dl_is_fitted() -> None:
    c = COX["pbc_bili_g"]
    fit = fit_cox(load("pbc"), "time", "event", c["covariates"])
    assert fit.coef["bili_g"] == pytest.approx(135.3, abs=0.05)
    assert fit.estimates["std_error"][0] == pytest.approx(13.7, abs=0.05)


KM = {k["name"]: k for k in R["km"]}


@pytest.mark.parametrize("name", sorted(KM))
def test_km_at_several_times_is_survfit(name: str) -> None:
    k = KM[name]
    km = kaplan_meier(load(k["data"]), k["time"], k["event"], group=k["group"])
    at = km.survival_at(k["times"])
    at = at[np.isfinite(at["surv"])]
    assert [str(g) for g in at["group"]] == k["strata"]
    np.testing.assert_allclose(at["time"], f(k["at"]))
    np.testing.assert_allclose(at["surv"], f(k["surv"]), rtol=1e-10)
    np.testing.assert_allclose(at["lower"], f(k["lower"]), rtol=1e-9)
    np.testing.assert_allclose(at["upper"], f(k["upper"]), rtol=1e-9)


def test_survival_effect_accepts_time_zero() -> None:
    """estimate_effect(kind="survival") on veteran with two deaths on day 0 (coxph fits it)."""
    from regmed.evidence import estimate_effect, fit_propensity, weight

    vet = load("veteran").assign(treat=lambda d: d["trt"] - 1).set_index("id")
    ps = fit_propensity(vet, "treat", ["karno", "age", "prior"])
    eff = estimate_effect(weight(vet, ps, estimand="ATE"), time="time0", event="status",
                          kind="survival")
    assert np.isfinite(eff.estimates["estimate"]).all()
