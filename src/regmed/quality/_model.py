"""Model terms of the CQA association: covariate dummies and restricted cubic splines."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["design_columns", "rcs_basis"]


def rcs_basis(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """Nonlinear terms of a restricted cubic spline (Harrell's parametrization).

    With ``x`` these span the natural cubic splines with the given knots, the same space as
    R's ``splines::ns`` with those boundary and interior knots.

    References
    ----------
    .. [1] Harrell FE (2015). Regression Modeling Strategies, 2nd ed. Springer, section 2.4.5.
    """
    k = np.asarray(knots, dtype=float)
    t_last, t_prev = k[-1], k[-2]
    scale = (t_last - k[0]) ** 2

    def p3(u: np.ndarray) -> np.ndarray:
        return np.clip(u, 0.0, None) ** 3

    cols = []
    for j in range(len(k) - 2):
        cols.append((p3(x - k[j]) - p3(x - t_prev) * (t_last - k[j]) / (t_last - t_prev)
                     + p3(x - t_last) * (t_prev - k[j]) / (t_last - t_prev)) / scale)
    return np.column_stack(cols)


def design_columns(data: pd.DataFrame, adjust: Sequence[str]) -> pd.DataFrame:
    """Covariate columns as R's model.matrix: numbers as they are, factors as 0/1 dummies."""
    parts = []
    for col in adjust:
        s = data[col]
        if pd.api.types.is_bool_dtype(s):
            parts.append(s.astype(float).rename(col).to_frame())
        elif pd.api.types.is_numeric_dtype(s):
            parts.append(s.astype(float).to_frame())
        else:
            levels = sorted(s.astype(str).unique())
            for lev in levels[1:]:
                parts.append((s.astype(str) == lev).astype(float).rename(f"{col}{lev}").to_frame())
    if not parts:
        return pd.DataFrame(index=data.index)
    return pd.concat(parts, axis=1)
