"""Real public data shipped inside PyPI packages, samples (or pseudo-lots) as lots.

scanpy's bundled ``pbmc68k_reduced`` (700 PBMCs, log-normalized ``raw``) is split into 8
pseudo-lots whose CD14+ monocyte content is thinned by a known, lot-specific amount; the
chain must find the monocyte cluster as the one tracking that covariate. scirpy's wheel ships
``wu2020_200`` (200 T cells with raw counts from 14 patients), analysed with patients as lots.
"""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regmed.singlecell import analyze_lots, singlecell_section

MONOCYTE_GENES = {"LYZ", "S100A8", "S100A9", "FCN1", "CST3", "TYROBP", "FCER1G", "LGALS2",
                  "CD14", "MS4A6A", "FTL", "FCGR3A", "LST1", "AIF1", "SERPINA1", "CFD"}


def test_pbmc68k_pseudo_lots_find_the_monocytes() -> None:
    import scanpy as sc

    pbmc = sc.datasets.pbmc68k_reduced()
    a = pbmc.raw.to_adata()  # log-normalized expression of 765 genes
    a.obs = pbmc.obs[["bulk_labels"]].copy()
    gen = np.random.default_rng(1)
    lot = gen.integers(0, 8, a.n_obs)
    keep_mono = np.linspace(0.15, 1.0, 8)
    mono = (a.obs["bulk_labels"] == "CD14+ Monocyte").to_numpy()
    keep = ~mono | (gen.random(a.n_obs) < keep_mono[lot])
    a = a[keep].copy()
    a.obs["lot"] = pd.Categorical([f"P{i}" for i in lot[keep]])
    potency = pd.Series(keep_mono + gen.normal(0, 0.05, 8), index=[f"P{i}" for i in range(8)],
                        name="keep_share")
    res = analyze_lots(a, potency, normalize=False, umap=False, n_permutations=999,
                       resolution=0.8, rng=0)
    top = res.association_result.top
    labels = res.adata.obs.loc[res.adata.obs["leiden"] == top, "bulk_labels"]
    assert labels.value_counts(normalize=True).index[0] == "CD14+ Monocyte"
    assert res.association.iloc[0]["estimate"] > 0.7
    assert len(set(res.markers[top][:10]) & MONOCYTE_GENES) >= 3
    assert any("pseudobulk" in w for w in res.warnings)  # no counts: test skipped, said so


def _scirpy_file() -> Path:
    try:
        dist = importlib.metadata.distribution("scirpy")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("scirpy (dev extra, test data only) is not installed")
    return Path(str(dist.locate_file("scirpy/tests/data/wu2020_200_v0_11.h5ad")))


def test_wu2020_patients_as_lots() -> None:
    from regmed.singlecell.io import read_h5ad

    a = read_h5ad(_scirpy_file())
    a = a[:, np.asarray((a.X > 0).sum(axis=0)).ravel() >= 3].copy()
    a.obs = a.obs[["patient", "cluster_orig"]].astype(str)
    patients = sorted(a.obs["patient"].unique())
    assert len(patients) == 14
    covariate = pd.Series(np.random.default_rng(5).normal(size=14), index=patients,
                          name="response")
    res = analyze_lots(a, covariate, lot_key="patient", umap=True, n_permutations=999,
                       n_pcs=15, rng=0)
    assert res.composition.counts.shape[0] == 14
    assert res.composition.counts.to_numpy().sum() == a.n_obs
    t = res.association
    assert t["q_value"].between(0, 1).all() and (t["q_value"] >= t["p_value"] - 1e-12).all()
    assert res.association_result.min_detectable_r == pytest.approx(0.6883, abs=1e-4)  # 14 lots
    json.dumps(singlecell_section(res), allow_nan=False)
    assert all(len(g) > 0 for g in res.markers.values())
