"""Column-level checks of one row, without pandas (the single-record path of web forms).

:func:`check_row` applies the column dictionary's rules to one row exactly as
:func:`regmed.registry.validate.parse_table` applies them to a table: unknown columns, missing
required values, types (with the same readings of text, numbers, dates and booleans), enum
values, minimum and maximum, maximum text length, ``after`` (date order within the row), the
follow-up's death rules and "value or value_text". Problems are reported as row 1 of
``file``; the tests check that both paths find the same problems.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

from regmed.errors import Problem
from regmed.registry import rules
from regmed.registry.dictionary import PSEUDONYM_COLUMN, ColumnSpec, TableSpec, load_dictionary
from regmed.registry.jpvalues import nfkc
from regmed.registry.validate import (
    _FALSE,
    _HEX,
    _TRUE,
    _to_date,
    bad_cell_message,
    given_columns,
    source_column,
)

__all__ = ["check_row", "parse_value"]


def _is_missing(raw: Any) -> bool:
    if raw is None:
        return True
    if isinstance(raw, float) and math.isnan(raw):
        return True
    return isinstance(raw, str) and not raw.strip()


def _number(raw: Any) -> float | None:
    if isinstance(raw, bool):
        return None
    try:
        x = float(raw.strip() if isinstance(raw, str) else raw)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def parse_value(raw: Any, spec: ColumnSpec) -> tuple[Any, bool, bool]:
    """Read one cell: ``(value, missing, bad)`` as :func:`~.validate.parse_column` reads it."""
    if _is_missing(raw):
        return None, True, False
    kind = spec.type
    if kind != "string" and isinstance(raw, str):
        raw = nfkc(raw)
    if kind in ("string", "enum"):
        if isinstance(raw, float) and raw.is_integer():
            text = str(int(raw))
        else:
            text = str(raw).strip()
        return text, False, kind == "enum" and text not in spec.values
    if kind in ("integer", "number"):
        x = _number(raw)
        if x is None:
            return None, False, True
        if kind == "number":
            return x, False, False
        if not x.is_integer():
            return None, False, True
        return int(x), False, False
    if kind == "date":  # as a CSV column is read (regmed.registry.jpvalues.read_date)
        d = _to_date(raw)
        return d, False, d is None
    if isinstance(raw, bool):
        return raw, False, False
    low = str(raw).strip().lower()
    if low in _TRUE:
        return True, False, False
    if low in _FALSE:
        return False, False, False
    return None, False, True


def _range(value: Any, cs: ColumnSpec, file: str, source: str) -> list[Problem]:
    if isinstance(value, str) and cs.max_length is not None and source != PSEUDONYM_COLUMN:
        if len(value) > cs.max_length:
            return [Problem(f"longer than {cs.max_length} characters: {len(value)!r}",
                            file=file, row=1, field=source)]
        return []
    if value is None or cs.type not in ("integer", "number"):
        return []
    if cs.min is not None and value < cs.min:
        return [Problem(f"below the minimum {cs.min}: {value!r}", file=file, row=1, field=source)]
    if cs.max is not None and value > cs.max:
        return [Problem(f"above the maximum {cs.max}: {value!r}", file=file, row=1, field=source)]
    return []


def _value_rules(name: str, out: dict[str, Any], given: set[str], spec: TableSpec,
                 file: str, today: dt.date | None, governed: frozenset[str]) -> list[Problem]:
    """As :func:`regmed.registry.validate.value_rules`, on one row."""
    problems = []
    for col, cs in spec.columns.items():
        msg = rules.future_problem(out.get(col), today) if cs.not_future else None
        if msg:
            problems.append(Problem(f"{msg}: {out[col].isoformat()!r}", file=file, row=1,
                                    field=col))
    by = rules.CODED_BY.get(name)
    if by and {"value", "value_text"} & given:
        text = out.get("value_text")
        found = rules.coded_problem(out.get(by), out.get("value"), text,
                                    load_dictionary().coded_values)
        if found and found[2] is not None:
            out["value_text"] = found[2]
        elif found and not (name == "baseline" and out.get(by) in governed):
            problems.append(Problem(found[1] if text is None else f"{found[1]}: {text!r}",
                                    file=file, row=1, field=found[0]))
    if name == "adverse_events":
        msg = rules.fatal_problem(out.get("grade"), out.get("outcome"))
        if msg:
            problems.append(Problem(msg, file=file, row=1, field="outcome"))
    return problems


def _row_rules(name: str, out: dict[str, Any], given: set[str], spec: TableSpec,
               file: str) -> list[Problem]:
    problems = []
    for col, cs in spec.columns.items():
        a, b = out.get(col), out.get(cs.after) if cs.after else None
        if a is not None and b is not None and a < b:
            problems.append(Problem(f"is before {cs.after}: {a!r}", file=file, row=1, field=col))
    if name == "follow_ups":
        dead = out.get("status") == "dead"
        if dead and out.get("death_on") is None and "status" in given:
            problems.append(Problem("required when status is dead", file=file, row=1,
                                    field="death_on"))
        if not dead and out.get("status") is not None and out.get("death_on") is not None:
            problems.append(Problem("given but status is not dead", file=file, row=1,
                                    field="death_on"))
        death, contact = out.get("death_on"), out.get("last_contact_on")
        if death is not None and contact is not None and death < contact:
            problems.append(Problem("is after death_on", file=file, row=1,
                                    field="last_contact_on"))
    if name in ("baseline", "visit_values", "assessments", "adjudications") and {
            "value", "value_text"} <= set(out):
        if out["value"] is None and out["value_text"] is None:
            problems.append(Problem("give value or value_text", file=file, row=1, field="value"))
    return problems


def check_row(
    name: str, row: Mapping[str, Any], spec: TableSpec, file: str,
    today: dt.date | None = None,
    governed: frozenset[str] = frozenset(),
) -> tuple[dict[str, Any], frozenset[str], list[Problem]]:
    """Parse and check one row of table ``name`` at column level (dates of ``not_future``
    columns after ``today`` refused; None: not checked).

    Returns ``(values, given, problems)``: the values in dictionary form (``patient_ref`` or
    ``patient_pseudonym`` as given; None for columns left out), the columns the row gave, and
    every problem found.
    """
    given, problems = given_columns(list(row), spec, file)
    out: dict[str, Any] = {}
    for col, cs in spec.columns.items():
        source = source_column(col, given)
        if source not in given:
            if cs.required:
                problems.append(Problem("required column is missing", file=file, field=col))
            out[source] = None
            continue
        raw = row[source]
        value, missing, bad = parse_value(raw, cs)
        if cs.required and missing:
            problems.append(Problem("required value is missing", file=file, row=1, field=source))
        if bad:
            problems.append(Problem(f"{bad_cell_message(raw, cs)}: {raw!r}", file=file, row=1,
                                    field=source))
        problems += _range(value, cs, file, source)
        if source == PSEUDONYM_COLUMN and value is not None and (
            len(value) != 64 or not set(value) <= _HEX
        ):
            problems.append(Problem(f"not a pseudonym (64 hex digits): {value!r}", file=file,
                                    row=1, field=source))
        out[source] = value
    problems += _row_rules(name, out, given, spec, file)
    problems += _value_rules(name, out, given, spec, file, today, governed)
    return out, frozenset(given), problems
