"""At a million controls (issue 18): the in-memory path and the Dask path on a two-worker
``distributed`` cluster reading a Parquet data set give identical matched sets and estimates,
and both equal R's glm and MatchIt 4.7.2 (tests/reference/evidence/pool: make_pool_1m.py and
make_pool_1m.R, the pool of regmed.demo.pool with seed 2026)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regmed.demo.pool import COVARIATES, pool_frame, write_pool
from regmed.evidence import estimate_effect, fit_propensity, match

REF = json.loads((Path(__file__).parents[1] / "reference" / "evidence" / "pool"
                  / "pool_1m.json").read_text())


def _sets(pairs: pd.DataFrame) -> dict[int, list[int]]:
    return {int(t): [int(c) for c in g.sort_values("rank")["control_id"]]
            for t, g in pairs.groupby("treated_id", sort=False)}


def test_a_million_controls_in_memory_and_on_dask_are_matchits(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    import dask.dataframe as dd

    from regmed.evidence.dask_path import fit_propensity_dask, match_dask, prepare_pool

    df = pool_frame(1_000_000)
    assert len(df) == REF["n"]
    fit = fit_propensity(df, "t", COVARIATES)
    assert list(fit.terms) == REF["term"]
    r_est = np.array([float(x) for x in REF["estimate"]])
    np.testing.assert_allclose(fit.estimates["estimate"], r_est, rtol=1e-7)
    np.testing.assert_allclose(fit.estimates["std_error"],
                               [float(x) for x in REF["std_error"]], rtol=1e-6)
    m = match(df, fit, ratio=2, caliper=0.2, covariates=())
    theirs = {s["treated"]: s["controls"] if isinstance(s["controls"], list)
              else [s["controls"]] for s in REF["sets"]}
    assert _sets(m.pairs) == theirs
    want = estimate_effect(m, "y")
    folder = write_pool(1_000_000, tmp_path)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        pool, _ = prepare_pool(dd.read_parquet(folder, index="pid"),
                               ["t", "y", *COVARIATES], client=client)
        dfit = fit_propensity_dask(pool, "t", COVARIATES, client=client)
        got = match_dask(pool, dfit, ratio=2, caliper=0.2, covariates=(), columns=["y"],
                         client=client)
    np.testing.assert_allclose(dfit.estimates["estimate"], fit.estimates["estimate"],
                               rtol=1e-10)
    assert got.matching.pairs.equals(m.pairs)
    effect = estimate_effect(got.matching, "y")
    pd.testing.assert_frame_equal(effect.estimates, want.estimates, rtol=1e-12)
