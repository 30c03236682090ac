"""National-scale control pools on disk: PS fit + 1:2 caliper matching + effect, in memory and
on Dask (issue 18).

Generates, once per size, a Parquet data set (a folder of files of 1,000,000 rows) of N
controls plus 1,000 treated patients with 20 covariates — a calendar year (2005-2026), a
5-level region factor, sex, age and 16 laboratory values on very different scales — and a
binary outcome. For each path it runs, in a fresh process, R's logistic propensity model,
1:2 nearest-neighbour matching within 0.2 SD of the logit (MatchIt's ``caliper = 0.2,
link = "linear.logit"``) and the risk difference on the matched set, and prints wall time and
the peak resident memory of the whole process tree (the Dask workers included, sampled every
0.1 s). Paths:

``memory``  pandas reads the whole data set; :func:`regmed.evidence.fit_propensity`, ``match``.
``dask``    a ``distributed.LocalCluster`` of 2 worker processes (1 thread each) reads the
            Parquet files lazily; :mod:`regmed.evidence.dask_path`.

Usage::

    PYTHONPATH=src python benchmarks/bench_pool.py --sizes 1000000 10000000 100000000 \
        --folder /tmp/regmed-pools

The in-memory path is skipped where the pool would not fit (``--memory-limit-gb``, default
20). At each size where both ran, the matched sets and estimates are compared.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd

from regmed.demo.pool import COVARIATES, N_TREATED, write_pool


def run_memory(path: Path) -> dict:
    from regmed.evidence import estimate_effect, fit_propensity, match

    t0 = time.perf_counter()
    df = pd.read_parquet(path)
    t1 = time.perf_counter()
    ps = fit_propensity(df, "t", COVARIATES)
    t2 = time.perf_counter()
    m = match(df, ps, ratio=2, caliper=0.2, covariates=())
    t3 = time.perf_counter()
    eff = estimate_effect(m, "y", kind="binary")
    t4 = time.perf_counter()
    return {"read": t1 - t0, "fit": t2 - t1, "match": t3 - t2, "effect": t4 - t3,
            "pairs": _pairs(m.pairs), "estimates": _est(eff), "candidates": len(df)}


def run_dask(path: Path) -> dict:
    import dask.dataframe as dd
    import distributed

    from regmed.evidence import estimate_effect
    from regmed.evidence.dask_path import fit_propensity_dask, match_dask, prepare_pool

    t0 = time.perf_counter()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", memory_limit="8GiB") as cluster, \
            distributed.Client(cluster) as client:
        ddf, persisted = prepare_pool(dd.read_parquet(path, index="pid"),
                                      ["t", "y", *COVARIATES], client=client)
        t1 = time.perf_counter()
        fit = fit_propensity_dask(ddf, "t", COVARIATES, client=client)
        t2 = time.perf_counter()
        got = match_dask(ddf, fit, ratio=2, caliper=0.2, covariates=(), columns=["y"],
                         client=client)
        t3 = time.perf_counter()
    eff = estimate_effect(got.matching, "y", kind="binary")
    t4 = time.perf_counter()
    return {"read": t1 - t0, "fit": t2 - t1, "match": t3 - t2, "effect": t4 - t3,
            "pairs": _pairs(got.matching.pairs), "estimates": _est(eff),
            "candidates": got.n_candidates, "iterations": fit.iterations,
            "persisted": persisted}


def _pairs(pairs: pd.DataFrame) -> str:
    import hashlib

    return hashlib.sha256(pairs.to_csv(index=False).encode()).hexdigest()[:16]


def _est(eff: object) -> list[float]:
    table = eff.estimates  # type: ignore[attr-defined]
    return [float(x) for x in table["estimate"]] + [float(x) for x in table["std_error"]]


def _tree_rss(pid: int) -> int:
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def measured(mode: str, path: Path) -> dict:
    """Run one path in a fresh process; wall time and peak RSS of its process tree."""
    proc = subprocess.Popen([sys.executable, __file__, "--child", mode, str(path)],
                            stdout=subprocess.PIPE, text=True)
    peak = [0]

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            time.sleep(0.1)

    watcher = threading.Thread(target=sample, daemon=True)
    t0 = time.perf_counter()
    watcher.start()
    out, _ = proc.communicate()
    wall = time.perf_counter() - t0
    watcher.join(1)
    if proc.returncode != 0:
        return {"error": f"exit {proc.returncode}", "wall": wall, "peak_gb": peak[0] / 2**30}
    return {**json.loads(out.strip().splitlines()[-1]), "wall": wall,
            "peak_gb": peak[0] / 2**30}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--folder", type=Path, default=Path("/tmp/regmed-pools"))
    ap.add_argument("--paths", nargs="+", default=["memory", "dask"])
    ap.add_argument("--memory-limit-gb", type=float, default=20.0)
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        mode, path = a.child
        result = (run_memory if mode == "memory" else run_dask)(Path(path))
        print(json.dumps(result))
        return
    print(f"{'controls':>11} {'path':>6} {'wall s':>8} {'read':>7} {'fit':>7} {'match':>7} "
          f"{'effect':>7} {'peak GB':>8} {'candidates':>11}  RD (SE)")
    for n in a.sizes:
        t0 = time.perf_counter()
        path = write_pool(n, a.folder)
        made = time.perf_counter() - t0
        results = {}
        for mode in a.paths:
            need_gb = (n + N_TREATED) * 110 / 2**30 * 3  # frame + design + copies
            if mode == "memory" and need_gb > a.memory_limit_gb:
                print(f"{n:>11,} {mode:>6}  skipped: would need about {need_gb:.0f} GB")
                continue
            r = measured(mode, path)
            results[mode] = r
            if "error" in r:
                print(f"{n:>11,} {mode:>6} {r['wall']:8.1f}  failed ({r['error']}), peak "
                      f"{r['peak_gb']:.2f} GB")
                continue
            rd, se = r["estimates"][0], r["estimates"][len(r["estimates"]) // 2]
            print(f"{n:>11,} {mode:>6} {r['wall']:8.1f} {r['read']:7.1f} {r['fit']:7.1f} "
                  f"{r['match']:7.1f} {r['effect']:7.2f} {r['peak_gb']:8.2f} "
                  f"{r['candidates']:>11,}  {rd:.5f} ({se:.5f})"
                  + ("  [pool kept in the workers' memory]" if r.get("persisted") else ""),
                  flush=True)
        if {"memory", "dask"} <= results.keys() and not any("error" in r for r in
                                                             results.values()):
            same = results["memory"]["pairs"] == results["dask"]["pairs"]
            diff = max(abs(x - y) for x, y in zip(results["memory"]["estimates"],
                                                   results["dask"]["estimates"], strict=True))
            print(f"{'':>11} same matched sets: {same}; largest estimate difference {diff:.2e}"
                  f" (pool made in {made:.0f} s)")


if __name__ == "__main__":
    main()
