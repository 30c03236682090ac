"""associate / associate_potency / responder_strata against R (glm, lm, coxph, sandwich)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from regmed.errors import DataError
from regmed.quality import associate, associate_potency, bh_adjust, responder_strata

from ._ref import REF, load

EXPECTED = load("associate.json")
PATIENTS = pd.read_csv(REF / "assoc_patients.csv")
LOTS = pd.read_csv(REF / "assoc_lots.csv")
ATTRS = ["a01", "a02", "a03", "a04"]
COLS = ["estimate", "std_error", "ci_lower", "ci_upper", "p_value", "q_value"]


def _check(result: pd.DataFrame, expected: list[dict], cols: list[str], rel: float) -> None:
    exp = pd.DataFrame(expected).set_index("attribute")
    got = result.set_index("attribute")
    for a in exp.index:
        for c in cols:
            assert got.at[a, c] == pytest.approx(exp.at[a, c], rel=rel, abs=1e-6), (a, c)
        if "n_patients" in exp:
            assert got.at[a, "n_patients"] == exp.at[a, "n_patients"]
            assert got.at[a, "n_lots"] == exp.at[a, "n_lots"]


def test_binary_cluster_robust_matches_vcovcl() -> None:
    res = associate(PATIENTS, LOTS, "response", ATTRS, kind="binary", adjust=["age", "sex"],
                    spline=True, small_sample=False)
    _check(res.estimates, EXPECTED["binary"], COLS, 1e-6)
    _check(res.estimates, EXPECTED["binary"], ["p_nonlinear"], 1e-5)
    assert list(res.table.columns) == ["attribute", "estimate", "std_error", "ci_lower",
                                       "ci_upper", "p_value", "q_value", "n_patients", "n_lots"]


def test_binary_model_based_without_cluster() -> None:
    res = associate(PATIENTS, LOTS, "response", ATTRS, adjust=["age", "sex"], cluster=None)
    _check(res.estimates, EXPECTED["binary_nocluster"], COLS, 1e-6)


def test_continuous_matches_lm_vcovcl_coeftest() -> None:
    res = associate(PATIENTS, LOTS, "score", ATTRS, kind="continuous", adjust=["age", "sex"],
                    small_sample=False)
    _check(res.estimates, EXPECTED["continuous"], COLS, 1e-6)


def test_survival_matches_coxph_cluster() -> None:
    res = associate(PATIENTS, LOTS, "pfs", ATTRS, kind="survival", adjust=["age", "sex"],
                    small_sample=False)
    _check(res.estimates, EXPECTED["survival"], COLS, 1e-5)
    assert np.allclose(res.estimates["ratio"], np.exp(res.estimates["estimate"]))


def test_long_lot_results_and_patient_columns_give_the_same() -> None:
    long = LOTS.melt(id_vars=["lot_code", "donor_code"], var_name="attribute_code",
                     value_name="value")
    a = associate(PATIENTS, long, "response", ATTRS, adjust=["age", "sex"]).estimates
    merged = PATIENTS.merge(LOTS, on="lot_code")
    b = associate(merged, None, "response", ATTRS, adjust=["age", "sex"]).estimates
    assert np.allclose(a["estimate"], b["estimate"])
    assert np.allclose(a["std_error"], b["std_error"])


def test_leave_one_site_out_matches_refits() -> None:
    res = associate(PATIENTS, LOTS, "response", ATTRS, adjust=["age", "sex"],
                    site_key="site_code")
    st = res.stability[res.stability["attribute"] == "a01"].set_index("site_left_out")
    for site, est in EXPECTED["loso_a01"].items():
        assert st.at[site, "estimate"] == pytest.approx(est, rel=1e-6)
    row = res.estimates.set_index("attribute").loc["a01"]
    assert row["loso_min"] == pytest.approx(min(EXPECTED["loso_a01"].values()), rel=1e-6)
    assert row["loso_max"] == pytest.approx(max(EXPECTED["loso_a01"].values()), rel=1e-6)


def test_potency_matches_lm() -> None:
    res = associate_potency(LOTS, ATTRS, "a01")
    _check(res.estimates, EXPECTED["potency"], COLS + ["r_squared"], 1e-6)


def test_strata_wilson_matches_prop_test() -> None:
    res = responder_strata(PATIENTS, "response", ["sex", "site_code"]).strata
    got = res.set_index(["variable", "level"])
    for row in EXPECTED["strata"]:
        g = got.loc[(row["variable"], row["level"])]
        assert g["n"] == row["n"] and g["responders"] == row["responders"]
        assert g["ci_lower"] == pytest.approx(row["ci_lower"], rel=1e-9)
        assert g["ci_upper"] == pytest.approx(row["ci_upper"], rel=1e-9)
    assert res.iloc[0]["n"] == len(PATIENTS)


def test_bh_matches_p_adjust() -> None:
    exp = load("hand_formulas.json")["bh"]
    p = [np.nan if v is None else v for v in exp["p"]]
    q = bh_adjust(p)
    assert np.isnan(q[-1])
    assert np.allclose(q[:-1], exp["q"][:-1], rtol=1e-12)


def test_input_problems_are_data_errors() -> None:
    with pytest.raises(DataError, match="kind"):
        associate(PATIENTS, LOTS, "response", ATTRS, kind="ordinal")
    with pytest.raises(DataError, match="0/1"):
        associate(PATIENTS, LOTS, "score", ATTRS, kind="binary")
    with pytest.raises(DataError, match="no results"):
        associate(PATIENTS, LOTS[LOTS.lot_code != "L001"], "response", ATTRS)
    with pytest.raises(DataError, match="lacks required columns"):
        associate(PATIENTS, LOTS, "response", ATTRS, adjust=["bmi"])


def test_donor_clustering_and_shared_donor_warning() -> None:
    lot_res = associate(PATIENTS, LOTS, "response", ATTRS, adjust=["age", "sex"])
    assert any("consider cluster='donor'" in w for w in lot_res.warnings)
    donor = associate(PATIENTS, LOTS, "response", ATTRS, adjust=["age", "sex"],
                      cluster="donor")
    # same point estimates, other variances; 10 donors → few-cluster warning
    assert np.allclose(donor.estimates["estimate"], lot_res.estimates["estimate"])
    assert not np.allclose(donor.estimates["std_error"], lot_res.estimates["std_error"])
    assert any("only 10 clusters" in w for w in donor.warnings)
    with pytest.raises(DataError, match="cluster='donor'"):
        associate(PATIENTS, LOTS.drop(columns="donor_code"), "response", ATTRS,
                  cluster="donor")


def test_donor_clustering_matches_vcovcl() -> None:
    res = associate(PATIENTS, LOTS, "response", ATTRS, adjust=["age", "sex"], cluster="donor",
                    small_sample=False)
    _check(res.estimates, EXPECTED["binary_donor"], COLS, 1e-6)


@pytest.mark.parametrize("kind,outcome,small,rel", [("binary", "response", True, 1e-6),
                                                    ("binary", "response", "CR1", 1e-6),
                                                    ("continuous", "score", "CR1", 1e-6),
                                                    ("survival", "pfs", True, 1e-5)])
def test_small_sample_t_on_clusters_minus_one(kind: str, outcome: str, small: bool | str,
                                              rel: float) -> None:
    # the default for binary and survival; the linear model's default is CR2 (test_cr2.py)
    res = associate(PATIENTS, LOTS, outcome, ATTRS, kind=kind, adjust=["age", "sex"],
                    small_sample=small)
    assert res.options["variance"] == "CR1 (vcovCL), t on G - 1 df"
    assert (res.estimates["df"] == 39).all()
    _check(res.estimates, EXPECTED[f"{kind}_small_sample"], COLS, rel)


def test_constant_attribute_is_reported_not_fatal() -> None:
    lots = LOTS.assign(a05=7.0)
    res = associate(PATIENTS, lots, "response", [*ATTRS, "a05"], adjust=["age", "sex"],
                    small_sample=False)
    row = res.estimates.set_index("attribute").loc["a05"]
    assert np.isnan(row["estimate"]) and np.isnan(row["q_value"])
    assert any("a05: not estimated" in w for w in res.warnings)
    # the other q-values are adjusted over the 4 estimable attributes only, as R's p.adjust
    _check(res.estimates[res.estimates["attribute"] != "a05"], EXPECTED["binary"],
           ["q_value"], 1e-6)
