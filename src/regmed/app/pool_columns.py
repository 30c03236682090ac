"""Whole columns checked against the study dictionary, with the texts of the per-record check.

A control pool of millions of rows (a Parquet data set, a claims extract in SQL) cannot be
checked a value at a time in Python. :func:`column_problems` checks one column of a chunk with
pandas — type, range, coded choices, required — and words each refused cell exactly as
:func:`regmed.study.validate_record` words it (the same :data:`~regmed.study.validate.MESSAGES`,
via :func:`~regmed.study.validate.parse_field` for the refused values only), so a pool, an
import and a web form refuse a value with one sentence.
"""

from __future__ import annotations

import pandas as pd

from regmed.errors import Problem
from regmed.study.model import Variable
from regmed.study.validate import limit_text as _limit_text
from regmed.study.validate import message as _msg
from regmed.study.validate import parse_field
from regmed.study.validate import value_text as _text

__all__ = ["column_problems"]


def _cells(values: pd.Series, bad: pd.Series, message: object, v: Variable, file: str,
           field: str, first_row: int, limit: int, lang: str) -> list[Problem]:
    """One problem per refused cell (at most ``limit``; then one line with the count)."""
    rows = values.index[bad.to_numpy()]
    out = []
    for pos in rows[:limit]:
        raw = values.loc[pos]
        text = message(raw) if callable(message) else str(message)
        out.append(Problem(text, file=file, row=first_row + int(pos), field=field))
    if len(rows) > limit:
        out.append(Problem(f"{len(rows) - limit} more rows refused for the same reason"
                           if lang == "en" else f"同じ理由でさらに {len(rows) - limit} 行",
                           file=file, field=field))
    return out


def column_problems(values: pd.Series, v: Variable, *, file: str, field: str | None = None,
                    first_row: int = 1, limit: int = 20, lang: str = "en") -> list[Problem]:
    """The problems of one column of a chunk for variable ``v``.

    Parameters
    ----------
    values : pandas.Series
        The column (any dtype); its positions give the rows.
    v : Variable
        The dictionary variable the column holds.
    file : str
        The file (or table) named in each problem.
    field : str, optional
        The column's name in the source (default: the variable's name).
    first_row : int
        The row number of the chunk's first value in its file.
    limit : int
        Cells listed per kind of problem before the rest are counted.
    lang : {"en", "ja"}

    Examples
    --------
    >>> import pandas as pd
    >>> from regmed.study import Variable
    >>> v = Variable(form="b", name="age", field_type="integer", label_ja="年齢", min=0,
    ...              max=120, required=True)
    >>> [(p.row, p.message) for p in column_problems(pd.Series([50, 130, None]), v,
    ...                                                file="pool.parquet")]
    [(2, 'Must be at most 120 (got 130).'), (3, 'Required: enter a value.')]
    """
    field = field or v.name
    s = values.reset_index(drop=True)
    missing = s.isna() | s.astype(str).str.strip().eq("")
    out: list[Problem] = []
    if v.required:
        out += _cells(s, missing, _msg("required", lang), v, file, field, first_row, limit,
                      lang)
    kind = v.field_type
    present = ~missing
    if kind in ("integer", "number", "calculated"):
        x = pd.to_numeric(s.where(present), errors="coerce")
        unreadable = present & x.isna()
        if kind == "integer":
            unreadable |= present & x.notna() & (x % 1 != 0)
        out += _cells(s, unreadable, lambda raw: parse_field(v, raw, lang)[1], v, file, field,
                      first_row, limit, lang)
        ok = present & ~unreadable
        if v.min is not None:
            out += _cells(x, ok & (x < float(v.min)),  # type: ignore[arg-type]
                          lambda raw: _msg("min", lang, limit=_limit_text(v.min, v),
                                           raw=_text(float(raw))),  # type: ignore[arg-type]
                          v, file, field, first_row, limit, lang)
        if v.max is not None:
            out += _cells(x, ok & (x > float(v.max)),  # type: ignore[arg-type]
                          lambda raw: _msg("max", lang, limit=_limit_text(v.max, v),
                                           raw=_text(float(raw))),  # type: ignore[arg-type]
                          v, file, field, first_row, limit, lang)
    elif kind in ("single_choice", "yes_no"):
        codes = {c.code for c in v.codes()}
        text = s.map(lambda raw: _text(raw) if not pd.isna(raw) else "")
        out += _cells(s, present & ~text.isin(codes), lambda raw: parse_field(v, raw, lang)[1],
                      v, file, field, first_row, limit, lang)
    elif kind == "date":
        d = pd.to_datetime(s.where(present).astype(str).str.slice(0, 10), format="%Y-%m-%d",
                           errors="coerce")
        out += _cells(s, present & d.isna(), lambda raw: parse_field(v, raw, lang)[1], v, file,
                      field, first_row, limit, lang)
    return sorted(out, key=lambda p: (p.row is None, p.row or 0))
