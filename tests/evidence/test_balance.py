"""balance() against MatchIt 4.7.2's summary() and bal1var (see the R scripts in reference/)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regmed.errors import DataError
from regmed.evidence import balance, fit_propensity, match, weight

REF = Path(__file__).parents[1] / "reference" / "evidence"
COVS = {
    "lalonde": ["age", "educ", "race", "married", "nodegree", "re74", "re75"],
    "sim": ["x1", "x2", "x3", "bin", "site"],
}
MATCH = json.loads((REF / "matchit" / "matchsets.json").read_text())
WEIGHT = json.loads((REF / "weighting" / "expected.json").read_text())
STATS = {
    "Means Treated": "mean_treated",
    "Means Control": "mean_control",
    "Std. Mean Diff.": "smd",
    "Var. Ratio": "var_ratio",
    "eCDF Mean": "ecdf_mean",
    "eCDF Max": "ecdf_max",
}
CASES = [(ds, name) for ds in ("lalonde", "sim") for name in MATCH[ds]]


def load(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / "matchit" / f"{name}.csv").set_index("id")


def compare(table: pd.DataFrame, rows: list[dict], when: str) -> None:
    for row in rows:
        for r_name, ours in STATS.items():
            value = table.loc[row["term"], f"{ours}_{when}"]
            expected = row[r_name]
            if expected is None or isinstance(expected, str):  # NA in R
                assert np.isnan(value), (row["term"], r_name)
            else:
                assert value == pytest.approx(expected, rel=1e-6, abs=1e-6), (row["term"], r_name)


@pytest.mark.parametrize(("ds", "name"), CASES)
def test_matching_balance_equals_summary_matchit(ds: str, name: str) -> None:
    case = MATCH[ds][name]
    args = case["args"]
    df = load(ds)
    fit = fit_propensity(df, "treat", COVS[ds])
    dist = pd.Series([float(v) for v in case["distance"]], index=df.index)
    m = match(
        df,
        fit,
        ratio=args.get("ratio", 1),
        caliper=args.get("caliper"),
        caliper_scale="logit" if args.get("link") == "linear.logit" else "ps",
        replace=args.get("replace", False),
        order=args.get("m.order", "largest"),
        exact=[args["exact"]] if "exact" in args else None,
        distance=dist,
    )
    bal = balance(m)
    table = bal.table.set_index("term")
    assert list(table.index) == [r["term"] for r in case["sum_all"]]
    compare(table, case["sum_all"], "before")
    compare(table, case["sum_matched"], "after")
    sizes = bal.sample_sizes
    nn = case["nn"]
    for grp, col in (("Control", "control"), ("Treated", "treated")):
        assert sizes.loc["adjusted", col] == nn[grp]["Matched"]
        assert sizes.loc["adjusted_ess", col] == pytest.approx(nn[grp]["Matched (ESS)"])
        assert sizes.loc["unmatched", col] == nn[grp]["Unmatched"]
    expected_smd = {r["term"]: r["Std. Mean Diff."] for r in case["sum_matched"]}
    for term, value in bal.smd_after.items():
        assert value == pytest.approx(expected_smd[term], abs=1e-6)
    assert set(bal.imbalanced) == {t for t, v in expected_smd.items()
                                   if t != "distance" and abs(v) > 0.1}


@pytest.mark.parametrize("ds", ["lalonde", "sim"])
@pytest.mark.parametrize("estimand", ["ATT", "ATE", "ATO"])
def test_weighting_balance_equals_bal1var(ds: str, estimand: str) -> None:
    df = load(ds)
    fit = fit_propensity(df, "treat", COVS[ds])
    bal = balance(weight(df, fit, estimand))
    table = bal.table.set_index("term")
    ref = WEIGHT[ds]["cases"][estimand]["balance"]
    for term, stats in ref.items():
        for r_name, ours in STATS.items():
            expected = stats[r_name]
            value = table.loc[term, f"{ours}_after"]
            if expected is None or isinstance(expected, str):
                assert np.isnan(value)
            else:
                assert value == pytest.approx(expected, rel=1e-6, abs=1e-6), (term, r_name)
    assert bal.sd_denominator == ("treated" if estimand == "ATT" else "pooled")


def test_factor_levels_expanded_and_series_named() -> None:
    df = load("lalonde")
    m = match(df, fit_propensity(df, "treat", COVS["lalonde"]))
    bal = balance(m, covariates=["race", "age"])
    assert list(bal.smd_before.index) == ["raceblack", "racehispan", "racewhite", "age"]
    assert bool(bal.table.set_index("term").loc["raceblack", "binary"])
    with pytest.raises(DataError):
        balance(m, covariates=["nope"])


def test_constant_covariate_gives_r_ratios_not_an_error() -> None:
    """A covariate without variance (every patient of an interim look injured in one year):
    the variance ratio is R's 0/0 = NaN, its SMD 0, and the other covariates are unaffected."""
    rng = np.random.default_rng(5)
    n = 120
    df = pd.DataFrame({"treated": (rng.random(n) < 0.4).astype(int),
                       "age": rng.normal(50, 10, n), "year": 2026.0})
    ps = fit_propensity(df, "treated", ["age"])
    sample = weight(df, ps, "ATE")
    with_year = balance(sample, ["age", "year"]).table.set_index("term")
    alone = balance(sample, ["age"]).table.set_index("term")
    assert np.isnan(with_year.loc["year", "var_ratio_after"])
    assert with_year.loc["year", "smd_after"] == 0
    assert with_year.loc["age", "smd_after"] == pytest.approx(alone.loc["age", "smd_after"])
