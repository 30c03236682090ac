"""Type I error of regmed's sample-size re-estimation, by simulation.

Two-stage trials under H0 (no treatment effect), vectorized with numpy. At the interim the
stage-1 z statistic decides: stop for efficacy (z1 >= c1), or re-estimate the stage-2 size
with the promising-zone rule (Mehta and Pocock 2011) and test at the end with the
Cui-Hung-Wang weighted inverse-normal statistic. The stage-2 z statistic is computed from
the stage-2 patients' own data, ``z2 = S2 / sqrt(n2)`` with ``S2`` the sum of ``n2``
standardized patient contributions (drawn as one normal sum per trial). For contrast the
script also reports the naive test that pools all patients as if n2 had been fixed.

Run:  PYTHONPATH=src python benchmarks/sim_reestimation.py [--runs 1000000] [--seed 2026]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from scipy import stats

from regmed.design import group_sequential, promising_zone_n2


def simulate(
    *,
    runs: int,
    seed: int,
    effect: float = 0.0,
    n1: int = 100,
    n2_planned: int = 100,
    n2_max: int = 300,
    interim: bool = True,
    target_power: float = 0.9,
    cp_min: float = 0.5,
    alpha: float = 0.025,
    rule: str = "promising_zone",
) -> dict[str, float]:
    """Simulate ``runs`` trials; return rejection rates (CHW and naive) and mean stage-2 size.

    ``effect`` is the drift per sqrt(patient) on the z scale (0 under H0).
    """
    rng = np.random.default_rng(seed)
    if interim:
        d = group_sequential(information_rates=[n1 / (n1 + n2_planned), 1.0], alpha=alpha)
        c1, c2 = d.critical_values
    else:
        c1, c2 = math.inf, float(stats.norm.isf(alpha))
    w1 = math.sqrt(n1 / (n1 + n2_planned))
    w2 = math.sqrt(1 - w1**2)
    z1 = rng.standard_normal(runs) + effect * math.sqrt(n1)
    n2, _ = promising_zone_n2(z1, n1=n1, n2_planned=n2_planned, n2_max=n2_max, w1=w1, c2=c2,
                              target_power=target_power, cp_min=cp_min, rule=rule)
    stop = z1 >= c1
    n2 = np.where(stop, 0.0, n2)
    s2 = rng.standard_normal(runs) * np.sqrt(np.maximum(n2, 1.0)) + effect * n2
    z2 = s2 / np.sqrt(np.maximum(n2, 1.0))
    chw = stop | (w1 * z1 + w2 * z2 >= c2)
    pooled = (math.sqrt(n1) * z1 + np.sqrt(n2) * z2) / np.sqrt(n1 + n2)
    naive = stop | (pooled >= c2)
    return {
        "chw": float(chw.mean()),
        "naive": float(naive.mean()),
        "mean_n2": float(n2[~stop].mean()),
        "share_increased": float((n2 > n2_planned).mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    alpha = 0.025
    print(f"runs per scenario: {args.runs:,}; one-sided alpha {alpha}; n1 = 100, "
          "n2 planned 100, max 300; "
          "PZ: promising zone CP in [0.5, 0.9); CP rule: re-size whenever CP < 0.9")
    scenarios = [
        ("OF interim, PZ", True, "promising_zone"),
        ("no interim, PZ", False, "promising_zone"),
        ("OF interim, CP rule", True, "conditional_power"),
    ]
    for i, (label, interim, rule) in enumerate(scenarios):
        t0 = time.perf_counter()
        res = simulate(runs=args.runs, seed=args.seed + i, interim=interim, alpha=alpha,
                       rule=rule)
        secs = time.perf_counter() - t0
        for key, name in (("chw", "CHW inverse normal"), ("naive", "naive pooled test")):
            p = res[key]
            se = math.sqrt(p * (1 - p) / args.runs)
            print(f"{label:20s} {name:19s} type I error {p:.5f} (MC SE {se:.5f}); "
                  f"z vs alpha {(p - alpha) / se:+.2f}")
        print(f"{label:20s} share of trials re-sized {res['share_increased']:.4f}, mean n2 "
              f"{res['mean_n2']:.1f}, {secs:.2f} s")


if __name__ == "__main__":
    main()
