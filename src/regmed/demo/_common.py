"""Pieces shared by the demo scenarios: the result type, column orders, dates and link functions."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from regmed.errors import DataError, Problem
from regmed.results import Result, format_table

__all__ = ["DemoData", "COLUMNS", "TABLE_ORDER"]

#: Import order of the registry's tables (``dictionary.yaml``: ``order``).
TABLE_ORDER: tuple[str, ...] = (
    "sites",
    "products",
    "indications",
    "quality_attributes",
    "donors",
    "lots",
    "lot_results",
    "lot_files",
    "shipments",
    "patients",
    "baseline",
    "visit_values",
    "enrollments",
    "administrations",
    "assessments",
    "adjudications",
    "adverse_events",
    "follow_ups",
)

#: Columns of every table, in the order of the registry's import column dictionary.
COLUMNS: dict[str, tuple[str, ...]] = {
    "sites": ("site_code", "name", "country"),
    "products": ("product_code", "name", "type", "approval_kind", "approval_date",
                 "receipt_min_temp_c", "receipt_max_temp_c", "max_time_out_of_storage_min"),
    "indications": ("indication_code", "product_code", "name"),
    "quality_attributes": (
        "product_code", "attribute_code", "name", "unit", "method", "lower_spec", "upper_spec",
        "spec_category",
    ),
    "donors": ("donor_code", "sex", "birth_year"),
    "lots": (
        "lot_code", "product_code", "donor_code", "process_version", "manufactured_on",
        "released_on", "status", "coa_reference",
    ),
    "lot_results": ("lot_code", "attribute_code", "value", "value_text", "unit", "measured_on"),
    "lot_files": ("lot_code", "kind", "path", "sha256", "size_bytes", "description"),
    "shipments": (
        "shipment_code", "lot_code", "site_code", "shipped_on", "received_on",
        "receipt_temperature_c", "time_out_of_storage_min", "viability_at_receipt_pct",
        "deviation_reference",
    ),
    "patients": ("site_code", "patient_ref", "sex", "birth_year", "donor_code"),
    "baseline": ("site_code", "patient_ref", "variable", "value", "value_text"),
    "visit_values": ("site_code", "patient_ref", "visit", "variable", "value", "value_text"),
    "enrollments": (
        "site_code", "patient_ref", "indication_code", "cohort", "direction", "source",
        "index_on", "enrolled_on",
    ),
    "administrations": (
        "site_code", "patient_ref", "lot_code", "administered_on", "dose", "dose_unit", "route",
        "surgery", "oos_request_documented",
    ),
    "assessments": (
        "assessment_ref", "site_code", "patient_ref", "endpoint", "visit", "assessed_on",
        "value", "value_text", "assessor", "assessor_role", "blinded",
    ),
    "adjudications": (
        "assessment_ref", "reviewer", "value", "value_text", "adjudicated_on", "consensus",
        "reason",
    ),
    "adverse_events": (
        "site_code", "patient_ref", "ae_ref", "term", "onset_on", "serious", "grade", "related",
        "outcome",
    ),
    "follow_ups": (
        "site_code", "patient_ref", "last_contact_on", "status", "death_on", "death_cause",
    ),
}

#: Columns that hold whole numbers.
INTEGER_COLUMNS = {
    ("donors", "birth_year"), ("patients", "birth_year"), ("adverse_events", "grade"),
}
#: Columns that hold numbers.
NUMBER_COLUMNS = {
    ("products", "receipt_min_temp_c"), ("products", "receipt_max_temp_c"),
    ("products", "max_time_out_of_storage_min"),
    ("quality_attributes", "lower_spec"), ("quality_attributes", "upper_spec"),
    ("lot_results", "value"), ("shipments", "receipt_temperature_c"),
    ("shipments", "time_out_of_storage_min"), ("shipments", "viability_at_receipt_pct"),
    ("baseline", "value"), ("visit_values", "value"), ("administrations", "dose"),
    ("assessments", "value"), ("adjudications", "value"),
}


@dataclasses.dataclass(frozen=True)
class DemoData(Result):
    """A generated demo survey: registry tables, the planted truth and the evaluation plan.

    Attributes
    ----------
    scenario : str
        ``"sci"`` or ``"heart_failure_shortfall"``.
    seed : int or None
        The seed the data were generated with (``None`` when a Generator was passed).
    params : dict
        Every parameter the scenario ran with (defaults filled in).
    tables : dict of str to pandas.DataFrame
        One frame per registry import table (keys and columns as in the registry's column
        dictionary ``regmed/registry/dictionary.yaml``), in import order. Dates are ISO
        strings ``YYYY-MM-DD``, booleans are ``bool``, missing optional cells are ``None``/NaN.
    truth : dict
        The planted parameters and true effects (see the scenario's docstring); the entry
        ``"patients"`` is a per-patient frame with each patient's true response probabilities.
    plan_yaml : str
        The evaluation plan of the scenario (YAML text).
    """

    scenario: str
    seed: int | None
    params: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    truth: dict[str, Any]
    plan_yaml: str

    def summary(self) -> str:
        """Rows per table, patients per cohort and the planted effect, as text."""
        rows = pd.DataFrame(
            {"table": list(self.tables), "rows": [len(f) for f in self.tables.values()]}
        )
        cohorts = self.tables["enrollments"]["cohort"].value_counts().rename_axis("cohort")
        cohort_frame = cohorts.reset_index(name="patients")
        scalars = {k: v for k, v in self.truth.items() if isinstance(v, (int, float, str))}
        truth_frame = pd.DataFrame({"quantity": list(scalars), "value": list(scalars.values())})
        parts = [
            f"DemoData: scenario {self.scenario!r}, seed {self.seed}",
            format_table(rows, title="Tables"),
            format_table(cohort_frame, title="Cohorts"),
            format_table(truth_frame, title="Planted truth"),
        ]
        return "\n\n".join(parts)

    def write_csv(self, folder: str | Path) -> Path:
        """Write ``<table>.csv`` for every table and ``plan.yaml`` into ``folder``.

        Booleans are written as ``true``/``false`` and missing cells as empty fields, as the
        registry's import expects. Returns the folder.
        """
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        for name, frame in self.tables.items():
            shown = frame.copy()
            for col in shown.columns:
                if pd.api.types.is_bool_dtype(shown[col]):
                    shown[col] = shown[col].map({True: "true", False: "false"})
            shown.to_csv(out / f"{name}.csv", index=False)
        (out / "plan.yaml").write_text(self.plan_yaml, encoding="utf-8")
        return out


def check_params(
    scenario: str, defaults: Mapping[str, Any], given: Mapping[str, Any]
) -> dict[str, Any]:
    """Merge ``given`` into ``defaults``; raise one DataError listing every bad parameter."""
    problems = [
        Problem(f"unknown parameter for scenario {scenario!r}; known: {sorted(defaults)}",
                field=k)
        for k in given
        if k not in defaults
    ]
    params = dict(defaults)
    params.update({k: v for k, v in given.items() if k in defaults})
    for k, v in params.items():
        if k.startswith("n_"):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                problems.append(Problem(f"must be a whole number >= 0, got {v!r}", field=k))
        elif k.endswith("_rate") and not (_is_number(v) and 0 <= v <= 1):
            problems.append(Problem(f"must be a number in [0, 1], got {v!r}", field=k))
        elif _is_number(defaults[k]) and not _is_number(v):
            problems.append(Problem(f"must be a number, got {v!r}", field=k))
        elif k.endswith("_start") or k.endswith("_end") or k.endswith("_on") or k.endswith("date"):
            try:
                params[k] = np.datetime64(str(v), "D")
            except ValueError:
                problems.append(Problem(f"not a date (YYYY-MM-DD): {v!r}", field=k))
    for k in ("n_sites",):
        if k in params and isinstance(params[k], int) and params[k] < 1:
            problems.append(Problem("at least one site is needed", field=k))
    years = params.get("accrual_years")
    if years is not None and _is_number(years) and not years > 0:
        problems.append(Problem(f"must be > 0, got {years!r}", field="accrual_years"))
    start, end = params.get("historical_start"), params.get("historical_end")
    if isinstance(start, np.datetime64) and isinstance(end, np.datetime64) and end < start:
        problems.append(Problem("must not be before historical_start", field="historical_end"))
    if problems:
        raise DataError(f"Bad parameters for demo scenario {scenario!r}", problems)
    return params


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and (
        math.isfinite(float(v)))


def expit(x: np.ndarray) -> np.ndarray:
    """Logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


def logit(p: float) -> float:
    """Log-odds of a probability."""
    return math.log(p / (1.0 - p))


def norm_cdf(x: np.ndarray) -> np.ndarray:
    """Standard normal distribution function (absolute error below 1e-7).

    Uses the rational approximation 26.2.17 of Abramowitz and Stegun (1964), vectorized so
    that the package needs nothing beyond numpy.
    """
    z = np.asarray(x, dtype=float)
    t = 1.0 / (1.0 + 0.2316419 * np.abs(z))
    poly = t * (0.319381530 + t * (-0.356563782 + t * (1.781477937 + t * (
        -1.821255978 + t * 1.330274429))))
    upper = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi) * poly
    return np.where(z >= 0, 1.0 - upper, upper)


