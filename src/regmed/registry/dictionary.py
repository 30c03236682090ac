"""The import/export column dictionary (``dictionary.yaml``), loaded into typed specs."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "ColumnSpec",
    "TableSpec",
    "ColumnDictionary",
    "PSEUDONYM_COLUMN",
    "load_dictionary",
    "format_dictionary",
]

DICTIONARY_FILE = Path(__file__).with_name("dictionary.yaml")
#: The column that may stand in for ``patient_ref`` (exports write it; imports accept it).
PSEUDONYM_COLUMN = "patient_pseudonym"
TYPES = ("string", "integer", "number", "date", "boolean", "enum")


@dataclass(frozen=True)
class ColumnSpec:
    """One column of an import table."""

    name: str
    type: str
    required: bool = False
    values: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    max_length: int | None = None
    ref: str | None = None
    after: str | None = None
    #: A date that may not be after today (see ``dictionary.yaml``).
    not_future: bool = False
    description: str = ""


@dataclass(frozen=True)
class TableSpec:
    """One import table: its key and its columns, in file order."""

    name: str
    description: str
    key: tuple[str, ...]
    columns: dict[str, ColumnSpec] = field(default_factory=dict)
    #: Column sets that no two records may share besides the key (e.g. one assessment of a
    #: patient's visit per endpoint and assessor role).
    unique: tuple[tuple[str, ...], ...] = ()

    @property
    def has_patient(self) -> bool:
        """True when rows name a patient by (site_code, patient_ref)."""
        return "patient_ref" in self.columns


@dataclass(frozen=True)
class ColumnDictionary:
    """All import tables, in the order they are imported."""

    version: int
    order: tuple[str, ...]
    tables: dict[str, TableSpec]
    #: Identifier columns (NFKC-normalized everywhere; see ``dictionary.yaml``).
    identifiers: tuple[str, ...] = ()
    #: Identifier columns compared case-insensitively (folded to upper case).
    case_insensitive: tuple[str, ...] = ()
    #: The values of coded endpoints and baseline variables (``value_text``), by name.
    coded_values: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _column(name: str, raw: dict[str, Any]) -> ColumnSpec:
    kind = raw.get("type", "string")
    if kind not in TYPES:
        raise ValueError(f"dictionary column {name}: unknown type {kind!r}")
    return ColumnSpec(
        name=name,
        type=kind,
        required=bool(raw.get("required", False)),
        values=tuple(str(v) for v in raw.get("values", ())),
        min=raw.get("min"),
        max=raw.get("max"),
        max_length=None if raw.get("max_length") is None else int(raw["max_length"]),
        ref=raw.get("ref"),
        after=raw.get("after"),
        not_future=bool(raw.get("not_future", False)),
        description=str(raw.get("description", "")),
    )


@lru_cache(maxsize=1)
def load_dictionary() -> ColumnDictionary:
    """Load the column dictionary shipped with regmed (read once; it is immutable)."""
    raw = yaml.safe_load(DICTIONARY_FILE.read_text(encoding="utf-8"))
    tables = {
        name: TableSpec(
            name=name,
            description=str(t.get("description", "")),
            key=tuple(t["key"]),
            columns={c: _column(c, spec or {}) for c, spec in t["columns"].items()},
            unique=tuple(tuple(u) for u in t.get("unique", ())),
        )
        for name, t in raw["tables"].items()
    }
    order = tuple(raw["order"])
    if set(order) != set(tables):
        raise ValueError("dictionary: `order` must list every table once")
    ids = raw.get("identifiers") or {}
    coded = {str(name): tuple(str(v) for v in c["values"])
             for name, c in (raw.get("coded_values") or {}).items()}
    return ColumnDictionary(version=int(raw["version"]), order=order, tables=tables,
                            identifiers=tuple(ids.get("columns", ())),
                            case_insensitive=tuple(ids.get("case_insensitive", ())),
                            coded_values=coded)


def format_dictionary() -> str:
    """The column dictionary as readable text (shown by ``regmed import --schema``)."""
    d = load_dictionary()
    lines = [
        f"regmed import column dictionary (version {d.version}); one file or sheet per table,",
        "imported in this order. Dates are YYYY-MM-DD (also 2024/4/1, 2024年4月1日,",
        "令和6年4月1日, R6.4.1 or an Excel serial); booleans true/false, 1/0, yes/no,",
        "はい/いいえ, 有/無, あり/なし.",
        "Patients are named by site_code + patient_ref (pseudonymized on import); exports write",
        f"{PSEUDONYM_COLUMN} instead of patient_ref, and imports accept either.",
        "",
    ]
    for name in d.order:
        t = d.tables[name]
        lines.append(f"{name}.csv — {t.description}")
        lines.append(f"  key: {', '.join(t.key)}")
        for u in t.unique:
            lines.append(f"  unique: {', '.join(u)}")
        for c in t.columns.values():
            kind = c.type
            if c.values:
                kind += " (" + ", ".join(c.values) + ")"
            extra = []
            if c.required:
                extra.append("required")
            if c.min is not None:
                extra.append(f"min {c.min}")
            if c.max is not None:
                extra.append(f"max {c.max}")
            if c.max_length is not None:
                extra.append(f"at most {c.max_length} characters")
            if c.ref:
                extra.append(f"refers to {c.ref}")
            if c.after:
                extra.append(f"not before {c.after}")
            if c.not_future:
                extra.append("not after today")
            desc = f" — {c.description}" if c.description else ""
            more = f" [{'; '.join(extra)}]" if extra else ""
            lines.append(f"  {c.name}: {kind}{more}{desc}")
        lines.append("")
    lines.append("coded endpoints and baseline variables (value_text is one of):")
    for name, values in d.coded_values.items():
        lines.append(f"  {name}: {', '.join(values)}")
    return "\n".join(lines).rstrip() + "\n"
