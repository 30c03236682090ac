"""Planted truths: 2 of 12 attributes drive response; associate() finds them and few others."""

from __future__ import annotations

import numpy as np
import pytest

from regmed.quality import associate, simulate_quality, variance_components


@pytest.mark.parametrize("kind,outcome", [("binary", "response"), ("continuous", "score"),
                                          ("survival", "pfs")])
def test_both_drivers_found_nulls_mostly_not(kind: str, outcome: str) -> None:
    false_hits = 0
    for seed in range(3):
        sim = simulate_quality(rng=seed)
        res = associate(sim.patients, sim.lots, outcome, sim.attributes, kind=kind,
                        adjust=["age", "sex"])
        hits = set(res.significant(0.05))
        assert {"a01", "a02"} <= hits, (seed, res.estimates[["attribute", "q_value"]])
        false_hits += len(hits - {"a01", "a02"})
        est = res.estimates.set_index("attribute")["estimate"]
        # signs of the planted effects (a01 raises response; a02 lowers it; hazards inverse)
        sign = -1 if kind == "survival" else 1
        assert sign * est["a01"] > 0 and sign * est["a02"] < 0
    assert false_hits <= 2  # of 30 null tests


def test_simulated_donor_share_is_recovered() -> None:
    sim = simulate_quality(n_lots=300, n_donors=60, rng=7)
    vc = variance_components(sim.lot_results, "a05", conf_level=None)
    # planted: donor SD 1, lot-within-donor SD 1 → ICC 0.5
    assert 0.3 < vc.icc_donor < 0.7
    lo = vc.components.set_index("component")
    assert np.sqrt(lo.at["residual", "variance"]) == pytest.approx(1.0, rel=0.2)
