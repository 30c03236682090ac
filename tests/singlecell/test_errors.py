"""Bad input gives a DataError naming every problem, never a traceback from scanpy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from regmed.demo.singlecell import simulate_lots
from regmed.errors import DataError
from regmed.singlecell import analyze_lots, associate_composition, build_reference, markers
from regmed.singlecell.io import read_potency_csv


@pytest.fixture(scope="module")
def small():
    return simulate_lots(n_lots=5, cells_per_lot=60, n_genes=100, markers_per_state=10, seed=4)


def test_missing_lot_key_and_lots_without_potency(small) -> None:
    a = small.to_anndata()
    with pytest.raises(DataError) as err:
        analyze_lots(a, small.potency, lot_key="donor")
    assert "obs.donor" in str(err.value)
    with pytest.raises(DataError) as err:
        analyze_lots(a, small.potency.drop(["L02", "L04"]))
    assert "L02" in str(err.value) and "L04" in str(err.value) and "2 problems" in str(err.value)
    pot = small.potency.astype(object)
    pot["L01"] = "high"
    with pytest.raises(DataError, match="not a number"):
        associate_composition(a, pot, cluster_key="state")


def test_build_reference_refuses_lot_integration_and_non_counts(small) -> None:
    a = small.to_anndata()
    with pytest.raises(DataError, match="erase the lot-specific"):
        build_reference(a, batch_key="lot")
    b = a.copy()
    b.X = np.log1p(b.X)
    with pytest.raises(DataError, match="raw counts"):
        build_reference(b)
    with pytest.raises(DataError, match="obs.run"):
        build_reference(a, batch_key="run")


def test_bad_association_options_and_too_few_lots(small) -> None:
    a = small.to_anndata()
    with pytest.raises(DataError) as err:
        associate_composition(a, small.potency, cluster_key="state", method="t",
                              n_permutations=10)
    assert "method" in str(err.value) and "n_permutations" in str(err.value)
    few = a[a.obs["lot"].isin(["L01", "L02", "L03"])].copy()
    with pytest.raises(DataError, match="at least 4 lots"):
        associate_composition(few, small.potency, cluster_key="state")
    flat = pd.Series(1.0, index=small.potency.index)
    with pytest.raises(DataError, match="same for every lot"):
        associate_composition(a, flat, cluster_key="state")


def test_markers_need_normalized_data(small) -> None:
    with pytest.raises(DataError, match="raw counts"):
        markers(small.to_anndata(), cluster_key="state")


def test_potency_csv_problems_are_reported_together(tmp_path) -> None:
    p = tmp_path / "potency.csv"
    p.write_text("lot,potency\nL01,1.5\nL02,abc\nL01,2\n,3\n")
    with pytest.raises(DataError) as err:
        read_potency_csv(p)
    text = str(err.value)
    assert "3 problems" in text and "row 2, potency" in text and "row 3, lot" in text
    q = tmp_path / "other.csv"
    q.write_text("batch,value\nL01,1\n")
    with pytest.raises(DataError, match="no column 'lot'"):
        read_potency_csv(q)
    ok = tmp_path / "ok.csv"
    ok.write_text("lot,potency\nL01,1.5\nL02,2\n")
    assert read_potency_csv(ok).to_dict() == {"L01": 1.5, "L02": 2.0}
