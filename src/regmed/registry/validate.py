"""Column-level validation of import tables, vectorized with pandas.

:func:`parse_table` turns one raw table (strings from CSV, or typed cells from Excel, Parquet or
the demo generator) into a frame of plain Python values in dictionary form and lists every
problem with its file, 1-based row and column: unknown or missing columns, missing required
values, wrong types, values outside the enum or the range, dates in the wrong order within a row,
and duplicate keys. Cross-table checks (references, units, date order against other tables)
live in :mod:`regmed.registry.importer`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from regmed.errors import Problem
from regmed.registry import rules
from regmed.registry.dictionary import PSEUDONYM_COLUMN, ColumnSpec, TableSpec, load_dictionary
from regmed.registry.jpvalues import DATE_FORMS, FALSE_WORDS, TRUE_WORDS, nfkc, read_date

__all__ = ["ParsedTable", "parse_table", "parse_column", "problems_at", "given_columns",
           "source_column", "bad_cell_message", "value_rules"]

_TRUE = set(TRUE_WORDS)
_FALSE = set(FALSE_WORDS)
_HEX = set("0123456789abcdef")
#: How pandas names a column whose header cell is empty (or covered by a merged cell).
_UNNAMED = re.compile(r"Unnamed: (\d+)(?:_level_\d+)?")


@dataclass
class ParsedTable:
    """A validated table: values in dictionary form, which columns the file gave, problems."""

    name: str
    file: str
    frame: pd.DataFrame
    given: frozenset[str]
    problems: list[Problem]

    @property
    def header_ok(self) -> bool:
        """True when the header has no problem (every problem names a row): only then do
        checks against other tables and the stored records mean anything."""
        return all(q.row is not None for q in self.problems)


def problems_at(
    mask: pd.Series, file: str, field: str, message: str, values: pd.Series | None = None
) -> list[Problem]:
    """One problem per True row of ``mask`` (rows are 1-based: index + 1)."""
    idx = np.flatnonzero(mask.to_numpy(dtype=bool))
    if values is None:
        return [Problem(message, file=file, row=int(i) + 1, field=field) for i in idx]
    vals = values.to_numpy(dtype=object)
    return [Problem(f"{message}: {vals[i]!r}", file=file, row=int(i) + 1, field=field) for i in idx]


def _missing(raw: pd.Series) -> pd.Series:
    miss = raw.isna()
    if raw.dtype == object:
        miss = miss | raw.map(lambda v: isinstance(v, str) and not v.strip()).astype(bool)
    return miss


def _text(raw: pd.Series, missing: pd.Series) -> pd.Series:
    def conv(v: object) -> str:
        if isinstance(v, float) and v.is_integer():
            return str(int(v))  # Excel gives numeric codes as floats
        return str(v).strip()

    if raw.dtype == object and not missing.any():
        out = raw.map(lambda v: v.strip() if isinstance(v, str) else conv(v))
    else:
        out = raw.where(missing, raw[~missing].map(conv)) if len(raw) else raw
    return out.astype(object).where(~missing, None)


def _to_date(v: object) -> object:
    """The day of a date cell (:func:`regmed.registry.jpvalues.read_date`), None if unreadable."""
    try:
        return read_date(v)
    except ValueError:
        return None


def _nfkc_text(text: pd.Series) -> pd.Series:
    """NFKC of the cells that are not plain ASCII (full-width digits, letters, signs)."""
    wide = text.map(lambda v: isinstance(v, str) and not v.isascii()).astype(bool)
    if wide.any():
        text = text.copy()
        text[wide] = text[wide].map(nfkc)
    return text


def _nfkc_cells(raw: pd.Series) -> pd.Series:
    """NFKC of the text cells of a column of mixed cells (other cells as they are)."""
    return raw.map(lambda v: nfkc(v) if isinstance(v, str) and not v.isascii() else v)


def _dates(text: pd.Series, missing: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Read a column of date texts: the ISO ones fast, the others one distinct text at a time."""
    shaped = text.str.len().eq(10) & text.str[4].eq("-") & text.str[7].eq("-")
    ts = pd.to_datetime(text.where(shaped & ~missing, None), format="%Y-%m-%d", errors="coerce")
    values = pd.Series(None, index=text.index, dtype=object)
    good = ts.notna()
    values[good] = ts[good].dt.date
    rest = ~missing & ~good
    if rest.any():
        values[rest] = text[rest].map({t: _to_date(t) for t in text[rest].unique()})
    return values, ~missing & values.isna()


