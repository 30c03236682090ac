"""The propensity fit and caliper matching from partition sums (issue 18): in-process frames,
Dask's local scheduler and a real ``distributed`` cluster of two worker processes give the
in-memory fit to 1e-10, R's ``glm`` (stored references of test_realdata_r) and MatchIt
4.7.2's matched sets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_realdata_r import MATCHES, PS_COVS, PS_TREAT, R, f, load

from regmed.errors import DataError
from regmed.evidence import fit_propensity, match
from regmed.evidence.partials import compute_partial
from regmed.evidence.partitioned import caliper_sd, fit_propensity_partitioned, frames_mapper

dd = pytest.importorskip("dask.dataframe")


def _pool(n: int, seed: int = 3) -> pd.DataFrame:
    """A pool with a calendar year, a 5-level factor, a boolean, a covariate of mean 1e6 and a
    copy of a column (aliased, dropped as R drops it)."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "age": rng.normal(60, 10, n), "year": rng.integers(2008, 2027, n).astype(float),
        "region": rng.choice(["N", "E", "S", "W", "C"], n), "male": rng.random(n) < 0.5,
        "lab": rng.normal(1e6, 1.0, n)})
    df["age_again"] = df["age"] * 2.0
    lp = -4 + 0.04 * (df.age - 60) + 0.08 * (df.year - 2017) + 0.6 * (df.region == "S")
    df["t"] = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int)
    df.index = pd.RangeIndex(n, name="pid")
    return df


COVS = ["age", "year", "region", "male", "lab", "age_again"]


