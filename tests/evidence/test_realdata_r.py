"""Differential tests against R on public real data (issue 14).

References: tests/reference/evidence/realdata/make_realdata.R and make_realdata_more.R
(R 4.2, MatchIt 4.7.2, survival 3.x); data sets MatchIt::lalonde with a calendar year,
MASS::birthwt, survival::pbc, colon, veteran (a day-0 death), lung, and survival::rotterdam
(a real year of surgery, tumour size as a 3-level factor, receptors in fmol/l), colon with
both event types clustered by patient, lung (Breslow), veteran (cell type as a 4-level
factor, strata), birthwt matching. Factors are pandas categoricals in R's level order.
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
R2 = json.loads((REF / "realdata_more.json").read_text())
PS_COVS = {
    "lalonde": ["age", "educ", "race", "married", "nodegree", "re74", "re75", "year"],
    "birthwt": ["age_days", "lwt", "race", "ptl", "ht", "ui", "year"],
    "rotterdam": ["age", "meno", "size", "grade", "nodes", "pgr", "er", "chemo", "year"],
}
PS_TREAT = {"lalonde": "treat", "birthwt": "smoke", "rotterdam": "hormon"}
LEVELS = {"size": ["<=20", "20-50", ">50"], "race": ["white", "black", "other"]}


def load(name: str, levels: dict | None = None) -> pd.DataFrame:
    df = pd.read_csv(REF / f"{name}.csv")
    if "id" in df.columns and name in ("lalonde_year", "birthwt", "rotterdam"):
        df = df.set_index("id")
    if name in ("birthwt", "rotterdam") or levels:
        for col, lev in {**LEVELS, **(levels or {})}.items():
            if col in df.columns:
                df[col] = pd.Categorical(df[col], categories=lev)
    return df


def f(values: list) -> np.ndarray:
    return np.array([float(v) for v in values])


@pytest.mark.parametrize("ds", ["lalonde", "birthwt"])
def test_propensity_with_year_and_factor_is_glm(ds: str) -> None:
    ref = R["propensity"][ds]
    df = load("lalonde_year" if ds == "lalonde" else "birthwt")
    fit = fit_propensity(df, PS_TREAT[ds], PS_COVS[ds])
    assert not fit.warnings or not any("singular" in w for w in fit.warnings)
    assert list(fit.terms) == ref["term"]
    np.testing.assert_allclose(fit.estimates["estimate"], f(ref["estimate"]), rtol=1e-8)
    np.testing.assert_allclose(fit.estimates["std_error"], f(ref["std_error"]), rtol=1e-7)
    np.testing.assert_allclose(fit.ps, f(ref["fitted"]), rtol=1e-9)
    assert fit.deviance == pytest.approx(f(ref["deviance"])[0], rel=1e-10)


MATCHES = {f"lalonde-{name}": {"data": "lalonde", **case}
           for name, case in R["matching"].items()}
for _c in R2["matching"]:
    _a = _c["args"]
    MATCHES[f"{_c['data']}-r{_a.get('ratio', 1)}{'-replace' if _a.get('replace') else ''}"
            f"-cal{_a.get('caliper', 'none')}-{'logit' if _a.get('link') else 'ps'}"
            f"-{_a.get('m.order', 'largest')}"] = _c


@pytest.mark.parametrize("name", sorted(MATCHES))
def test_matched_sets_with_year_are_matchits(name: str) -> None:
    case = MATCHES[name]
    args = case["args"]
    df = load({"lalonde": "lalonde_year"}.get(case["data"], case["data"]))
    fit = fit_propensity(df, PS_TREAT[case["data"]], PS_COVS[case["data"]])
    m = match(df, fit, ratio=args.get("ratio", 1), caliper=args.get("caliper"),
              caliper_scale="logit" if args.get("link") == "linear.logit" else "ps",
              replace=args.get("replace", False), order=args.get("m.order", "largest"))
    ours = {tid: list(g.sort_values("rank")["control_id"])
            for tid, g in m.pairs.groupby("treated_id", sort=False)}
    theirs = {s["treated"]: s["controls"] if isinstance(s["controls"], list) else [s["controls"]]
              for s in case["sets"]}
    assert ours == theirs
    w = pd.Series(case["weights"])
    np.testing.assert_allclose(m.matched.loc[w.index, "weights"], w, rtol=1e-10)


COX = {c["name"]: c for c in R["cox"] + R2["cox"]}


@pytest.mark.parametrize("name", sorted(COX))
def test_cox_on_real_data_is_coxph(name: str) -> None:
    """Large/small units (pbc bilirubin in g/dL: 135.3, SE 13.7), strata, clusters, day-0
    deaths, factors, a year of surgery, both tie methods."""
    c = COX[name]
    df = load(c["data"], c.get("levels"))
    fit = fit_cox(df, c["time"], c["event"], c["covariates"], strata=c["strata"],
                  cluster=c["cluster"], ties=c["ties"])
    assert list(fit.coef.index) == c.get("term", c["covariates"])
    np.testing.assert_allclose(fit.coef, f(c["coef"]), rtol=1e-7)
    np.testing.assert_allclose(fit.estimates["std_error"], f(c["se"]), rtol=1e-6)
    np.testing.assert_allclose(fit.loglik, f(c["loglik"]), rtol=1e-10)


def test_pbc_bilirubin_in_g_per_dl_is_fitted() -> None:
    c = COX["pbc_bili_g"]
    fit = fit_cox(load("pbc"), "time", "event", c["covariates"])
    assert fit.coef["bili_g"] == pytest.approx(135.3, abs=0.05)
    assert fit.estimates["std_error"][0] == pytest.approx(13.7, abs=0.05)


KM = {k["name"]: k for k in R["km"] + R2["km"]}


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


def test_propensity_with_real_year_and_factor_is_glm() -> None:
    """rotterdam: hormonal therapy on the year of surgery and tumour size (3 levels)."""
    ref = R2["propensity"]["rotterdam"]
    assert ref["levels"]["size"] == LEVELS["size"]
    fit = fit_propensity(load("rotterdam"), "hormon", PS_COVS["rotterdam"])
    assert list(fit.terms) == ref["term"]
    np.testing.assert_allclose(fit.estimates["estimate"], f(ref["estimate"]), rtol=1e-8)
    np.testing.assert_allclose(fit.estimates["std_error"], f(ref["std_error"]), rtol=1e-7)
    np.testing.assert_allclose(fit.ps, f(ref["fitted"]), rtol=1e-9)
    assert fit.deviance == pytest.approx(f(ref["deviance"])[0], rel=1e-10)


def test_survival_effect_accepts_time_zero() -> None:
    """estimate_effect(kind="survival") on veteran with two deaths on day 0 (coxph fits it)."""
    from regmed.evidence import estimate_effect, fit_propensity, weight

    vet = load("veteran").assign(treat=lambda d: d["trt"] - 1).set_index("id")
    ps = fit_propensity(vet, "treat", ["karno", "age", "prior"])
    eff = estimate_effect(weight(vet, ps, estimand="ATE"), time="time0", event="status",
                          kind="survival")
    assert np.isfinite(eff.estimates["estimate"]).all()
