"""Build a single-cell reference from 200,000 simulated cells, then map a new 10,000-cell lot.

Simulates 21 MSC-like lots (``regmed.demo.singlecell``, 500 genes): 20 lots of 10,000 cells
form the reference, the 21st is the new lot. Times ``build_reference`` (normalization, HVGs,
PCA, NN-descent neighbours, Leiden, UMAP) and ``map_lot`` (projection on the reference PCA and
a kNN classifier; the reference is not rebuilt), and prints the peak resident memory of the
process after each step. The mapping must take under 20 s on two cores.

Run: ``PYTHONPATH=src python benchmarks/bench_singlecell.py [CELLS_PER_LOT] [--no-umap]``
"""

from __future__ import annotations

import os
import resource
import sys
import time

from regmed.demo.singlecell import simulate_lots, split_lots
from regmed.singlecell import build_reference, map_lot

CELLS_PER_LOT = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 10_000
UMAP = "--no-umap" not in sys.argv
LIMIT_S = 20.0


def peak_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    print(f"load average {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs")
    t = time.perf_counter()
    sim = simulate_lots(n_lots=21, cells_per_lot=CELLS_PER_LOT, n_genes=500, seed=1)
    # lots get cells_per_lot ± 20%; take the last lot as the new one
    ref_sim, new_sim = split_lots(sim, [sim.lots["lot"].iloc[-1]])
    ref, new = ref_sim.to_anndata(), new_sim.to_anndata()
    del sim, ref_sim
    print(f"simulated {ref.n_obs:,} reference cells and a new lot of {new.n_obs:,} cells "
          f"in {time.perf_counter() - t:.1f} s (peak {peak_mb():,.0f} MB)")

    t = time.perf_counter()
    build_reference(ref, rng=0, umap=UMAP)
    build_s = time.perf_counter() - t
    print(f"build_reference: {build_s:.1f} s, {ref.obs['leiden'].nunique()} clusters "
          f"(umap={UMAP}; peak {peak_mb():,.0f} MB)")

    t = time.perf_counter()
    m = map_lot(ref, new, rng=0)
    map_s = time.perf_counter() - t
    print(f"map_lot: {map_s:.2f} s for {new.n_obs:,} cells; mean confidence "
          f"{m.confidence['mean_confidence'].iloc[0]:.3f}; distance "
          f"{m.deviation.table['distance'].iloc[0]:.3f} (outlier above "
          f"{m.deviation.threshold:.3f}); peak {peak_mb():,.0f} MB")
    ok = map_s < LIMIT_S
    print(f"mapping {'within' if ok else 'OVER'} the {LIMIT_S:.0f} s limit")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