def parse_column(raw: pd.Series, spec: ColumnSpec) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Parse one column.

    Returns ``(values, missing, bad)``: the parsed values (object Series of Python values,
    None where missing or unreadable), the mask of empty cells and the mask of cells that
    could not be read.
    """
    values, missing, bad = _parse_column(raw, spec)
    values = values.astype(object)
    return values.where(values.notna(), None), missing.astype(bool), bad.astype(bool)


def _parse_text_column(raw: pd.Series, spec: ColumnSpec) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Fast path for a column of strings (as read from CSV)."""
    text = raw.str.strip()
    missing = text.eq("")
    kind = spec.type
    if kind != "string":
        text = _nfkc_text(text)
    if kind in ("string", "enum"):
        values = text.where(~missing, None)
        bad = ~missing & ~values.isin(list(spec.values)) if kind == "enum" else missing & False
        return values, missing, bad
    if kind in ("integer", "number"):
        num = pd.to_numeric(text.where(~missing, None), errors="coerce").astype("float64")
        bad = ~missing & (num.isna() | ~np.isfinite(num.fillna(0.0)))
        if kind == "number":
            return num.astype(object).where(~missing & ~bad, None), missing, bad
        bad = bad | (~missing & num.notna() & (num % 1 != 0))
        ok = ~missing & ~bad
        values = pd.Series(None, index=raw.index, dtype=object)
        values[ok] = [int(x) for x in num[ok].tolist()]
        return values, missing, bad
    if kind == "date":
        values, bad = _dates(text, missing)
        return values, missing, bad
    low = text.str.lower()
    values = pd.Series(None, index=raw.index, dtype=object)
    values[low.isin(_TRUE)] = True
    values[low.isin(_FALSE)] = False
    return values, missing, ~missing & values.isna()


