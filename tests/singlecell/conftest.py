"""Shared single-cell fixtures: one simulated set of lots and its analysis per test session."""

from __future__ import annotations

from typing import Any

import pytest

from regmed.demo.singlecell import SinglecellDemo, simulate_lots, split_lots


@pytest.fixture(scope="session")
def sim() -> SinglecellDemo:
    """12 MSC-like lots (~250 cells each), potency driven by the angiogenic state's share."""
    return simulate_lots(n_lots=12, cells_per_lot=250, link=0.95, seed=7)


@pytest.fixture(scope="session")
def ref_and_new(sim: SinglecellDemo) -> tuple[SinglecellDemo, SinglecellDemo]:
    """The first 11 lots as the reference, lot L12 held out as the new lot."""
    return split_lots(sim, ["L12"])


@pytest.fixture(scope="session")
def analysis(ref_and_new: tuple[SinglecellDemo, SinglecellDemo]) -> Any:
    """The whole chain on the 11 reference lots (with UMAP, 1,999 permutations)."""
    from regmed.singlecell import analyze_lots

    ref, _ = ref_and_new
    return analyze_lots(ref.to_anndata(), ref.potency, n_permutations=1999, rng=0)
