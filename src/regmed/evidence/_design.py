"""Input checks and R-style design matrices shared by the adjustment functions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from regmed.errors import DataError, Problem

_NUMERIC = object()

__all__ = ["check_columns", "treatment_array", "is_categorical", "levels_of", "model_matrix",
           "fill_columns"]


def check_columns(df: pd.DataFrame, columns: Sequence[str], what: str) -> list[Problem]:
    """Problems for columns that are missing from ``df`` or hold missing values."""
    problems: list[Problem] = []
    any_missing = {c: bool(df[c].isna().any()) for c in dict.fromkeys(columns) if c in df.columns}
    for col in columns:
        if col not in df.columns:
            problems.append(Problem(f"unknown {what} column", field=col))
            continue
        if not any_missing[col]:
            continue
        missing = np.flatnonzero(pd.isna(df[col]).to_numpy())
        if missing.size:
            first = ", ".join(str(i + 1) for i in missing[:5])
            more = " …" if missing.size > 5 else ""
            problems.append(
                Problem(
                    f"{missing.size} missing value(s) (data rows {first}{more}); "
                    "remove or impute them first",
                    row=int(missing[0]) + 1,
                    field=col,
                )
            )
    return problems


def treatment_array(df: pd.DataFrame, treatment: str) -> tuple[np.ndarray, list[Problem]]:
    """The treatment column as 0/1 int8, with problems if it is not binary 0/1 (or bool)."""
    col = df[treatment]
    if col.dtype == bool:
        return col.to_numpy().astype(np.int8), []
    values = pd.unique(col.dropna())
    try:
        ok = set(np.asarray(values, dtype=float).tolist()) <= {0.0, 1.0}
    except (TypeError, ValueError):
        ok = False
    if not ok:
        shown = ", ".join(map(str, list(values)[:5]))
        return np.zeros(len(df), np.int8), [
            Problem(f"treatment must be coded 0/1 (found {shown})", field=treatment)
        ]
    t = np.asarray(col, dtype=float).astype(np.int8)
    problems = []
    if t.sum() == 0 or t.sum() == len(t):
        problems.append(Problem("treatment has only one group", field=treatment))
    return t, problems


def is_categorical(s: pd.Series) -> bool:
    """Whether R would treat the column as a factor (character, category, or boolean)."""
    return bool(
        isinstance(s.dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(s)
        or pd.api.types.is_string_dtype(s)
        or pd.api.types.is_bool_dtype(s)
    )


def levels_of(s: pd.Series) -> list[object]:
    """Factor levels as R's ``factor()`` + ``droplevels()`` give them."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        present = set(s.dropna().unique())
        return [c for c in s.cat.categories if c in present]
    return sorted(pd.unique(s.dropna()).tolist())


def model_matrix(
    df: pd.DataFrame, columns: Sequence[str], *, drop_first: bool, intercept: bool
) -> tuple[np.ndarray, list[str]]:
    """A float64 design matrix with columns named as R's ``model.matrix`` names them.

    Numeric columns enter as they are. Categorical columns (character, category, boolean)
    are expanded into one indicator per level, named ``<column><level>``; with
    ``drop_first`` the first level is dropped (R's treatment contrasts, as in ``glm``),
    without it every level is kept (as MatchIt's balance summary does).
    """
    specs: list[tuple[str, str, object]] = []  # (name, column, level or None marker)
    if intercept:
        specs.append(("(Intercept)", "", None))
    for col in columns:
        s = df[col]
        if is_categorical(s):
            if pd.api.types.is_bool_dtype(s):
                levels: list[object] = [False, True]
                labels = ["FALSE", "TRUE"]
            else:
                levels = levels_of(s)
                labels = [str(v) for v in levels]
            start = 1 if drop_first else 0
            for lev, lab in zip(levels[start:], labels[start:], strict=True):
                specs.append((f"{col}{lab}", col, lev))
        else:
            if not pd.api.types.is_numeric_dtype(s):
                raise DataError(
                    "covariate is neither numeric nor categorical",
                    [Problem(f"unsupported type {s.dtype}", field=col)],
                )
            specs.append((col, col, _NUMERIC))
    return fill_columns(df, specs), [name for name, _, _ in specs]


def fill_columns(df: pd.DataFrame, specs: Sequence[tuple[str, str, object]],
                 numeric: object = _NUMERIC) -> np.ndarray:
    """The float64 model matrix of ``specs`` (name, column — ``""`` for the intercept — and
    level, or ``numeric`` for a numeric column) in contiguous columns."""
    x = np.empty((len(df), len(specs)), dtype=np.float64, order="F")
    for j, (_, col, lev) in enumerate(specs):
        if col == "":
            x[:, j] = 1.0
        elif lev is numeric:
            x[:, j] = df[col].to_numpy(dtype=np.float64)
        elif isinstance(df[col].dtype, pd.CategoricalDtype):  # compare codes, not objects
            cats = df[col].cat.categories
            x[:, j] = (df[col].cat.codes.to_numpy() == cats.get_loc(lev)) if lev in cats \
                else 0.0
        else:
            x[:, j] = df[col].to_numpy() == lev
    return x
