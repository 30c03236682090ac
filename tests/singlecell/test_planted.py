"""The planted truth is found: the potency state is the top association, its markers lead."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from regmed.demo.singlecell import simulate_lots
from regmed.singlecell import associate_composition, singlecell_section


def _majority_state(adata, cluster: str) -> str:
    obs = adata.obs
    return str(obs.loc[obs["leiden"].astype(str) == cluster, "state"].value_counts().index[0])


def test_clusters_recover_the_planted_states(analysis) -> None:
    obs = analysis.adata.obs
    assert adjusted_rand_score(obs["state"], obs["leiden"]) > 0.9


def test_planted_state_is_the_top_association(analysis, sim) -> None:
    top = analysis.association_result.top
    assert _majority_state(analysis.adata, top) == sim.truth["potency_state"]
    row = analysis.association.iloc[0]
    assert row["estimate"] > 0.6 and row["q_value"] < 0.05 and bool(row["stable"])
    assert list(analysis.association.columns[:5]) == ["cluster", "estimate", "p_value",
                                                      "q_value", "stable"]
    # the permutation p-value can be no smaller than 1 / (B + 1)
    assert analysis.association["p_value"].min() >= 1 / 2000


def test_planted_markers_lead_the_marker_list(analysis, sim) -> None:
    top = analysis.association_result.top
    planted = set(sim.truth["markers"][sim.truth["potency_state"]])
    assert set(analysis.markers[top][:10]) <= planted
    # every cluster's list starts with its own state's programme
    for cluster, genes in analysis.markers.items():
        state = _majority_state(analysis.adata, cluster)
        assert set(genes[:5]) <= set(sim.truth["markers"][state])


def test_analysis_writes_slots_figures_and_a_json_section(analysis) -> None:
    a = analysis.adata
    assert {"X_pca", "X_umap"} <= set(a.obsm) and "counts" in a.layers
    assert a.uns["reference"]["params"]["lot_key"] == "lot"
    assert "table" in a.uns["composition_association"]
    assert set(analysis.figures) == {"umap_cluster", "umap_lot", "composition", "association"}
    assert analysis.pseudobulk is not None and len(analysis.pseudobulk.lots) >= 4
    section = singlecell_section(analysis)
    text = json.dumps(section, allow_nan=False)
    assert section["association"]["top"] == analysis.association_result.top
    assert section["n_lots"] == 11 and "min_detectable_r" in text
    props = analysis.composition.proportions
    np.testing.assert_allclose(props.sum(axis=1), 1.0)
    assert analysis.to_dict()["n_cells"] == a.n_obs


def _null_hits(method: str, seeds: range) -> int:
    hits = 0
    for seed in seeds:
        sim = simulate_lots(n_lots=11, cells_per_lot=120, n_genes=100, markers_per_state=10,
                            link=0.0, seed=seed)
        a = sim.to_anndata()
        res = associate_composition(a, sim.potency, cluster_key="state", method=method,
                                    n_permutations=999, rng=seed, key_added=None)
        hits += bool((res.table["q_value"] < 0.05).any())
    return hits


def test_without_a_planted_link_nothing_reaches_q_005_in_most_seeds() -> None:
    for method in ("clr", "logit", "propeller"):
        hits = _null_hits(method, range(100, 120))
        assert hits <= 4, f"{method}: {hits} of 20 null seeds had a cluster with q < 0.05"


def test_with_a_planted_link_the_state_is_found_in_most_seeds() -> None:
    found = 0
    for seed in range(200, 210):
        sim = simulate_lots(n_lots=11, cells_per_lot=120, n_genes=100, markers_per_state=10,
                            link=0.95, seed=seed)
        res = associate_composition(sim.to_anndata(), sim.potency, cluster_key="state",
                                    n_permutations=999, rng=seed, key_added=None)
        found += res.top == sim.truth["potency_state"]
    assert found >= 8


def test_leave_one_lot_out_flags_an_association_carried_by_one_lot() -> None:
    sim = simulate_lots(n_lots=10, cells_per_lot=150, n_genes=100, markers_per_state=10,
                        link=0.0, seed=3)
    a = sim.to_anndata()
    share = pd.crosstab(a.obs["lot"], a.obs["state"], normalize="index")["stressed"]
    pot = pd.Series(0.0, index=share.index, name="potency")
    extreme = share.idxmax()
    pot[extreme] = 100.0  # one lot drives the whole association
    res = associate_composition(a, pot, cluster_key="state", n_permutations=999,
                                key_added=None)
    row = res.table.set_index("cluster").loc["stressed"]
    assert row["estimate"] > 0.5
    assert not bool(row["stable"])
    assert row["loo_min_abs"] < row["estimate"]
