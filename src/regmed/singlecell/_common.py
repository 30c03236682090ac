"""Checks and small helpers shared by the single-cell functions (no scanpy import here)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from regmed.errors import DataError, Problem

__all__ = ["require_obs", "lot_covariate", "is_counts", "rng_seed", "clr"]


def require_obs(adata: Any, keys: Sequence[str | None], what: str) -> None:
    """Raise :class:`DataError` naming every key of ``keys`` missing from ``adata.obs``."""
    missing = [k for k in keys if k is not None and k not in adata.obs.columns]
    if missing:
        have = ", ".join(map(str, adata.obs.columns)) or "none"
        raise DataError(
            f"{what}: AnnData.obs lacks required columns",
            [Problem(f"no column {k!r} in .obs (columns: {have})", field=f"obs.{k}")
             for k in missing],
        )


def lot_covariate(covariate: pd.Series | dict[str, float], lots: Sequence[str],
                  name: str = "potency") -> pd.Series:
    """The covariate as a float Series over ``lots``; every lot must have a finite value.

    Lots of the covariate that are not in the data are ignored (the caller may note them).
    """
    s = pd.Series(covariate, dtype=object) if isinstance(covariate, dict) else covariate
    if not isinstance(s, pd.Series):
        raise DataError(f"{name} must be a pandas Series indexed by lot")
    s = s.copy()
    s.index = s.index.astype(str)
    problems = []
    if s.index.duplicated().any():
        for lot in sorted(set(s.index[s.index.duplicated()])):
            problems.append(Problem("lot given more than once", field=f"{name}[{lot}]"))
    values = pd.to_numeric(s, errors="coerce")
    for lot in lots:
        if lot not in s.index:
            problems.append(Problem(f"lot {lot!r} has no {name} value", field=f"{name}[{lot}]"))
        elif not np.isfinite(values.loc[lot]).all():
            problems.append(Problem(f"{name} of lot {lot!r} is not a number ({s.loc[lot]!r})",
                                    field=f"{name}[{lot}]"))
    if problems:
        raise DataError(f"{name} does not cover the lots of the data", problems)
    return values.loc[list(lots)].astype(float)


def is_counts(x: Any, n_check: int = 100_000) -> bool:
    """True when (a sample of) the matrix holds non-negative integers."""
    data = x.data if sparse.issparse(x) else np.asarray(x).ravel()
    data = data[:n_check]
    return bool(np.all(data >= 0) and np.all(np.abs(data - np.round(data)) < 1e-6))


def rng_seed(rng: int | np.random.Generator | None) -> int:
    """An integer seed for scanpy's ``random_state`` from regmed's ``rng`` argument."""
    if rng is None:
        return 0
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(0, 2**31 - 1))
    return int(rng)


def clr(counts: np.ndarray, pseudocount: float = 0.5) -> np.ndarray:
    """Centred log-ratio of each row of ``counts + pseudocount`` (Aitchison 1986)."""
    logs = np.log(np.asarray(counts, dtype=float) + pseudocount)
    return logs - logs.mean(axis=1, keepdims=True)
