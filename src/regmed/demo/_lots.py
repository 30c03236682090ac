"""Lots of an autologous product: donors, release results against specifications, shipments."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pandas as pd

from regmed.demo._common import days, frame, iso

__all__ = ["Attribute", "LotBatch", "ReceiptLimits", "make_lots", "patient_donors",
           "CATEGORY_TESTS"]

#: Release tests with a category specification (code, name, unit, method, accepted result);
#: every demo lot passes them (drawn without the random stream, so seeds keep their data).
CATEGORY_TESTS: tuple[tuple[str, str, str, str, str], ...] = (
    ("sterility", "Sterility", "result", "JP 4.06 sterility test (membrane filtration)",
     "negative"),
    ("mycoplasma", "Mycoplasma", "result", "JP G3 NAT for mycoplasma", "negative"),
)

Draw = Callable[[np.random.Generator, np.ndarray], np.ndarray]


@dataclasses.dataclass(frozen=True)
class Attribute:
    """A release quality attribute: its specification, how values are drawn, how OOS looks.

    ``draw(rng, v2)`` returns one value per lot (``v2`` marks lots of the later process);
    ``oos(rng, n)`` returns out-of-specification values used for planted OOS lots.
    """

    code: str
    name: str
    unit: str
    method: str
    lower: float | None
    upper: float | None
    decimals: int
    draw: Draw
    oos: Callable[[np.random.Generator, int], np.ndarray] | None = None

    def out_of_spec(self, values: np.ndarray) -> np.ndarray:
        bad = np.zeros(values.shape, dtype=bool)
        if self.lower is not None:
            bad |= values < self.lower
        if self.upper is not None:
            bad |= values > self.upper
        return bad


@dataclasses.dataclass(frozen=True)
class ReceiptLimits:
    """The product's receipt limits (``products`` columns); a shipment outside them carries a
    documented deviation (``DEV-<lot>``) so that its lot may still be given."""

    min_temp_c: float | None
    max_temp_c: float | None
    max_time_out_min: float | None

    def product_columns(self) -> dict[str, list[float]]:
        """The ``products`` columns of one product with these limits."""
        def cell(v: float | None) -> list[float]:
            return [np.nan if v is None else v]
        return {"receipt_min_temp_c": cell(self.min_temp_c),
                "receipt_max_temp_c": cell(self.max_temp_c),
                "max_time_out_of_storage_min": cell(self.max_time_out_min)}

    def outside(self, temperature: np.ndarray, time_out: np.ndarray) -> np.ndarray:
        """True where a receipt is outside the limits."""
        bad = np.zeros(temperature.shape, dtype=bool)
        if self.min_temp_c is not None:
            bad |= temperature < self.min_temp_c
        if self.max_temp_c is not None:
            bad |= temperature > self.max_temp_c
        if self.max_time_out_min is not None:
            bad |= time_out > self.max_time_out_min
        return bad


def patient_donors(n: int, treated_index: np.ndarray, donor_codes: list[str]) -> list[str | None]:
    """``patients.donor_code``: each treated patient is the donor of their autologous lot."""
    out: list[str | None] = [None] * n
    for i, code in zip(treated_index, donor_codes, strict=True):
        out[int(i)] = code
    return out


@dataclasses.dataclass(frozen=True)
class LotBatch:
    """Generated lot tables plus per-lot values for the truth."""

    tables: dict[str, pd.DataFrame]
    values: pd.DataFrame           # one row per lot, one column per attribute code
    oos: np.ndarray                # bool per lot
    planted_oos: np.ndarray        # bool per lot (OOS value forced by oos_rate)
    process_version: np.ndarray
    received_on: np.ndarray


def make_lots(
    rng: np.random.Generator,
    *,
    product_code: str,
    attributes: list[Attribute],
    lot_codes: list[str],
    donor_codes: list[str],
    donor_sex: np.ndarray,
    donor_birth_year: np.ndarray,
    site_codes: np.ndarray,
    manufactured_on: np.ndarray,
    process_change_on: np.datetime64,
    oos_rate: float,
    cold_chain: tuple[float, float],
    limits: ReceiptLimits,
) -> LotBatch:
    """Draw one lot per donor with its release results and its shipment to the site.

    Lots manufactured on or after ``process_change_on`` are process ``v2``. A fraction
    ``oos_rate`` of lots gets one attribute out of specification; every lot with any result
    out of specification is ``released_oos``. ``cold_chain`` is the (mean, sd) of the
    receipt temperature in degrees Celsius; a receipt outside ``limits`` gets a documented
    deviation (decided after the draws, so the random stream is that of the data without it).
    """
    n = len(lot_codes)
    v2 = manufactured_on >= process_change_on
    version = np.where(v2, "v2", "v1")
    values = {}
    for attr in attributes:
        values[attr.code] = np.round(attr.draw(rng, v2), attr.decimals)
    candidates = [a for a in attributes if a.oos is not None]
    planted = rng.random(n) < oos_rate
    which = rng.integers(0, max(len(candidates), 1), size=n)
    for i in np.flatnonzero(planted):
        attr = candidates[which[i]]
        assert attr.oos is not None
        values[attr.code][i] = np.round(attr.oos(rng, 1)[0], attr.decimals)
    oos = np.zeros(n, dtype=bool)
    for attr in attributes:
        oos |= attr.out_of_spec(values[attr.code])
    released_on = days(manufactured_on, rng.integers(1, 4, size=n))
    shipped_on = days(released_on, rng.integers(0, 2, size=n))
    received_on = days(shipped_on, np.ones(n))
    temp_mean, temp_sd = cold_chain
    temperature = rng.normal(temp_mean, temp_sd, size=n)
    excursion = rng.random(n) < 0.03
    temperature[excursion] += np.abs(rng.normal(4 * temp_sd, 2 * temp_sd, excursion.sum()))
    time_out = np.clip(np.round(rng.lognormal(np.log(20), 0.6, size=n)), 2, 600)
    viability = values.get("viability", np.full(n, 90.0))
    at_receipt = viability - 1.5 - 0.04 * time_out + rng.normal(0, 1.2, size=n)
    at_receipt = np.clip(np.round(at_receipt, 1), 0, 100)

    tables = {
        "donors": frame("donors", {
            "donor_code": donor_codes, "sex": donor_sex, "birth_year": donor_birth_year,
        }),
        "lots": frame("lots", {
            "lot_code": lot_codes,
            "product_code": [product_code] * n,
            "donor_code": donor_codes,
            "process_version": version,
            "manufactured_on": iso(manufactured_on),
            "released_on": iso(released_on),
            "status": np.where(oos, "released_oos", "released"),
            "coa_reference": [f"COA-{c}" for c in lot_codes],
        }),
        "lot_results": frame("lot_results", {
            "lot_code": np.repeat(lot_codes, len(attributes)),
            "attribute_code": [a.code for a in attributes] * n,
            "value": np.column_stack([values[a.code] for a in attributes]).ravel()
            if n else [],
            "value_text": [None] * (n * len(attributes)),
            "unit": [a.unit for a in attributes] * n,
            "measured_on": np.repeat(np.asarray(iso(manufactured_on), dtype=object),
                                     len(attributes)),
        }),
        "shipments": frame("shipments", {
            "shipment_code": [f"SH-{c}" for c in lot_codes],
            "lot_code": lot_codes,
            "site_code": site_codes,
            "shipped_on": iso(shipped_on),
            "received_on": iso(received_on),
            "receipt_temperature_c": np.round(temperature, 1),
            "time_out_of_storage_min": time_out,
            "viability_at_receipt_pct": at_receipt,
            "deviation_reference": [f"DEV-{c}" if bad else None for c, bad in zip(
                lot_codes, limits.outside(np.round(temperature, 1), time_out), strict=True)],
        }),
    }
    tables["quality_attributes"] = frame("quality_attributes", {
        "product_code": [product_code] * len(attributes),
        "attribute_code": [a.code for a in attributes],
        "name": [a.name for a in attributes],
        "unit": [a.unit for a in attributes],
        "method": [a.method for a in attributes],
        "lower_spec": [np.nan if a.lower is None else a.lower for a in attributes],
        "upper_spec": [np.nan if a.upper is None else a.upper for a in attributes],
        "spec_category": [None] * len(attributes),
    })
    _add_category_tests(tables, product_code, lot_codes, manufactured_on)
    value_frame = pd.DataFrame({"lot_code": lot_codes, **values})
    return LotBatch(tables, value_frame, oos, planted, version, received_on)


def _add_category_tests(tables: dict[str, pd.DataFrame], product_code: str,
                        lot_codes: list[str], manufactured_on: np.ndarray) -> None:
    """Append the :data:`CATEGORY_TESTS` attributes and each lot's passing result."""
    k, n = len(CATEGORY_TESTS), len(lot_codes)
    attrs = frame("quality_attributes", {
        "product_code": [product_code] * k,
        "attribute_code": [t[0] for t in CATEGORY_TESTS], "name": [t[1] for t in CATEGORY_TESTS],
        "unit": [t[2] for t in CATEGORY_TESTS], "method": [t[3] for t in CATEGORY_TESTS],
        "lower_spec": [np.nan] * k, "upper_spec": [np.nan] * k,
        "spec_category": [t[4] for t in CATEGORY_TESTS],
    })
    results = frame("lot_results", {
        "lot_code": np.repeat(lot_codes, k),
        "attribute_code": [t[0] for t in CATEGORY_TESTS] * n,
        "value": [np.nan] * (n * k),
        "value_text": [t[4] for t in CATEGORY_TESTS] * n,
        "unit": [t[2] for t in CATEGORY_TESTS] * n,
        "measured_on": np.repeat(np.asarray(iso(manufactured_on), dtype=object), k),
    })
    tables["quality_attributes"] = pd.concat([tables["quality_attributes"], attrs],
                                             ignore_index=True)
    tables["lot_results"] = pd.concat([tables["lot_results"], results], ignore_index=True)
