"""pool() and analyze_imputed() against mice::pool (tests/reference/evaluate/mi/make_reference.R).

R's mice 3.15 made the m = 5 imputed data sets (imputed_long.csv); R fitted the models on
them and pooled with mice::pool; regmed fits the same models on the same sets and pools.
Tolerances: 1e-8 absolute on the estimate, SE (sqrt t), CI, ubar, b, t, riv, lambda and fmi;
1e-8 relative on the Barnard-Rubin df (it reaches thousands when b is small). Largest
differences seen: 3e-14 on estimates, SEs and fmi, 9e-12 on CI bounds, 2e-13 relative on df.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regmed.errors import DataError
from regmed.evidence import (
    analyze_imputed,
    estimate_effect,
    fit_glm,
    fit_propensity,
    match,
    pool,
    weight,
)
from regmed.evidence.pooling import barnard_rubin_df

MI = Path(__file__).parents[1] / "reference" / "evaluate" / "mi"
REF = json.loads((MI / "expected.json").read_text())
ATOL = 1e-8
DF_RTOL = 1e-8


class _Sets:
    """R's imputed data sets in the shape analyze_imputed takes (an ImputedData's datasets)."""

    def __init__(self, sets):
        self.datasets = tuple(sets)


@pytest.fixture(scope="module")
def r_sets():
    long = pd.read_csv(MI / "imputed_long.csv")
    return [g.drop(columns=[".imp", ".id"]).set_index("id") for _, g in long.groupby(".imp")]


def _fit(data: pd.DataFrame, covs: list[str], outcome: str, family: str):
    x = np.column_stack([np.ones(len(data))] + [data[c].to_numpy(float) for c in covs])
    fit = fit_glm(x, data[outcome].to_numpy(float), np.ones(len(data)), family, None)
    table = pd.DataFrame({"term": ["(Intercept)", *covs], "estimate": fit.coef,
                          "std_error": np.sqrt(np.diag(fit.vcov))})
    return table, fit


def _compare(pooled, ref: pd.DataFrame, terms=None, ref_terms=None) -> None:
    ref = ref.set_index("term")
    for mine, theirs in zip(terms or list(ref.index), ref_terms or list(ref.index), strict=True):
        comp = pooled.pooling.set_index("term").loc[mine]
        est = pooled.estimates.set_index("term").loc[mine]
        r = ref.loc[theirs]
        for name in ("estimate", "ubar", "b", "t", "riv", "lambda", "fmi"):
            assert comp[name] == pytest.approx(r[name], abs=ATOL), (mine, name)
        assert comp["dfcom"] == r["dfcom"]
        assert comp["df"] == pytest.approx(r["df"], rel=DF_RTOL), mine
        for name in ("std_error", "ci_lower", "ci_upper", "statistic", "p_value"):
            assert est[name] == pytest.approx(r[name], abs=ATOL * max(1, abs(r[name]))), name


@pytest.mark.parametrize("level,key", [(0.95, "conf_095"), (0.80, "conf_080")])
@pytest.mark.parametrize("case,covs,outcome,family", [
    ("pool_lm", ["treat", "x1", "x2", "x3"], "y", "gaussian"),
    ("pool_glm", ["treat", "x1", "x2"], "ybin", "binomial_logit"),
])
def test_pool_matches_mice_on_regmed_fits(r_sets, case, covs, outcome, family, level, key):
    fits = [_fit(s, covs, outcome, family) for s in r_sets]
    pooled = pool([f[0] for f in fits], dfcom=fits[0][1].df_residual, confidence_level=level)
    _compare(pooled, pd.DataFrame(REF[case][key]))
    assert pooled.m == 5 and pooled.confidence_level == level


def test_pool_takes_dfcom_from_the_fit_as_get_dfcom(r_sets):
    """A result with df_residual (as glance()$df.residual) sets dfcom without being told."""
    fits = [_fit(s, ["treat", "x1", "x2", "x3"], "y", "gaussian") for s in r_sets]

    class Fit:
        def __init__(self, table, df):
            self.estimates, self.df_residual = table, df

    pooled = pool([Fit(t, f.df_residual) for t, f in fits])
    _compare(pooled, pd.DataFrame(REF["pool_lm"]["conf_095"]))


def test_pool_on_r_numbers_is_rubins_rules():
    """Pooling R's own per-fit estimates and SEs gives pool()'s numbers to rounding."""
    fits = [pd.DataFrame(f) for f in REF["pool_lm"]["fits"]]
    pooled = pool(fits, dfcom=REF["pool_lm"]["conf_095"][0]["dfcom"])
    _compare(pooled, pd.DataFrame(REF["pool_lm"]["conf_095"]))
    assert len(pooled.per_imputation) == 5 * 5


@pytest.mark.parametrize("scenario", list(REF["matchthem"]))
@pytest.mark.parametrize("kind,terms", [
    ("continuous", ["mean_difference"]),
    ("binary", ["risk_difference", "log_odds_ratio", "log_risk_ratio"]),
])
def test_analyze_imputed_matches_matchthem_by_hand(r_sets, scenario, kind, terms):
    case = REF["matchthem"][scenario]
    opt = case["options"]

    def analysis(data):
        ps = fit_propensity(data, "treat", ["x1", "x2", "x3"])
        m = match(data, ps, ratio=opt["ratio"], caliper=opt["caliper"],
                  caliper_scale=opt["caliper_scale"])
        return estimate_effect(m, "y" if kind == "continuous" else "ybin", kind=kind)

    pooled = analyze_imputed(_Sets(r_sets), analysis=analysis)
    assert [f.n_treated + f.n_control for f in pooled.fits] == case["n_matched"]
    for term in terms:
        ref = pd.DataFrame(case[term])
        _compare(pooled, ref[ref["term"] == "treat"], [term], ["treat"])
    assert pooled.options["analysis"].endswith("analysis")


def test_barnard_rubin_limits():
    # infinite complete-data df: the old Rubin df; no between variance: lambda floored at 1e-4
    assert barnard_rubin_df(5, 0.2, 1.0, math.inf) == pytest.approx(4 / 0.24**2)
    assert barnard_rubin_df(5, 0.0, 1.0, math.inf) == pytest.approx(4 / 1e-8)
    nu = barnard_rubin_df(5, 0.2, 1.0, 50.0)
    assert nu < 50 and nu < 4 / 0.24**2


def test_fmi_and_row_lookup():
    fits = [pd.DataFrame({"term": ["a", "b"], "estimate": [e, 2 * e], "std_error": [1.0, 1.0]})
            for e in (0.0, 1.0, 2.0)]
    p = pool(fits, dfcom=20)
    assert p.fmi("b") > p.fmi("a") > 0
    assert p.row("a")["estimate"] == pytest.approx(1.0)
    with pytest.raises(DataError, match="no term 'c'"):
        p.row("c")
    assert "fmi" in p.to_dict()["estimates"][0]


def test_pool_refuses_with_every_problem_listed():
    good = pd.DataFrame({"term": ["a"], "estimate": [1.0], "std_error": [0.1]})
    with pytest.raises(DataError) as err:
        pool([good], confidence_level=1.5, dfcom=-1)
    fields = {p.field for p in err.value.problems}
    assert fields == {"confidence_level", "dfcom", "results"}
    other = pd.DataFrame({"term": ["b"], "estimate": [1.0], "std_error": [0.1]})
    nan_se = pd.DataFrame({"term": ["a"], "estimate": [1.0], "std_error": [np.nan]})
    with pytest.raises(DataError) as err:
        pool([good, other, nan_se, "x"])
    fields = {p.field for p in err.value.problems}
    assert fields == {"results[3]"}  # a non-table is reported before the terms are compared
    with pytest.raises(DataError) as err:
        pool([good, other, nan_se])
    assert {p.field for p in err.value.problems} == {"results[1]", "results[2].a"}


def test_analyze_imputed_names_the_failing_data_set(r_sets):
    def analysis(data):
        if len(data) and data.index[0] == r_sets[2].index[0] and data.equals(r_sets[2]):
            raise DataError("no controls")
        return pd.DataFrame({"term": ["a"], "estimate": [1.0], "std_error": [0.1]})

    with pytest.raises(DataError, match="imputed data set 3 of 5: no controls"):
        analyze_imputed(_Sets(r_sets), analysis=analysis)
    with pytest.raises(DataError, match="ImputedData"):
        analyze_imputed(object(), analysis=analysis)


@pytest.mark.parametrize("estimand", ["ATE", "ATT", "ATO"])
def test_analyze_imputed_matches_weightthem_by_hand(r_sets, estimand):
    def analysis(data):
        ps = fit_propensity(data, "treat", ["x1", "x2", "x3"])
        return estimate_effect(weight(data, ps, estimand=estimand), "y", kind="continuous")

    pooled = analyze_imputed(_Sets(r_sets), analysis=analysis)
    ref = pd.DataFrame(REF["weightthem"][estimand]["mean_difference"])
    _compare(pooled, ref[ref["term"] == "treat"], ["mean_difference"], ["treat"])