def _parse_column(raw: pd.Series, spec: ColumnSpec) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Parse one column (see :func:`parse_column`)."""
    raw = raw.reset_index(drop=True)
    if raw.dtype == object and pd.api.types.infer_dtype(raw, skipna=False) == "string":
        return _parse_text_column(raw, spec)
    missing = _missing(raw)
    none = pd.Series(False, index=raw.index)
    kind = spec.type
    if kind != "string" and raw.dtype == object:
        raw = _nfkc_cells(raw)
    if kind in ("string", "enum"):
        values = _text(raw, missing)
        bad = none
        if kind == "enum":
            bad = ~missing & ~values.isin(list(spec.values))
        return values, missing, bad
    if kind in ("integer", "number"):
        if pd.api.types.is_bool_dtype(raw.dtype):
            num = pd.Series(np.nan, index=raw.index)
        else:
            src = raw if raw.dtype != object else raw.where(~missing, None)
            num = pd.to_numeric(src, errors="coerce").astype("float64")
        bad = ~missing & (num.isna() | ~np.isfinite(num.fillna(0.0)))
        if kind == "integer":
            bad = bad | (~missing & num.notna() & (num % 1 != 0))
            ok = ~missing & ~bad
            values = pd.Series(None, index=raw.index, dtype=object)
            values[ok] = [int(x) for x in num[ok].tolist()]
        else:
            values = num.astype(object).where(~missing & ~bad, None)
        return values, missing, bad
    if kind == "date":
        if pd.api.types.is_datetime64_any_dtype(raw.dtype):
            ts = pd.to_datetime(raw)
            values = pd.Series(ts.dt.date, index=raw.index, dtype=object)
            bad = ~missing & (ts.dt.normalize() != ts)
        else:
            values = raw.map(lambda v: None if v is None else _to_date(v)).astype(object)
            values = values.where(~missing, None)
            bad = ~missing & values.isna()
        return values.where(~bad, None), missing, bad
    if kind == "boolean":
        if pd.api.types.is_bool_dtype(raw.dtype):
            return raw.astype(object).where(~missing, None), missing, none
        low = raw.map(lambda v: nfkc(str(v)).lower())
        values = pd.Series(None, index=raw.index, dtype=object)
        values[low.isin(_TRUE) & ~missing] = True
        values[low.isin(_FALSE) & ~missing] = False
        bad = ~missing & values.isna()
        return values, missing, bad
    raise ValueError(f"unknown column type {kind!r}")  # pragma: no cover


def _type_message(spec: ColumnSpec) -> str:
    return {
        "integer": "not a whole number",
        "number": "not a number",
        "date": f"not a date ({DATE_FORMS})",
        "boolean": "not a boolean (true/false, 1/0, yes/no, はい/いいえ, 有/無, あり/なし)",
        "enum": f"not one of {', '.join(spec.values)}",
    }.get(spec.type, "not valid")


def bad_cell_message(raw: object, spec: ColumnSpec) -> str:
    """Why a cell of column ``spec`` cannot be read (for a date, the particular reason: no such
    day, outside its era, Excel serial 60, ...)."""
    if spec.type == "date":
        try:
            read_date(raw)
        except ValueError as exc:
            return str(exc)
    return _type_message(spec)


def _bad_cells(bad: pd.Series, raw: pd.Series, spec: ColumnSpec, file: str, field: str
               ) -> list[Problem]:
    if spec.type != "date":
        return problems_at(bad, file, field, _type_message(spec), raw)
    vals = raw.reset_index(drop=True).to_numpy(dtype=object)
    return [Problem(f"{bad_cell_message(vals[i], spec)}: {vals[i]!r}", file=file,
                    row=int(i) + 1, field=field)
            for i in np.flatnonzero(bad.to_numpy(dtype=bool))]


def given_columns(columns: list[str], spec: TableSpec, file: str
                  ) -> tuple[set[str], list[Problem]]:
    """The known columns a table (or row) gives, and the problems of its header: unknown
    columns, and ``patient_ref`` given together with ``patient_pseudonym``."""
    problems = []
    allowed = set(spec.columns) | ({PSEUDONYM_COLUMN} if spec.has_patient else set())
    for i, c in enumerate(columns):
        unnamed = _UNNAMED.fullmatch(c)
        if unnamed or not c:
            n = int(unnamed.group(1)) + 1 if unnamed else i + 1
            problems.append(Problem(
                f"column {n} has no name in the header row (an empty or merged header cell; "
                "give each column its own name)", file=file))
        elif c not in allowed:
            problems.append(Problem("unknown column", file=file, field=c))
    given = set(columns) & allowed
    if spec.has_patient and "patient_ref" in given and PSEUDONYM_COLUMN in given:
        problems.append(Problem(f"give patient_ref or {PSEUDONYM_COLUMN}, not both",
                                file=file, field=PSEUDONYM_COLUMN))
    return given, problems


def source_column(col: str, given: set[str]) -> str:
    """The column that holds dictionary column ``col`` (``patient_ref`` may come as the
    pseudonym)."""
    if col == "patient_ref" and col not in given and PSEUDONYM_COLUMN in given:
        return PSEUDONYM_COLUMN
    return col


def parse_table(name: str, raw: pd.DataFrame, spec: TableSpec, file: str,
                today: dt.date | None = None,
                governed: frozenset[str] = frozenset()) -> ParsedTable:
    """Parse and check one table at column level (see the module docstring); dates of
    ``not_future`` columns after ``today`` are refused (None: not checked). Baseline variables
    in ``governed`` (those the stored study dictionary defines) are checked by the dictionary,
    not by the registry's ``coded_values``."""
    raw = raw.reset_index(drop=True)
    raw.columns = [str(c).strip() for c in raw.columns]
    given, problems = given_columns(list(dict.fromkeys(raw.columns)), spec, file)
    dup_cols = raw.columns[raw.columns.duplicated()].unique().tolist()
    for c in dup_cols:
        problems.append(Problem("column given more than once", file=file, field=c))
    raw = raw.loc[:, ~raw.columns.duplicated()]
    out = pd.DataFrame(index=raw.index)
    empty = pd.Series([None] * len(raw), index=raw.index, dtype=object)
    for col, cs in spec.columns.items():
        source = source_column(col, given)
        if source not in given:
            if cs.required:
                problems.append(Problem("required column is missing", file=file, field=col))
            out[source] = empty.copy()
            continue
        values, missing, bad = parse_column(raw[source], cs)
        if cs.required:
            problems += problems_at(missing, file, source, "required value is missing")
        problems += _bad_cells(bad, raw[source], cs, file, source)
        if cs.max_length is not None and source != PSEUDONYM_COLUMN:
            lengths = values.map(lambda v: len(v) if isinstance(v, str) else 0)
            problems += problems_at(lengths > cs.max_length, file, source,
                                    f"longer than {cs.max_length} characters", lengths)
        if cs.type in ("integer", "number") and (cs.min is not None or cs.max is not None):
            num = pd.to_numeric(values, errors="coerce")
            if cs.min is not None:
                low = num < cs.min
                problems += problems_at(low, file, source, f"below the minimum {cs.min}", num)
            if cs.max is not None:
                high = num > cs.max
                problems += problems_at(high, file, source, f"above the maximum {cs.max}", num)
        if source == PSEUDONYM_COLUMN:
            bad_p = values.map(lambda v: v is not None and (len(v) != 64 or not set(v) <= _HEX))
            problems += problems_at(
                bad_p.astype(bool), file, source, "not a pseudonym (64 hex digits)", values
            )
        out[source] = values
    if spec.has_patient and PSEUDONYM_COLUMN not in out:
        out[PSEUDONYM_COLUMN] = empty.copy()  # neither patient column given (reported above)
    for col, cs in spec.columns.items():
        if cs.after and col in out and cs.after in out:
            a, b = out[col], out[cs.after]
            both = a.notna() & b.notna()
            early = pd.Series(False, index=out.index)
            if both.any():
                early[both] = [x < y for x, y in zip(a[both], b[both], strict=True)]
            problems += problems_at(early, file, col, f"is before {cs.after}", a)
    if name == "follow_ups" and {"status", "death_on"} <= set(out.columns):
        dead = out["status"] == "dead"
        problems += problems_at(
            dead & out["death_on"].isna() & ("status" in given),
            file,
            "death_on",
            "required when status is dead",
        )
        problems += problems_at(
            ~dead & out["status"].notna() & out["death_on"].notna(),
            file,
            "death_on",
            "given but status is not dead",
        )
        late = pd.Series(False, index=out.index)
        both = out["death_on"].notna() & out["last_contact_on"].notna()
        if both.any():
            late[both] = [
                d < c
                for d, c in zip(
                    out.loc[both, "death_on"], out.loc[both, "last_contact_on"], strict=True
                )
            ]
        problems += problems_at(late, file, "last_contact_on", "is after death_on")
    if name in ("baseline", "visit_values", "assessments", "adjudications", "lot_results"):
        if {"value", "value_text"} <= set(out.columns):
            neither = out["value"].isna() & out["value_text"].isna()
            problems += problems_at(neither, file, "value", "give value or value_text")
    problems += value_rules(name, out, given, spec, file, today, governed)
    problems += _duplicates(out, spec, file)
    return ParsedTable(name, file, out, frozenset(given), problems)