def _same_fit(a, b) -> None:  # noqa: ANN001 - a PropensityScore and a PartitionedFit
    assert list(a.terms) == list(b.terms)
    np.testing.assert_allclose(b.estimates["estimate"], a.estimates["estimate"], rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_allclose(b.estimates["std_error"], a.estimates["std_error"], rtol=1e-10)
    assert b.deviance == pytest.approx(a.deviance, rel=1e-12)
    assert b.iterations == a.iterations and b.converged == a.converged


def test_partition_sums_give_the_in_memory_fit() -> None:
    df = _pool(30_000)
    a = fit_propensity(df, "t", COVS)
    parts = [df.iloc[s:s + 4_000] for s in range(0, len(df), 4_000)]
    b = fit_propensity_partitioned(frames_mapper(parts), "t", COVS)
    _same_fit(a, b)
    assert "age_again" not in b.terms and any("age_again" in w for w in b.warnings)
    np.testing.assert_allclose(b.linear_predictor(df), a.logit_ps, rtol=0, atol=1e-10)
    assert caliper_sd(frames_mapper(parts), b) == pytest.approx(
        float(np.std(a.logit_ps, ddof=1)), rel=1e-12)


def test_a_level_missing_from_a_partition_still_gets_its_column() -> None:
    df = _pool(6_000).sort_values("region", kind="stable")
    a = fit_propensity(df, "t", ["age", "region"])
    parts = [g for _, g in df.groupby("region", sort=False)]  # one level per partition
    _same_fit(a, fit_propensity_partitioned(frames_mapper(parts), "t", ["age", "region"]))


@pytest.mark.parametrize("ds", ["lalonde", "birthwt"])
def test_partitioned_fit_is_glm_on_real_data(ds: str) -> None:
    ref = R["propensity"][ds]
    df = load("lalonde_year" if ds == "lalonde" else "birthwt")
    parts = np.array_split(np.arange(len(df)), 3)
    fit = fit_propensity_partitioned(frames_mapper([df.iloc[p] for p in parts]),
                                     PS_TREAT[ds], PS_COVS[ds])
    assert list(fit.terms) == ref["term"]
    np.testing.assert_allclose(fit.estimates["estimate"], f(ref["estimate"]), rtol=1e-8)
    np.testing.assert_allclose(fit.estimates["std_error"], f(ref["std_error"]), rtol=1e-7)
    assert fit.deviance == pytest.approx(f(ref["deviance"])[0], rel=1e-10)


def test_every_partitions_problems_at_once() -> None:
    df = _pool(100)
    bad = df.copy()
    bad.loc[bad.index[3], "age"] = np.nan
    worse = df.drop(columns=["year"])
    with pytest.raises(DataError) as err:
        fit_propensity_partitioned(frames_mapper([df, bad, worse]), "t", COVS,
                                   names=["a.parquet", "b.parquet", "c.parquet"])
    got = {(p.file, p.field) for p in err.value.problems}
    assert got == {("b.parquet", "age"), ("c.parquet", "year")}
    with pytest.raises(DataError, match="unknown request"):
        compute_partial(df, {"op": "rows"})


LOGIT_CASES = sorted(k for k, c in MATCHES.items()
                     if c["args"].get("link") == "linear.logit" and c["args"].get("caliper"))


@pytest.mark.parametrize("name", LOGIT_CASES)
def test_dask_caliper_matching_gives_matchits_sets(name: str) -> None:
    from regmed.evidence.dask_path import fit_propensity_dask, match_dask

    case = MATCHES[name]
    args = case["args"]
    df = load({"lalonde": "lalonde_year"}.get(case["data"], case["data"]))
    ddf = dd.from_pandas(df, npartitions=4, sort=False)
    fit = fit_propensity_dask(ddf, PS_TREAT[case["data"]], PS_COVS[case["data"]])
    got = match_dask(ddf, fit, ratio=args.get("ratio", 1), caliper=args["caliper"],
                     replace=args.get("replace", False), order=args.get("m.order", "largest"))
    ours = {tid: list(g.sort_values("rank")["control_id"])
            for tid, g in got.matching.pairs.groupby("treated_id", sort=False)}
    theirs = {s["treated"]: s["controls"] if isinstance(s["controls"], list) else [s["controls"]]
              for s in case["sets"]}
    assert ours == theirs


def test_dask_path_on_a_distributed_cluster_equals_in_memory() -> None:
    distributed = pytest.importorskip("distributed")
    from regmed.evidence.dask_path import fit_propensity_dask, match_dask

    df = _pool(40_000, seed=5)
    a = fit_propensity(df, "t", COVS)
    m = match(df, a, ratio=2, caliper=0.2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        ddf = dd.from_pandas(df, npartitions=6, sort=False)
        b = fit_propensity_dask(ddf, "t", COVS, client=client)
        got = match_dask(ddf, b, ratio=2, caliper=0.2, client=client)
    _same_fit(a, b)
    assert got.matching.pairs.equals(m.pairs)
    assert got.caliper_unit * 0.2 == pytest.approx(m.caliper_width, rel=1e-12)
    assert got.n_candidates < len(df)
    np.testing.assert_allclose(got.matching.matched["weights"], m.matched["weights"])


def test_dask_matching_needs_a_caliper() -> None:
    from regmed.evidence.dask_path import fit_propensity_dask, match_dask

    ddf = dd.from_pandas(_pool(500), npartitions=2)
    fit = fit_propensity_dask(ddf, "t", ["age"])
    with pytest.raises(DataError) as err:
        match_dask(ddf, fit, caliper=None)  # type: ignore[arg-type]
    assert err.value.problems[0].field == "caliper"


@pytest.mark.parametrize(("estimand", "trim", "stabilize", "kind"), [
    ("ATT", None, False, "binary"), ("ATE", 0.02, True, "binary"),
    ("ATO", None, False, "continuous")])
def test_weighted_effect_from_partition_sums_is_the_in_memory_effect(
        estimand: str, trim: float | None, stabilize: bool, kind: str) -> None:
    from regmed.evidence import estimate_effect, weight
    from regmed.evidence.partitioned_effect import weighted_effect_partitioned

    df = _pool(20_000, seed=9)
    rng = np.random.default_rng(9)
    df["y"] = (rng.random(len(df)) < 0.3 + 0.1 * df["t"]).astype(float)
    df.loc[df.index[5:40], "y"] = np.nan  # missing outcomes are left out, as in memory
    df["score"] = rng.normal(40, 8, len(df)) + 3 * df["t"]
    covs = ["age", "year", "region", "male"]
    outcome = "y" if kind == "binary" else "score"
    want = estimate_effect(weight(df, fit_propensity(df, "t", covs), estimand, trim=trim,
                                  stabilize=stabilize), outcome, kind=kind)
    parts = frames_mapper([df.iloc[s:s + 3_000] for s in range(0, len(df), 3_000)])
    got = weighted_effect_partitioned(parts, fit_propensity_partitioned(parts, "t", covs),
                                      outcome, kind=kind, estimand=estimand, trim=trim,
                                      stabilize=stabilize)
    cols = ["estimate", "std_error", "ci_lower", "ci_upper", "p_value"]
    np.testing.assert_allclose(got.estimates[cols], want.estimates[cols], rtol=1e-10,
                               atol=1e-13)
    assert (got.n_treated, got.n_control, got.n_missing_outcome) == (
        want.n_treated, want.n_control, want.n_missing_outcome)
