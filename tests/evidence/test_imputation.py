"""impute(): chained equations as R's mice. R's random draws cannot be reproduced, so these tests
check what mice guarantees: pmm imputes observed values only, seeds reproduce, the pooled
estimates are unbiased with near-nominal coverage under MAR and match mice's bias and coverage
in the same simulation (simulate_mar.R), and on the reference data (tests/reference/evaluate/mi)
the pooled estimates agree with those of mice's own m = 50 imputations within Monte Carlo error.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from regmed.errors import DataError
from regmed.evidence import ImputedData, analyze_imputed, fit_glm, impute, pool

MI = Path(__file__).parents[1] / "reference" / "evaluate" / "mi"
COLUMNS = ["treat", "x1", "x2", "x3", "y", "ybin"]


@pytest.fixture(scope="module")
def incomplete() -> pd.DataFrame:
    return pd.read_csv(MI / "incomplete.csv").set_index("id")


def _ols(data: pd.DataFrame, covs: list[str], outcome: str) -> pd.DataFrame:
    x = np.column_stack([np.ones(len(data))] + [data[c].to_numpy(float) for c in covs])
    fit = fit_glm(x, data[outcome].to_numpy(float), np.ones(len(data)), "gaussian", None)
    out = pd.DataFrame({"term": ["(Intercept)", *covs], "estimate": fit.coef,
                        "std_error": np.sqrt(np.diag(fit.vcov))})
    out.attrs["df"] = fit.df_residual
    return out


def test_completes_every_column_and_keeps_the_input(incomplete):
    before = incomplete.copy()
    imp = impute(incomplete, columns=COLUMNS, m=3, rng=11, maxit=3)
    pd.testing.assert_frame_equal(incomplete, before)
    assert isinstance(imp, ImputedData) and imp.m == 3 and len(imp.datasets) == 3
    assert imp.methods == {"x1": "pmm", "x2": "logreg", "y": "pmm", "ybin": "logreg"}
    assert imp.n_missing == {c: int(incomplete[c].isna().sum()) for c in COLUMNS}
    for d in imp.datasets:
        assert list(d.columns) == list(incomplete.columns)
        assert not d[COLUMNS].isna().any().any()
        observed = incomplete.notna()
        pd.testing.assert_frame_equal(d[observed], incomplete[observed])  # observed kept
    assert len(imp.chain_means) == 3 * 3 * 4
    long = imp.long()
    assert list(long.columns[:2]) == [".imp", ".id"] and len(long) == 3 * len(incomplete)
    pd.testing.assert_frame_equal(imp.complete(2), imp.datasets[1])


def test_pmm_imputes_observed_values_only(incomplete):
    imp = impute(incomplete, columns=COLUMNS, m=4, rng=5, maxit=4)
    for col in ("x1", "y"):
        seen = set(incomplete[col].dropna())
        miss = incomplete[col].isna()
        for d in imp.datasets:
            assert set(d.loc[miss, col]) <= seen
            assert d[col].min() >= incomplete[col].min()
            assert d[col].max() <= incomplete[col].max()
    for col in ("x2", "ybin"):  # logistic regression draws 0/1
        for d in imp.datasets:
            assert set(d[col].unique()) <= {0.0, 1.0}


def test_seed_reproduces_and_generator_is_accepted(incomplete):
    a = impute(incomplete, columns=COLUMNS, m=2, rng=123, maxit=2)
    b = impute(incomplete, columns=COLUMNS, m=2, rng=123, maxit=2)
    c = impute(incomplete, columns=COLUMNS, m=2, rng=124, maxit=2)
    g = impute(incomplete, columns=COLUMNS, m=2, rng=np.random.default_rng(123), maxit=2)
    for x, y, z in zip(a.datasets, b.datasets, g.datasets, strict=True):
        pd.testing.assert_frame_equal(x, y)
        pd.testing.assert_frame_equal(x, z)
    assert not a.datasets[0].equals(c.datasets[0])
    assert a.options["seed"] == 123 and g.options["seed"] is None
    assert a.datasets[0].equals(a.datasets[0]) and not a.datasets[0].equals(a.datasets[1])


def test_text_and_binary_labels_come_back():
    rng = np.random.default_rng(2)
    d = pd.DataFrame({"x": rng.normal(size=80), "sex": rng.choice(["F", "M"], 80),
                      "site": rng.choice(["A", "B", "C"], 80)})
    d.loc[::7, "sex"] = None
    d.loc[::5, "x"] = np.nan
    imp = impute(d, columns=["x", "sex", "site"], m=2, rng=1, maxit=2)
    assert imp.methods == {"x": "pmm", "sex": "logreg"}
    assert set(imp.datasets[0]["sex"]) == {"F", "M"}
    forced = impute(d, columns=["x", "sex", "site"], m=2, rng=1, maxit=2,
                    method={"sex": "pmm"})
    assert forced.methods["sex"] == "pmm" and set(forced.datasets[1]["sex"]) <= {"F", "M"}


def test_agrees_with_mice_m50_on_the_reference_data(incomplete):
    """Pooled treatment effect and fmi of y ~ treat + x1 + x2 + x3 against mice's m = 50.

    Monte Carlo SD of the difference of two m = 50 pooled estimates is about
    sqrt(2 b / 50) = 0.04 for treat; the tolerance 0.15 is about 4 SDs (0.4 SE).
    """
    ref = pd.DataFrame(json.loads((MI / "expected.json").read_text())["mice_m50"]["pooled"])
    ref = ref.set_index("term")
    imp = impute(incomplete, columns=COLUMNS, m=50, rng=2026)
    covs = ["treat", "x1", "x2", "x3"]
    fits = [_ols(d, covs, "y") for d in imp.datasets]
    pooled = pool(fits, dfcom=fits[0].attrs["df"]).pooling.set_index("term")
    assert pooled.loc["treat", "estimate"] == pytest.approx(ref.loc["treat", "estimate"],
                                                            abs=0.15)
    for term in covs:
        se = ref.loc[term, "std_error"]
        assert abs(pooled.loc[term, "estimate"] - ref.loc[term, "estimate"]) < 0.5 * se, term
        assert abs(pooled.loc[term, "fmi"] - ref.loc[term, "fmi"]) < 0.15, term


def _mar_sample(rng: np.random.Generator, n: int) -> pd.DataFrame:
    x = rng.normal(size=n)
    z = rng.binomial(1, 0.4, size=n).astype(float)
    y = 1.0 + 0.5 * x + z + rng.normal(size=n)
    d = pd.DataFrame({"x": x, "z": z, "y": y})
    # MAR: x and z go missing more often when the (always observed) outcome is high
    d.loc[rng.uniform(size=n) < stats.norm.cdf(-1.0 + 0.8 * (y - 1.5)), "x"] = np.nan
    d.loc[rng.uniform(size=n) < stats.norm.cdf(-1.2 + 0.6 * (y - 1.5)), "z"] = np.nan
    return d


def _mean_x(data: pd.DataFrame) -> pd.DataFrame:
    x = data["x"].to_numpy(float)
    return pd.DataFrame({"term": ["mean_x"], "estimate": [x.mean()],
                         "std_error": [x.std(ddof=1) / np.sqrt(len(x))]})


def _simulate(reps: int, n: int, m: int, maxit: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out: dict[str, list[float]] = {"slope": [], "slope_cover": [], "mean": [],
                                   "mean_cover": [], "cc_slope": [], "cc_mean": [], "fmi": []}
    for _ in range(reps):
        d = _mar_sample(rng, n)
        imp = impute(d, columns=["x", "z", "y"], m=m, rng=rng, maxit=maxit)
        slope = analyze_imputed(imp, analysis=lambda s: _ols(s, ["x", "z"], "y"),
                                dfcom=n - 3).row("x")
        mean = analyze_imputed(imp, analysis=_mean_x, dfcom=n - 1)
        out["slope"].append(slope["estimate"])
        out["slope_cover"].append(slope["ci_lower"] <= 0.5 <= slope["ci_upper"])
        out["mean"].append(mean.row("mean_x")["estimate"])
        r = mean.row("mean_x")
        out["mean_cover"].append(r["ci_lower"] <= 0.0 <= r["ci_upper"])
        out["fmi"].append(mean.fmi("mean_x"))
        cc = d.dropna()
        out["cc_slope"].append(float(_ols(cc, ["x", "z"], "y").loc[1, "estimate"]))
        out["cc_mean"].append(float(cc["x"].mean()))
    return {k: np.asarray(v, dtype=float) for k, v in out.items()}


def _check_simulation(res: dict[str, np.ndarray], reps: int, width: float) -> None:
    """Bias and coverage near the truth, and as mice's on the same design (simulate_mar.R)."""
    mice = json.loads((MI / "mar_simulation.json").read_text())
    # complete cases are biased under this MAR mechanism: the test can tell
    assert res["cc_mean"].mean() < -0.1 and abs(res["cc_slope"].mean() - 0.5) > 0.04
    for name, truth in (("slope", 0.5), ("mean", 0.0)):
        mc_se = res[name].std(ddof=1) / np.sqrt(reps)
        assert abs(res[name].mean() - truth) < 0.05, name  # pmm's small shrinkage at most
        gap = res[name].mean() - mice["mean"][name]
        assert abs(gap) < 4 * math.hypot(mc_se, mice["mc_se"][name]), (name, gap)
        cover = res[f"{name}_cover"].mean()
        assert 0.95 - width <= cover <= 1.0, (name, cover)
        cover_se = math.sqrt(0.95 * 0.05 / reps)
        assert abs(cover - mice["mean"][f"{name}_cover"]) < 4 * math.hypot(
            cover_se, mice["mc_se"][f"{name}_cover"]), (name, cover)
    assert abs(res["fmi"].mean() - mice["mean"]["fmi"]) < 4 * math.hypot(
        res["fmi"].std(ddof=1) / np.sqrt(reps), mice["mc_se"]["fmi"])