def value_rules(name: str, out: pd.DataFrame, given: set[str] | frozenset[str],
                spec: TableSpec, file: str, today: dt.date | None,
                governed: frozenset[str] = frozenset()) -> list[Problem]:
    """The value rules of :mod:`regmed.registry.rules` on parsed rows: dates after ``today``,
    coded endpoints and variables (``value_text`` NFKC-normalized in place when that makes it
    one of the codes), grade 5 adverse events with another outcome than fatal."""
    problems: list[Problem] = []
    for col, cs in spec.columns.items():
        if cs.not_future and today is not None and col in out:
            for i, v in enumerate(out[col].tolist()):
                msg = rules.future_problem(v, today)
                if msg:
                    problems.append(Problem(f"{msg}: {v.isoformat()!r}", file=file, row=i + 1,
                                            field=col))
    by = rules.CODED_BY.get(name)
    coded = load_dictionary().coded_values
    if by and by in out and "value_text" in out and ({"value", "value_text"} & set(given)):
        rows = np.flatnonzero(out[by].isin(list(coded)).to_numpy(dtype=bool))
        for i in rows:
            v, text = out["value"].iat[i] if "value" in out else None, out["value_text"].iat[i]
            found = rules.coded_problem(out[by].iat[i], v, text, coded)
            if found and found[2] is not None:
                out.iloc[i, out.columns.get_loc("value_text")] = found[2]
            elif found and not (name == "baseline" and out[by].iat[i] in governed):
                problems.append(Problem(f"{found[1]}: {text!r}" if text is not None else found[1],
                                        file=file, row=int(i) + 1, field=found[0]))
    if name == "adverse_events" and "grade" in out and "outcome" in out:
        for i in np.flatnonzero(out["grade"].eq(rules.FATAL_GRADE).to_numpy(dtype=bool)):
            msg = rules.fatal_problem(out["grade"].iat[i], out["outcome"].iat[i])
            if msg:
                problems.append(Problem(msg, file=file, row=int(i) + 1, field="outcome"))
    return problems


def _duplicates(out: pd.DataFrame, spec: TableSpec, file: str) -> list[Problem]:
    cols = [PSEUDONYM_COLUMN if (c == "patient_ref" and c not in out) else c for c in spec.key]
    keyed = out[cols]
    complete = keyed.notna().all(axis=1)
    dup = keyed.duplicated(keep="first") & complete
    if not dup.any():
        return []
    first: dict[tuple[object, ...], int] = {}
    problems = []
    for i, k in enumerate(keyed.itertuples(index=False, name=None)):
        if not complete.iat[i]:
            continue
        if k in first and dup.iat[i]:
            problems.append(
                Problem(
                    f"duplicate key ({', '.join(map(str, k))}); also in row {first[k]}",
                    file=file,
                    row=i + 1,
                    field=", ".join(spec.key),
                )
            )
        first.setdefault(k, i + 1)
    return problems
