"""Shared helpers of regmed.quality (internal): input checks, lot tables, BH q-values."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from regmed.errors import DataError, Problem

__all__ = ["require_columns", "lot_table", "bh_adjust", "as_rng"]


def require_columns(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    """Raise :class:`DataError` naming every column of ``columns`` missing from ``frame``."""
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{name} must be a pandas DataFrame, not {type(frame).__name__}.")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"{name} lacks required columns",
            [Problem(f"column {c!r} is missing", file=name, field=c) for c in missing],
        )


def lot_table(lots: pd.DataFrame, attributes: Sequence[str], lot_key: str,
              name: str = "lots") -> pd.DataFrame:
    """Return one row per lot (index ``lot_key``) with one numeric column per attribute.

    ``lots`` is either wide (``lot_key`` plus one column per attribute) or long, as the
    registry's ``lot_results`` table (``lot_key, attribute_code, value``); long results are
    averaged over replicate rows.
    """
    attributes = list(attributes)
    if not attributes:
        raise DataError("No attributes were given.")
    if lot_key not in lots.columns and lots.index.name == lot_key:
        lots = lots.reset_index()
    long = {"attribute_code", "value"} <= set(lots.columns) and not set(attributes) <= set(
        lots.columns)
    if long:
        require_columns(lots, [lot_key, "attribute_code", "value"], name)
        sub = lots[lots["attribute_code"].isin(attributes)]
        wide = sub.pivot_table(index=lot_key, columns="attribute_code", values="value",
                               aggfunc="mean")
        missing = [a for a in attributes if a not in wide.columns]
        if missing:
            raise DataError(f"{name} has no results for some attributes",
                            [Problem(f"no results for attribute {a!r}", file=name,
                                     field="attribute_code") for a in missing])
        return wide[attributes].astype(float)
    require_columns(lots, [lot_key, *attributes], name)
    dup = lots[lot_key][lots[lot_key].duplicated()]
    if len(dup):
        raise DataError(f"{name} has duplicated lots",
                        [Problem(f"lot {v!r} appears more than once", file=name, field=lot_key)
                         for v in dup.unique()[:20]])
    out = lots.set_index(lot_key)[attributes]
    problems = [Problem(f"attribute {a!r} is not numeric", file=name, field=a)
                for a in attributes if not pd.api.types.is_numeric_dtype(out[a])]
    if problems:
        raise DataError(f"{name} has non-numeric attributes", problems)
    return out.astype(float)


def bh_adjust(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values) as R's ``p.adjust(method = "BH")``.

    NaN p-values stay NaN and do not count in the number of tests.

    References
    ----------
    .. [1] Benjamini Y, Hochberg Y (1995). Controlling the false discovery rate: a practical
       and powerful approach to multiple testing. J R Stat Soc B 57:289-300.
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return out
    pv = p[ok]
    order = np.argsort(pv)[::-1]  # decreasing, as p.adjust
    ranks = np.arange(m, 0, -1)
    adjusted = np.minimum.accumulate(pv[order] * m / ranks)
    q = np.empty(m)
    q[order] = np.minimum(adjusted, 1.0)
    out[ok] = q
    return out


def as_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    """Return a numpy Generator from a Generator, an int seed or None (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)
