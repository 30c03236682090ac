"""Propensity fit + 1:1 caliper matching: 1,000 treated against a registry of controls.

The covariates are standard normal but the last, a calendar year of enrolment (2016-2025).

Prints wall-clock seconds of ``fit_propensity`` and ``match`` (caliper 0.2 SD of the logit,
MatchIt's ``link = "linear.logit"``), the peak resident memory, and, with ``--matchit``,
the time of MatchIt (``matchit(..., method = "nearest", distance = "glm", caliper = 0.2,
link = "linear.logit")``) on the same data and whether both give the same pairs.
Wall-clock and CPU seconds are both shown: on a shared machine the CPU ratio is steadier.

Usage::

    PYTHONPATH=src python benchmarks/bench_matching.py                       # 1e6 controls
    PYTHONPATH=src python benchmarks/bench_matching.py --controls 10000000  # 1e7 controls
    R_LIBS=/path/to/MatchIt-4.7.2-lib PYTHONPATH=src python benchmarks/bench_matching.py --matchit

MatchIt >= 4.5.4 must be on R's library path for ``--matchit`` (Debian's 4.5.1 ignores
the caliper).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from regmed.evidence import fit_propensity, match

R_SCRIPT = r"""
suppressMessages(library(MatchIt))
a <- commandArgs(TRUE); n <- as.integer(a[2]); p <- as.integer(a[3])
x <- matrix(readBin(a[1], "double", n * p), nrow = n)
colnames(x) <- paste0("x", seq_len(p))
d <- data.frame(treat = readBin(a[4], "integer", n), x)
f <- reformulate(colnames(x), "treat")
st <- system.time(m <- matchit(f, data = d, method = "nearest", distance = "glm",
                               caliper = 0.2, link = "linear.logit"))
tm <- st[["elapsed"]]; cpu <- st[["user.self"]] + st[["sys.self"]]
mm <- m$match.matrix
ok <- !is.na(mm[, 1])
cat(sprintf("%.3f %.3f\n", tm, cpu), file = a[5])
write.table(cbind(as.integer(rownames(mm)[ok]), as.integer(mm[ok, 1])), a[5],
            append = TRUE, row.names = FALSE, col.names = FALSE)
cat(as.character(packageVersion("MatchIt")), "\n", file = paste0(a[5], ".version"))
"""


def make_data(n_treated: int, n_controls: int, p: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_treated + n_controls
    x = np.asfortranarray(rng.standard_normal((n, p)))  # columns contiguous, as read_csv gives
    x[:n_treated, : p // 2] += 0.3  # treated differ on half of the covariates
    # the last covariate is a calendar year of enrolment (2016-2025; treated more recent),
    # a column with a large mean relative to its spread, as era adjustment uses it
    x[:, p - 1] = rng.integers(2016, 2026, n)
    x[:n_treated, p - 1] = rng.integers(2019, 2026, n_treated)
    names = [f"x{j + 1}" for j in range(p - 1)] + ["year"]
    df = pd.DataFrame(x, columns=names)
    df.insert(0, "treat", np.r_[np.ones(n_treated, int), np.zeros(n_controls, int)])
    return df


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def run_matchit(df: pd.DataFrame, covs: list[str]
                ) -> tuple[float, float, set[tuple[int, int]], str]:
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        np.asfortranarray(df[covs].to_numpy()).T.tofile(tmpdir / "x.bin")
        df["treat"].to_numpy(dtype=np.int32).tofile(tmpdir / "t.bin")
        (tmpdir / "run.R").write_text(R_SCRIPT)
        out = tmpdir / "out.txt"
        subprocess.run(
            ["Rscript", str(tmpdir / "run.R"), str(tmpdir / "x.bin"), str(len(df)),
             str(len(covs)), str(tmpdir / "t.bin"), str(out)],
            check=True, env=os.environ.copy(),
        )
        lines = out.read_text().split("\n")
        seconds, cpu = (float(v) for v in lines[0].split())
        pairs = {(int(a) - 1, int(b) - 1) for a, b in (ln.split() for ln in lines[1:] if ln)}
        version = Path(str(out) + ".version").read_text().strip()
    return seconds, cpu, pairs, version


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--treated", type=int, default=1_000)
    ap.add_argument("--controls", type=int, default=1_000_000)
    ap.add_argument("--covariates", type=int, default=20)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--matchit", action="store_true", help="also time MatchIt in R")
    args = ap.parse_args()

    df = make_data(args.treated, args.controls, args.covariates, args.seed)
    covs = [c for c in df.columns if c != "treat"]
    print(f"data: {args.treated:,} treated, {args.controls:,} controls, {len(covs)} covariates")

    c0, t0 = time.process_time(), time.perf_counter()
    ps = fit_propensity(df, "treat", covs)
    t1 = time.perf_counter()
    m = match(df, ps, ratio=1, caliper=0.2, caliper_scale="logit")
    t2, c2 = time.perf_counter(), time.process_time()
    print(f"regmed fit_propensity: {t1 - t0:8.2f} s ({ps.iterations} IRLS iterations)")
    print(f"regmed match:          {t2 - t1:8.2f} s ({m.n_matched_treated} pairs)")
    print(f"regmed total:          {t2 - t0:8.2f} s (CPU {c2 - c0:.2f} s)")
    print(f"peak resident memory:  {peak_rss_gb():8.2f} GB")

    if args.matchit:
        seconds, cpu, r_pairs, version = run_matchit(df, covs)
        ours = set(zip(m.pairs["treated_id"].astype(int), m.pairs["control_id"].astype(int),
                       strict=True))
        print(f"MatchIt {version} matchit(): {seconds:8.2f} s (CPU {cpu:.2f} s; "
              f"{len(r_pairs)} pairs)")
        print(f"speed-up:              {seconds / (t2 - t0):8.1f}x "
              f"(CPU: {cpu / (c2 - c0):.1f}x)")
        print(f"identical pairs:       {ours == r_pairs} "
              f"(in both: {len(ours & r_pairs)}, only regmed: {len(ours - r_pairs)}, "
              f"only MatchIt: {len(r_pairs - ours)})")


if __name__ == "__main__":
    main()
