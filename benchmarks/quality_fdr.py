"""False discovery rate and power of regmed.quality.associate over repeated simulations.

Each simulation (``regmed.quality.simulate_quality``): 60 lots, 5 patients per lot, 12
attributes of which 2 drive the outcome (log odds ratio ±0.8 per SD for the binary response;
±2 per SD with noise SD 4 for the continuous score; log hazard ratio ∓0.5 per SD), a shared
lot effect, age and sex as covariates. Discoveries are attributes with BH q < 0.05.

Printed per scenario: FDR = mean of (false discoveries / max(discoveries, 1)), power = mean
share of the 2 drivers found, type I = share of null attributes with p < 0.05, and the
share of runs with any false discovery. Scenarios: one donor per lot (clustered by lot,
with the default small-sample correction, with R's coeftest reference distribution and,
for the continuous score, with the former default CR1 + t on G − 1 df); two lots per
donor clustered by lot (ignores donor-shared traits) and by donor (default; CR1 + t on
G − 1 df for the continuous score). The default small-sample correction is CR2 with
Satterthwaite df for the continuous score and CR1 + t on G − 1 df for the binary and
survival outcomes.

Run: ``PYTHONPATH=src python benchmarks/quality_fdr.py [n_runs]``  (default 200)
"""

from __future__ import annotations

import sys
import time

import numpy as np

from regmed.quality import associate, simulate_quality

DRIVERS = {"a01", "a02"}
KINDS = [("binary", "response"), ("continuous", "score"), ("survival", "pfs")]
CONTINUOUS = KINDS[1:2]
SCENARIOS = [  # label, donors, cluster, small_sample, kinds
    ("1 donor/lot, lot, default", None, "lot", True, KINDS),
    ("1 donor/lot, lot, CR1 t(G-1)", None, "lot", "CR1", CONTINUOUS),
    ("1 donor/lot, lot, R default", None, "lot", False, KINDS),
    ("2 lots/donor, lot, default", 30, "lot", True, KINDS),
    ("2 lots/donor, donor, default", 30, "donor", True, KINDS),
    ("2 lots/donor, donor, CR1 t(G-1)", 30, "donor", "CR1", CONTINUOUS),
]


def run(n_runs: int) -> None:
    print(f"{'scenario':32s} {'kind':10s} {'FDR':>6s} {'power':>6s} {'typeI':>6s} "
          f"{'anyFD':>6s} {'sec':>5s}")
    for label, n_donors, cluster, small, kinds in SCENARIOS:
        for kind, outcome in kinds:
            t0 = time.perf_counter()
            fdp, power, type1, any_fd = [], [], [], []
            for seed in range(n_runs):
                sim = simulate_quality(n_donors=n_donors, rng=seed)
                res = associate(sim.patients, sim.lots, outcome, sim.attributes, kind=kind,
                                adjust=["age", "sex"], cluster=cluster, small_sample=small)
                est = res.estimates.set_index("attribute")
                hits = set(res.significant(0.05))
                false = hits - DRIVERS
                fdp.append(len(false) / max(len(hits), 1))
                power.append(len(hits & DRIVERS) / len(DRIVERS))
                nulls = est.drop(index=sorted(DRIVERS))
                type1.append(float((nulls["p_value"] < 0.05).mean()))
                any_fd.append(bool(false))
            print(f"{label:32s} {kind:10s} {np.mean(fdp):6.3f} {np.mean(power):6.3f} "
                  f"{np.mean(type1):6.3f} {np.mean(any_fd):6.3f} "
                  f"{time.perf_counter() - t0:5.1f}")


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
