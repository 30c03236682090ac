"""Moderated t (propeller), pseudobulk logCPM + moderated t and the minimum detectable
correlation against R (limma 3.54, edgeR), stored in tests/reference/singlecell/."""

from __future__ import annotations

import json
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from regmed.singlecell import associate_composition, min_detectable_r, pseudobulk_association
from regmed.singlecell._ebayes import moderated_slope_t, t_pvalue
from regmed.singlecell.association import transform_shares


@pytest.fixture(scope="module")
def ref(reference_dir: Path) -> dict:
    return json.loads((reference_dir / "singlecell" / "expected.json").read_text())


@pytest.fixture(scope="module")
def inputs(reference_dir: Path) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    d = reference_dir / "singlecell"
    counts = pd.read_csv(d / "lot_state_counts.csv", index_col=0)
    pot = pd.read_csv(d / "lot_potency.csv").set_index("lot")["potency"]
    pb = pd.read_csv(d / "pseudobulk_counts.csv", index_col=0)
    return counts, pot, pb


def test_moderated_t_matches_limma(ref: dict, inputs: tuple) -> None:
    counts, pot, _ = inputs
    y = transform_shares(counts.to_numpy(), "logit", 0.5)
    t, dft, _ = moderated_slope_t(pot.loc[counts.index].to_numpy(), y)
    exp = ref["propeller"]
    assert list(counts.columns) == exp["state"]
    np.testing.assert_allclose(t[0], exp["t"], rtol=1e-6)
    np.testing.assert_allclose(dft[0], exp["df_total"][0], rtol=1e-6)
    np.testing.assert_allclose(t_pvalue(t[0], dft[0]), exp["p_value"], rtol=1e-5)


def test_propeller_parametric_p_and_estimate_match_limma(ref: dict, inputs: tuple) -> None:
    counts, pot, _ = inputs
    obs = pd.DataFrame({"lot": np.repeat(counts.index, counts.sum(axis=1)),
                        "state": np.concatenate([np.repeat(counts.columns, row)
                                                 for row in counts.to_numpy()])})
    a = ad.AnnData(np.zeros((len(obs), 1), dtype=np.float32),
                   obs=obs.set_axis([f"c{i}" for i in range(len(obs))]))
    res = associate_composition(a, pot, cluster_key="state", method="propeller",
                                n_permutations=199, key_added=None)
    table = res.table.set_index("cluster").loc[ref["propeller"]["state"]]
    np.testing.assert_allclose(table["statistic"], ref["propeller"]["t"], rtol=1e-6)
    np.testing.assert_allclose(table["p_parametric"], ref["propeller"]["p_value"], rtol=1e-5)
    np.testing.assert_allclose(table["estimate"], ref["propeller"]["r"], rtol=1e-8)


def test_pseudobulk_matches_edger_cpm_and_limma(ref: dict, inputs: tuple) -> None:
    _, pot, pb = inputs
    lots = list(pb.columns)
    # one "cell" per lot carrying the lot's summed counts reproduces the pseudobulk matrix
    a = ad.AnnData(pb.T.to_numpy().astype(np.float32),
                   obs=pd.DataFrame({"lot": lots, "leiden": "0"}, index=lots),
                   var=pd.DataFrame(index=pb.index))
    res = pseudobulk_association(a, pot, "0", layer=None, min_cells=1)
    exp = ref["pseudobulk"]
    got = res.table.set_index("gene").loc[exp["gene"]]
    np.testing.assert_allclose(got["mean_log_cpm"], exp["mean_log_cpm"], rtol=1e-6)
    np.testing.assert_allclose(got["estimate"], exp["estimate"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(got["statistic"], exp["t"], rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(got["p_value"], exp["p_value"], rtol=1e-5)


def test_minimum_detectable_correlation(ref: dict) -> None:
    exp = ref["min_detectable_r"]
    got = [min_detectable_r(n) for n in exp["n"]]
    np.testing.assert_allclose(got, exp["r"], rtol=1e-10)
    assert np.isnan(min_detectable_r(3))