def solve_mean(f: Any, target: float, lo: float = -20.0, hi: float = 20.0) -> float:
    """Find ``b`` with ``f(b) == target`` for an increasing ``f`` by bisection."""
    for _ in range(48):
        mid = 0.5 * (lo + hi)
        if f(mid) < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def days(start: Any, offsets: Any) -> np.ndarray:
    """Dates ``start + offsets`` (whole days) as ``datetime64[D]``."""
    step = np.asarray(np.round(offsets), dtype="int64").astype("timedelta64[D]")
    return np.asarray(np.asarray(start, dtype="datetime64[D]") + step, dtype="datetime64[D]")


def optional(mask: Any, values: Any) -> np.ndarray:
    """``values`` where ``mask`` is true, else ``None`` (an object array)."""
    vals = np.broadcast_to(np.asarray(values, dtype=object), np.shape(mask))
    return np.asarray([v if m else None for m, v in zip(mask, vals, strict=True)], dtype=object)


def iso(dates: Any) -> list[str | None]:
    """ISO strings of ``datetime64[D]`` values (``None`` for NaT)."""
    arr = np.asarray(dates, dtype="datetime64[D]")
    text = np.datetime_as_string(arr, unit="D")
    return [None if np.isnat(d) else str(t) for d, t in zip(arr, text, strict=True)]


