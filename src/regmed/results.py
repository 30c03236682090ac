"""Shared pieces of regmed's result objects.

Every statistical function returns a frozen dataclass that inherits :class:`Result`: it
carries its inputs (``options``), its numbers, and offers ``to_dict()`` (JSON-ready) and
``summary()`` (a readable table as text).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Result", "to_jsonable", "ESTIMATE_COLUMNS", "format_table"]

#: Column order of every tidy ``estimates`` table (DESIGN.md convention 1).
ESTIMATE_COLUMNS = ("term", "estimate", "std_error", "ci_lower", "ci_upper", "statistic", "p_value")


def to_jsonable(value: Any) -> Any:
    """Convert numbers, frames, arrays, dates and dataclasses to plain JSON-serializable values.

    NaN and infinities become ``None`` so that the output is strict JSON.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if hasattr(value, "to_dict"):
            return value.to_dict()
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, pd.DataFrame):
        return [to_jsonable(r) for r in value.to_dict(orient="records")]
    if isinstance(value, pd.Series):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return None if (math.isnan(f) or math.isinf(f)) else f
    if isinstance(value, (pd.Timestamp, _dt.datetime, _dt.date)):
        return value.isoformat()
    if value is pd.NaT:
        return None
    return value


def format_table(frame: pd.DataFrame, title: str | None = None, digits: int = 4) -> str:
    """Render a DataFrame as a plain-text table with numbers rounded to ``digits``."""
    shown = frame.copy()
    for col in shown.columns:
        if pd.api.types.is_float_dtype(shown[col]):
            shown[col] = shown[col].map(lambda x: "" if pd.isna(x) else f"{x:.{digits}g}")
    text = shown.to_string(index=False)
    return f"{title}\n{text}" if title else text


@dataclasses.dataclass(frozen=True)
class Result:
    """Base class of regmed's frozen results.

    Subclasses are frozen dataclasses. ``to_dict()`` serializes every field (frames become
    lists of records); ``summary()`` prints the fields that are scalars, and subclasses
    override it to show their tables.
    """

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": type(self).__name__}
        for f in dataclasses.fields(self):
            if f.name.startswith("_") or not f.repr:
                continue
            out[f.name] = to_jsonable(getattr(self, f.name))
        return out

    def summary(self) -> str:
        rows = []
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, (int, float, str, bool, np.integer, np.floating)) or v is None:
                rows.append({"quantity": f.name, "value": v})
        frame = pd.DataFrame(rows, columns=["quantity", "value"])
        return format_table(frame, title=type(self).__name__)
