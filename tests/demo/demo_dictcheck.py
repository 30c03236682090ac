"""A small, independent checker of import tables against the registry's column dictionary.

It applies every rule ``src/regmed/registry/dictionary.yaml`` states (columns, required cells,
types, enums, min/max, refs, unique keys, ``after`` date orders) plus the rules its
descriptions state in words (administration not before enrollment, assessment not before birth
or index, death date when dead, one of value/value_text, result unit = attribute unit).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

DICTIONARY = Path(__file__).resolve().parents[2] / "src" / "regmed" / "registry" / "dictionary.yaml"
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def load_dictionary() -> dict[str, Any]:
    return yaml.safe_load(DICTIONARY.read_text(encoding="utf-8"))


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v == ""


def _date(v: Any) -> dt.date | None:
    if isinstance(v, str) and ISO.match(v):
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            return None
    return None


def _type_ok(spec: dict[str, Any], v: Any) -> bool:
    kind = spec["type"]
    if kind == "string":
        return isinstance(v, str)
    if kind == "integer":
        return isinstance(v, int) and not isinstance(v, bool) or (
            hasattr(v, "dtype") and str(getattr(v, "dtype", "")).startswith("int"))
    if kind == "number":
        try:
            return not isinstance(v, (bool, str)) and math.isfinite(float(v))
        except (TypeError, ValueError):
            return False
    if kind == "date":
        return _date(v) is not None
    if kind == "boolean":
        return isinstance(v, bool) or type(v).__name__ == "bool_"
    if kind == "enum":
        return v in spec["values"]
    raise AssertionError(f"unknown type {kind}")


def check_tables(tables: dict[str, pd.DataFrame]) -> list[str]:
    """Every problem found, as ``table, row N, column: message`` (rows are 1-based)."""
    d = load_dictionary()
    problems: list[str] = []

    def bad(table: str, row: int | None, col: str | None, msg: str) -> None:
        problems.append(f"{table}, row {row}, {col}: {msg}")

    if set(tables) != set(d["tables"]):
        bad("*", None, None, f"tables differ: {sorted(set(tables) ^ set(d['tables']))}")
    records = {t: tables[t].to_dict(orient="records") for t in d["tables"] if t in tables}
    keys: dict[str, set[tuple]] = {}
    for t, spec in d["tables"].items():
        if t not in tables:
            continue
        cols = list(spec["columns"])
        if list(tables[t].columns) != cols:
            bad(t, None, None, f"columns {list(tables[t].columns)} != {cols}")
            continue
        seen: set[tuple] = set()
        for i, rec in enumerate(records[t], start=1):
            for col, cs in spec["columns"].items():
                v = rec[col]
                if _missing(v):
                    if cs.get("required"):
                        bad(t, i, col, "required cell is empty")
                    continue
                if not _type_ok(cs, v):
                    bad(t, i, col, f"{v!r} is not a valid {cs['type']}")
                    continue
                if "min" in cs and float(v) < cs["min"]:
                    bad(t, i, col, f"{v} < min {cs['min']}")
                if "max" in cs and float(v) > cs["max"]:
                    bad(t, i, col, f"{v} > max {cs['max']}")
                if "after" in cs:
                    first = _date(rec[cs["after"]])
                    if first is not None and not _date(v) > first:  # type: ignore[operator]
                        bad(t, i, col, f"{v} is not after {cs['after']} {first}")
            key = tuple(rec[k] for k in spec["key"])
            if key in seen:
                bad(t, i, ",".join(spec["key"]), f"duplicate key {key}")
            seen.add(key)
        keys[t] = seen

    # references
    for t, spec in d["tables"].items():
        if t not in records:
            continue
        for col, cs in spec["columns"].items():
            ref = cs.get("ref")
            if not ref or ref not in records:
                continue
            ref_key = d["tables"][ref]["key"]
            for i, rec in enumerate(records[t], start=1):
                if _missing(rec[col]):
                    continue
                if all(k in rec for k in ref_key) and col in ref_key:
                    ok = tuple(rec[k] for k in ref_key) in keys[ref]
                else:
                    ok = any(r[col] == rec[col] for r in records[ref])
                if not ok:
                    bad(t, i, col, f"{rec[col]!r} not found in {ref}")

    problems += _described_rules(records)
    return problems


def _described_rules(r: dict[str, list[dict[str, Any]]]) -> list[str]:
    out: list[str] = []
    enrol = {(e["site_code"], e["patient_ref"]): e for e in r.get("enrollments", [])}
    born = {(p["site_code"], p["patient_ref"]): p["birth_year"] for p in r.get("patients", [])}
    unit = {(q["product_code"], q["attribute_code"]): q["unit"]
            for q in r.get("quality_attributes", [])}
    product = {lot["lot_code"]: lot["product_code"] for lot in r.get("lots", [])}
    for i, a in enumerate(r.get("administrations", []), start=1):
        e = enrol.get((a["site_code"], a["patient_ref"]))
        if e is None or _date(a["administered_on"]) < _date(e["enrolled_on"]):  # type: ignore
            out.append(f"administrations, row {i}, administered_on: before enrollment")
    for i, a in enumerate(r.get("assessments", []), start=1):
        key = (a["site_code"], a["patient_ref"])
        day = _date(a["assessed_on"])
        e = enrol.get(key)
        if e is None or day is None or day < _date(e["index_on"]):  # type: ignore[operator]
            out.append(f"assessments, row {i}, assessed_on: before index (or no enrollment)")
        elif key in born and day.year < born[key]:
            out.append(f"assessments, row {i}, assessed_on: before birth")
    for table in ("baseline", "assessments", "adjudications"):
        for i, b in enumerate(r.get(table, []), start=1):
            if _missing(b["value"]) == _missing(b["value_text"]):
                out.append(f"{table}, row {i}, value: exactly one of value/value_text expected")
    for i, f in enumerate(r.get("follow_ups", []), start=1):
        if (f["status"] == "dead") == _missing(f["death_on"]):
            out.append(f"follow_ups, row {i}, death_on: required exactly when status is dead")
    for i, x in enumerate(r.get("lot_results", []), start=1):
        want = unit.get((product.get(x["lot_code"]), x["attribute_code"]))
        if want != x["unit"]:
            out.append(f"lot_results, row {i}, unit: {x['unit']!r} != attribute unit {want!r}")
    return out
