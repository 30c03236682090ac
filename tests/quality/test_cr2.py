"""CR2 cluster-robust variance with Satterthwaite df for the linear model, against R."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from regmed.errors import DataError
from regmed.quality import associate
from regmed.quality._cr2 import cr2_linear

from ._ref import REF, load

EXPECTED = load("cr2.json")
PATIENTS = pd.read_csv(REF / "cr2_patients.csv")
# lot L02 alone has site "S0": a fully leveraged cluster (I - H_jj singular), as in cr2.R
PATIENTS["site_l02"] = PATIENTS["site"].where(PATIENTS["lot_code"] != "L02", "S0")
LOTS = pd.read_csv(REF / "cr2_lots.csv")
ATTRS = ["a01", "a02", "a03"]
COLS = ["estimate", "std_error", "df", "statistic", "p_value", "ci_lower", "ci_upper",
        "q_value"]


@pytest.mark.parametrize("case,cluster,site", [("lot", "lot", "site"),
                                               ("donor", "donor", "site"),
                                               ("lot_leveraged", "lot", "site_l02")])
@pytest.mark.parametrize("small", [True, "CR2"])
def test_continuous_cr2_satterthwaite_matches_clubsandwich(case: str, cluster: str, site: str,
                                                            small: bool | str) -> None:
    res = associate(PATIENTS, LOTS, "score", ATTRS, kind="continuous",
                    adjust=["age", site], cluster=cluster, small_sample=small)
    assert res.options["variance"] == "CR2 (clubSandwich), t on Satterthwaite df"
    got = res.estimates.set_index("attribute")
    for row in EXPECTED[case]:
        for col in COLS:
            assert got.at[row["attribute"], col] == pytest.approx(row[col], rel=1e-6), col
        assert got.at[row["attribute"], "n_patients"] == row["n_patients"]
        assert got.at[row["attribute"], "n_lots"] == row["n_lots"]


def test_cr1_remains_available_and_differs() -> None:
    cr1 = associate(PATIENTS, LOTS, "score", ATTRS, kind="continuous", adjust=["age", "site"],
                    small_sample="CR1")
    cr2 = associate(PATIENTS, LOTS, "score", ATTRS, kind="continuous", adjust=["age", "site"])
    assert np.allclose(cr1.estimates["estimate"], cr2.estimates["estimate"])
    assert (cr1.estimates["df"] == 15).all()  # 16 lots
    # Satterthwaite df of a lot-level attribute fall far below G - 1 here
    assert (cr2.estimates["df"] < 15).all()
    assert not np.allclose(cr1.estimates["std_error"], cr2.estimates["std_error"])


def test_spline_test_runs_with_cr2() -> None:
    res = associate(PATIENTS, LOTS, "score", ATTRS, kind="continuous", adjust=["age", "site"],
                    spline=True)
    p = res.estimates["p_nonlinear"]
    assert ((p >= 0) & (p <= 1)).all()


def test_one_row_per_cluster_is_hc2() -> None:
    # with singleton clusters CR2 is MacKinnon & White's HC2: e_i^2 / (1 - h_ii)
    rng = np.random.default_rng(3)
    x = np.column_stack([np.ones(25), rng.normal(size=25), rng.exponential(size=25)])
    e = rng.normal(size=25)
    v, df = cr2_linear(x, e, np.arange(25), 1)
    m = np.linalg.inv(x.T @ x)
    h = np.einsum("ij,jk,ik->i", x, m, x)
    hc2 = m @ (x.T * (e ** 2 / (1 - h))) @ x @ m
    assert np.allclose(v, hc2, rtol=1e-10)
    assert 0 < df < 25


def test_small_sample_choices_are_checked() -> None:
    with pytest.raises(DataError, match="continuous"):
        associate(PATIENTS, LOTS, "score", ATTRS, kind="binary", small_sample="CR2")
    with pytest.raises(DataError, match="small_sample"):
        associate(PATIENTS, LOTS, "score", ATTRS, kind="continuous", small_sample="HC3")
