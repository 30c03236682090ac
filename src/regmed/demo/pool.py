"""A synthetic national-scale control pool (claims-like) with a small treated group, for the
benchmarks and the reference checks of the Dask path (issue 18).

Each call with the same ``seed`` gives the same rows: 1,000 treated patients first, then the
controls, in chunks of one million rows (one chunk per Parquet file in ``write_pool``). Twenty
covariates — age, a calendar year (2005-2026; treated from 2016), a 5-level region factor (a
pandas categorical in a fixed level order), sex, and 16 laboratory values on scales from 0.1 to
1000 (badly scaled on purpose) — and a binary outcome ``y``; ``t`` is the treatment.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["N_TREATED", "COVARIATES", "REGIONS", "pool_chunks", "pool_frame", "write_pool"]

N_TREATED = 1_000
CHUNK = 1_000_000
LABS = 16
REGIONS = ["Hokkaido", "Kanto", "Chubu", "Kinki", "Kyushu"]
COVARIATES = ["age", "year", "region", "male", *[f"lab{j + 1}" for j in range(LABS)]]


def _chunk(n: int, treated: bool, rng: np.random.Generator, start: int) -> pd.DataFrame:
    shift = 0.35 if treated else 0.0
    df = pd.DataFrame({
        "age": rng.normal(55 + 6 * shift, 12, n).round(0),
        "year": rng.integers(2016 if treated else 2005, 2027, n).astype(np.int16),
        "region": pd.Categorical(rng.choice(REGIONS, n, p=[0.1, 0.35, 0.2, 0.2, 0.15]),
                                 categories=REGIONS),
        "male": rng.random(n) < (0.55 + 0.1 * shift),
    })
    for j in range(LABS):
        scale = 10.0 ** (j % 5 - 1)
        df[f"lab{j + 1}"] = (rng.normal(shift * (j % 3 == 0), 1, n) * scale
                             + 5 * scale).astype(np.float32)
    df["y"] = (rng.random(n) < 0.25 + 0.15 * treated).astype(np.int8)
    df["t"] = np.int8(1 if treated else 0)
    df.index = pd.RangeIndex(start, start + n, name="pid")
    return df


def pool_chunks(n_controls: int, seed: int = 2026) -> Iterator[pd.DataFrame]:
    """The treated chunk, then the controls in chunks of one million rows."""
    rng = np.random.default_rng(seed)
    yield _chunk(N_TREATED, True, rng, 0)
    done = 0
    while done < n_controls:
        n = min(CHUNK, n_controls - done)
        yield _chunk(n, False, rng, N_TREATED + done)
        done += n


def pool_frame(n_controls: int, seed: int = 2026) -> pd.DataFrame:
    """The whole pool in memory (treated first; index ``pid``)."""
    return pd.concat(list(pool_chunks(n_controls, seed)))


def write_pool(n_controls: int, folder: Path, seed: int = 2026) -> Path:
    """The pool as a Parquet data set (one file per chunk, index stored), made once."""
    out = Path(folder) / f"pool_{n_controls}"
    if (out / "_done").exists():
        return out
    out.mkdir(parents=True, exist_ok=True)
    for i, chunk in enumerate(pool_chunks(n_controls, seed)):
        chunk.to_parquet(out / f"part-{i:05d}.parquet", index=True)
    (out / "_done").write_text("ok")
    return out
