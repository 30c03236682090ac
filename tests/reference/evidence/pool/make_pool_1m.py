"""Writes the 1M-control pool of regmed.demo.pool (seed 2026) as binary columns and runs
make_pool_1m.R (MatchIt 4.7.2 built from source into /opt/rlib) to store pool_1m.json.

    PYTHONPATH=src python tests/reference/evidence/pool/make_pool_1m.py
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from regmed.demo.pool import REGIONS, pool_frame

HERE = Path(__file__).parent

if __name__ == "__main__":
    df = pool_frame(1_000_000)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        df["t"].to_numpy(np.int32).tofile(folder / "t.bin")
        np.asarray(df.index, np.int32).tofile(folder / "pid.bin")
        df["region"].cat.codes.to_numpy(np.int32).tofile(folder / "region.bin")
        df["male"].to_numpy(np.int32).tofile(folder / "male.bin")
        for c in ["age", "year", *[f"lab{j + 1}" for j in range(16)]]:
            # the values regmed fits: float32 laboratory values widened to double
            df[c].to_numpy(np.float64).tofile(folder / f"{c}.bin")
        (folder / "meta.json").write_text(json.dumps({"n": len(df), "regions": REGIONS}))
        env = {**os.environ, "R_LIBS": os.environ.get("R_LIBS", "/opt/rlib")}
        subprocess.run(["Rscript", str(HERE / "make_pool_1m.R"), str(folder),
                        str(HERE / "pool_1m.json")], check=True, env=env)
    print((HERE / "pool_1m.json").stat().st_size, "bytes written")