def year_of(dates: np.ndarray) -> np.ndarray:
    """Calendar year of ``datetime64[D]`` values."""
    return dates.astype("datetime64[Y]").astype(int) + 1970


def choice(rng: np.random.Generator, labels: Sequence[str], probs: Sequence[float],
           size: int) -> np.ndarray:
    """Draw ``size`` labels with the given probabilities."""
    p = np.asarray(probs, dtype=float)
    return np.asarray(labels, dtype=str)[rng.choice(len(labels), size=size, p=p / p.sum())]


def frame(table: str, data: Mapping[str, Any]) -> pd.DataFrame:
    """A table's DataFrame with the dictionary's column order and plain dtypes."""
    cols = COLUMNS[table]
    missing = [c for c in cols if c not in data]
    if missing:  # pragma: no cover - programming error
        raise KeyError(f"{table}: columns {missing} not generated")
    out = pd.DataFrame({c: list(data[c]) if not np.isscalar(data[c]) else data[c] for c in cols})
    for col in cols:
        if (table, col) in INTEGER_COLUMNS:
            out[col] = pd.array(out[col], dtype="Int64") if out[col].isna().any() else (
                out[col].astype("int64"))
        elif (table, col) in NUMBER_COLUMNS:
            out[col] = pd.to_numeric(out[col], errors="raise").astype("float64")
        elif out[col].dtype != bool:
            out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out


def empty(table: str) -> pd.DataFrame:
    """An empty frame with a table's columns."""
    return frame(table, {c: [] for c in COLUMNS[table]})


def site_names(n: int, offset: int = 0) -> list[str]:
    """Fictional site names for ``n`` sites."""
    cities = ["Sapporo", "Sendai", "Tokyo", "Yokohama", "Nagoya", "Osaka", "Kobe", "Okayama",
              "Hiroshima", "Fukuoka", "Kumamoto", "Niigata", "Kanazawa", "Kyoto", "Chiba"]
    out = []
    for i in range(offset, offset + n):
        city = cities[i] if i < len(cities) else f"District {i + 1}"
        out.append(f"{city} Regional Medical Center (demo)")
    return out
