"""A new lot is mapped onto the reference without rebuilding it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from regmed.demo.singlecell import MSC_STATES, simulate_lots
from regmed.errors import DataError
from regmed.singlecell import composition_deviation, lot_composition, map_lot


def test_held_out_lot_maps_to_the_right_states(analysis, ref_and_new) -> None:
    ref = analysis.adata
    before = (ref.n_obs, ref.obsm["X_pca"].copy(), ref.obs["leiden"].copy())
    _, new_sim = ref_and_new
    new = new_sim.to_anndata()
    m = map_lot(ref, new)
    # the reference is untouched
    assert ref.n_obs == before[0]
    np.testing.assert_array_equal(ref.obsm["X_pca"], before[1])
    assert ref.obs["leiden"].equals(before[2])
    # each reference cluster's majority state is what a mapped cell should get
    majority = pd.crosstab(ref.obs["leiden"], ref.obs["state"]).idxmax(axis=1)
    expected = new.obs["state"].astype(str).to_numpy()
    got = majority.loc[new.obs["leiden"].astype(str)].to_numpy()
    assert (got == expected).mean() > 0.97
    assert m.composition.counts.index.tolist() == ["L12"]
    assert m.confidence["mean_confidence"].iloc[0] > 0.9
    assert "X_umap" in new.obsm and new.uns["mapping"]["params"]["n_neighbors"] == 15
    assert not bool(m.deviation.table["outlier"].iloc[0])
    # the projection reproduces the reference's own PCA coordinates for reference cells
    from regmed.singlecell.mapping import project

    counts_ref = ref[:200].copy()
    counts_ref.X = counts_ref.layers["counts"]
    np.testing.assert_allclose(project(ref, counts_ref), ref.obsm["X_pca"][:200], atol=2e-3)


def test_a_lot_with_a_strange_composition_is_an_outlier(analysis) -> None:
    states = dict(MSC_STATES)
    states["stressed"] = 3.0  # a lot dominated by stressed cells
    odd = simulate_lots(n_lots=3, cells_per_lot=300, states=states, concentration=200,
                        lot_prefix="X", seed=7)  # seed 7: the reference's gene programme
    m = map_lot(analysis.adata, odd.to_anndata(), copy=True)
    assert m.deviation.table["outlier"].all()
    assert (m.deviation.table["distance"] > m.deviation.threshold).all()
    assert m.adata is not None and "leiden" in m.adata.obs


def test_map_lot_needs_the_reference_genes_and_counts(analysis, ref_and_new) -> None:
    _, new_sim = ref_and_new
    new = new_sim.to_anndata()
    with pytest.raises(DataError, match="lacks genes"):
        map_lot(analysis.adata, new[:, 50:].copy())
    bad = new.copy()
    bad.X = bad.X * 0.5
    with pytest.raises(DataError, match="raw counts"):
        map_lot(analysis.adata, bad)
    with pytest.raises(DataError, match="build_reference"):
        map_lot(new, new)


def test_deviation_is_the_aitchison_distance(analysis) -> None:
    comp = analysis.composition
    dev = composition_deviation(comp, pseudocount=0.5)
    logs = np.log(comp.counts.to_numpy() + 0.5)
    clr = logs - logs.mean(axis=1, keepdims=True)
    center = clr.mean(axis=0)
    np.testing.assert_allclose(dev.table["distance"], np.linalg.norm(clr - center, axis=1))
    q1, q3 = np.percentile(dev.table["distance"], [25, 75])
    assert dev.threshold == pytest.approx(q3 + 1.5 * (q3 - q1))
    assert dev.center.sum() == pytest.approx(1.0)
    assert lot_composition(analysis.adata, key_added=None).counts.equals(comp.counts)