def test_mar_simulation_unbiased_with_nominal_coverage():
    reps = 60
    res = _simulate(reps=reps, n=250, m=5, maxit=5, seed=20261202)
    _check_simulation(res, reps, width=0.09)


@pytest.mark.slow
def test_mar_simulation_long():
    reps = 400  # mice's design (n 250, m 5, maxit 5) with more replicates
    res = _simulate(reps=reps, n=250, m=5, maxit=5, seed=7)
    _check_simulation(res, reps, width=0.035)


def test_invalid_arguments_are_listed_together(incomplete):
    with pytest.raises(DataError) as err:
        impute(incomplete, columns=["x1", "nope"], m=0, rng=1, maxit=-1, method="norm")
    assert {p.field for p in err.value.problems} == {"nope", "m", "maxit", "method"}
    empty = pd.DataFrame({"a": [1.0, 2.0, np.nan], "b": [np.nan] * 3, "c": ["u", "v", None]})
    with pytest.raises(DataError) as err:
        impute(empty, columns=["a", "b", "c"], rng=1)
    assert {p.field for p in err.value.problems} == {"b"}
    tri = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "k": ["u", "v", "w", None]})
    with pytest.raises(DataError, match="polyreg"):
        impute(tri, columns=["a", "k"], rng=1)
    with pytest.raises(DataError, match="binary columns only"):
        impute(tri.assign(a=[1.0, np.nan, 3, 4], k="u"), columns=["a", "k"], rng=1,
               method={"a": "logreg"})
