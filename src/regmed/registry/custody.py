"""Chain of identity and custody of an administered lot: the one rule of every write path.

An administration of a lot to a patient is accepted only when

* the lot is of the product of the patient's indication;
* the patient is not enrolled in a control cohort (``CONTROL_COHORTS``);
* for an autologous product, the lot comes from the patient's own donor (``patients.donor_code``
  names the donor the patient is; a lot without a donor, or a patient without one, is refused);
* the lot is released (``released`` or ``released_oos``; an out-of-specification lot only with
  ``oos_request_documented``) and was released on or before the day it was given;
* the lot was shipped to the patient's site and received there on or before that day, with the
  receipt temperature and the time out of storage recorded and within the product's limits
  (``receipt_min_temp_c``, ``receipt_max_temp_c``, ``max_time_out_of_storage_min``), or a
  documented deviation (``shipments.deviation_reference``).

:func:`administration_problems` is the rule on plain facts; :func:`import_problems` (the bulk
importer, with this import's own lots, shipments and patients), :func:`row_problems` (one row
through :func:`regmed.registry.save_row`, which the web forms and the JSON API use),
:func:`record_problems` (the record services) and
:func:`offered_lots` (the lots a site's forms offer) gather the facts and apply it, so the three
paths say the same thing in the same words.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from regmed.errors import Problem
from regmed.registry.dictionary import PSEUDONYM_COLUMN
from regmed.registry.models import (
    Administration,
    Donor,
    Enrollment,
    Indication,
    Lot,
    Patient,
    Product,
    Shipment,
    Site,
)

__all__ = [
    "CONTROL_COHORTS",
    "Receipt",
    "LotCustody",
    "Recipient",
    "administration_problems",
    "load_lots",
    "load_recipients",
    "import_problems",
    "row_problems",
    "record_problems",
    "offered_lots",
    "site_lot_codes",
    "overlay_lots",
    "overlay_recipients",
    "given_rows",
]

#: Cohorts whose patients receive no lot of the product.
CONTROL_COHORTS = ("concurrent_control", "external_control", "historical_control")
#: Lot statuses that may be given (``released_oos`` only with a documented request).
GIVABLE = ("released", "released_oos")


@dataclass(frozen=True)
class Receipt:
    """One shipment of a lot: where it was received, when, and what was measured."""

    site_code: str | None
    received_on: dt.date | None
    temperature_c: float | None = None
    time_out_min: float | None = None
    deviation_reference: str | None = None


@dataclass(frozen=True)
class LotCustody:
    """What the rule needs to know of a lot, its product and its shipments."""

    lot_code: str
    product_code: str | None
    product_type: str | None
    status: str | None
    released_on: dt.date | None
    donor_code: str | None
    min_temp_c: float | None = None
    max_temp_c: float | None = None
    max_time_out_min: float | None = None
    receipts: tuple[Receipt, ...] = ()


@dataclass(frozen=True)
class Recipient:
    """What the rule needs to know of a patient: site, own donor, product of the indication
    and the cohort the patient is enrolled in."""

    site_code: str | None
    donor_code: str | None
    product_code: str | None
    cohort: str | None = None


def _receipt_problems(lot: LotCustody, r: Receipt) -> list[str]:
    """Why a receipt does not allow the lot to be given (empty when it does)."""
    if (r.deviation_reference or "").strip():
        return []
    out = []
    if lot.min_temp_c is not None or lot.max_temp_c is not None:
        t = r.temperature_c
        if t is None:
            out.append("the receipt temperature is not recorded")
        elif (lot.min_temp_c is not None and t < lot.min_temp_c) or (
                lot.max_temp_c is not None and t > lot.max_temp_c):
            out.append(f"received at {t:g} °C, outside the product's limits "
                       f"({_limits(lot.min_temp_c, lot.max_temp_c)} °C)")
    if lot.max_time_out_min is not None:
        m = r.time_out_min
        if m is None:
            out.append("the time out of storage is not recorded")
        elif m > lot.max_time_out_min:
            out.append(f"{m:g} min out of storage, above the product's limit "
                       f"({lot.max_time_out_min:g} min)")
    return out


def _limits(low: float | None, high: float | None) -> str:
    return f"{'' if low is None else f'{low:g}'}–{'' if high is None else f'{high:g}'}"


def administration_problems(
    lot: LotCustody,
    patient: Recipient,
    administered_on: dt.date | None,
    oos_request_documented: bool | None,
    *,
    file: str | None = None,
    row: int | None = None,
) -> list[Problem]:
    """Every reason why ``lot`` may not be given to ``patient`` on ``administered_on``.

    ``administered_on`` of ``None`` checks everything but the dates (a lot a form may offer).
    Problems name the field to correct: ``lot_code`` (wrong product, donor, site or custody),
    ``administered_on`` (before release or receipt) or ``oos_request_documented``.
    """
    out: list[Problem] = []
    code = lot.lot_code

    def problem(message: str, field: str = "lot_code") -> None:
        out.append(Problem(f"lot {code!r} {message}", file=file, row=row, field=field))

    if patient.cohort in CONTROL_COHORTS:
        problem(f"cannot be given to a patient enrolled in the {patient.cohort} cohort (a "
                "control patient receives no lot of the product)")
    if patient.product_code is not None and lot.product_code != patient.product_code:
        problem(f"is of product {lot.product_code!r}, not of the product of the patient's "
                f"indication ({patient.product_code!r})")
    if lot.product_type == "autologous":
        if lot.donor_code is None:
            problem("of an autologous product names no donor")
        elif patient.donor_code is None:
            problem("is autologous and the patient's own donor is not recorded "
                    "(patients.donor_code)")
        elif lot.donor_code != patient.donor_code:
            problem("is autologous and comes from another donor than the patient "
                    "(chain of identity)")
    if lot.status not in GIVABLE:
        problem(f"is not released (status {lot.status!r})")
    else:
        if lot.released_on is None:
            problem("has no release date")
        elif administered_on is not None and administered_on < lot.released_on:
            problem(f"was released on {lot.released_on.isoformat()}, after it was given",
                    "administered_on")
        if lot.status == "released_oos" and oos_request_documented is not True:
            problem("is out of specification (released_oos) and needs the documented "
                    "request", "oos_request_documented")
    here = [r for r in lot.receipts if r.site_code == patient.site_code]
    if not here:
        problem(f"was not shipped to the patient's site {patient.site_code!r}")
        return out
    received = [r for r in here if r.received_on is not None and (
        administered_on is None or r.received_on <= administered_on)]
    if not received:
        first = min(r.received_on for r in here if r.received_on is not None)
        problem(f"was received at {patient.site_code!r} on {first.isoformat()}, after it was "
                "given", "administered_on")
        return out
    reasons = [_receipt_problems(lot, r) for r in received]
    if all(reasons):
        problem("was not received within the product's limits and no deviation is "
                f"documented: {'; '.join(reasons[-1])}")
    return out


def _chunks(values: Iterable[Any], size: int = 500) -> Iterable[list[Any]]:
    items = sorted({v for v in values if v is not None}, key=str)
    for i in range(0, len(items), size):
        yield items[i:i + size]


_SHIPMENT_COLUMNS = ("shipment_code", "lot_code", "site_code", "received_on",
                     "receipt_temperature_c", "time_out_of_storage_min", "deviation_reference")
_SHIPMENT_Q = (
    select(Shipment.shipment_code, Lot.lot_code, Site.site_code, Shipment.received_on,
           Shipment.receipt_temperature_c, Shipment.time_out_of_storage_min,
           Shipment.deviation_reference)
    .join(Lot, Lot.id == Shipment.lot_id).join(Site, Site.id == Shipment.site_id)
)


def load_lots(session: Session, lot_codes: Iterable[Any]) -> dict[Any, LotCustody]:
    """The stored custody facts of these lots (lots not stored are left out)."""
    out: dict[Any, LotCustody] = {}
    for chunk in _chunks(lot_codes):
        rows = session.execute(
            select(Lot.lot_code, Product.product_code, Product.type, Lot.status,
                   Lot.released_on, Donor.donor_code, Product.receipt_min_temp_c,
                   Product.receipt_max_temp_c, Product.max_time_out_of_storage_min)
            .join(Product, Product.id == Lot.product_id)
            .outerjoin(Donor, Donor.id == Lot.donor_id)
            .where(Lot.lot_code.in_(chunk))
        ).all()
        for r in rows:
            out[r[0]] = LotCustody(*r)
        ships = session.execute(
            _SHIPMENT_Q.where(Lot.lot_code.in_(chunk)).order_by(Shipment.id)).all()
        for s in ships:
            lot = out[s[1]]
            out[s[1]] = replace(lot, receipts=(*lot.receipts, Receipt(*s[2:])))
    return out


def load_recipients(session: Session, pseudonyms: Iterable[Any]) -> dict[Any, Recipient]:
    """Site, own donor and product of the indication of stored patients, by pseudonym."""
    out: dict[Any, Recipient] = {}
    for chunk in _chunks(pseudonyms):
        rows = session.execute(
            select(Patient.pseudonym, Site.site_code, Donor.donor_code, Product.product_code,
                   Enrollment.cohort)
            .join(Site, Site.id == Patient.site_id)
            .outerjoin(Donor, Donor.id == Patient.donor_id)
            .outerjoin(Enrollment, Enrollment.patient_id == Patient.id)
            .outerjoin(Indication, Indication.id == Enrollment.indication_id)
            .outerjoin(Product, Product.id == Indication.product_id)
            .where(Patient.pseudonym.in_(chunk))
        ).all()
        for r in rows:
            out[r[0]] = Recipient(*r[1:])
    return out


def given_rows(p: Any, columns: tuple[str, ...]) -> list[tuple[int, dict[str, Any]]]:
    """(1-based row, values of the given ``columns``) of a parsed table."""
    f = p.frame
    cols = [c for c in columns if c in f and (c in p.given or c == PSEUDONYM_COLUMN)]
    return [(i + 1, {c: (None if _missing(v) else v) for c, v in zip(cols, vals, strict=True)})
            for i, vals in enumerate(f[cols].itertuples(index=False, name=None))]


def _missing(v: Any) -> bool:
    try:
        return v is None or bool(v != v)
    except (TypeError, ValueError):
        return False


def import_problems(session: Session, parsed: Mapping[str, Any]) -> list[Problem]:
    """The custody problems of the administrations of one import (``regmed import``).

    ``parsed`` maps table names to :class:`~regmed.registry.validate.ParsedTable`. Products,
    lots, shipments, patients, enrollments and indications of the same import count as if they
    were stored already. Rows whose patient or lot is unknown are left to the reference check.
    (Changes that would break the chain of a stored administration:
    :func:`regmed.registry.custody_changes.stored_problems`.)
    """
    adm = parsed.get("administrations")
    if adm is None or len(adm.frame) == 0:
        return []
    rows = given_rows(adm, (PSEUDONYM_COLUMN, "lot_code", "administered_on",
                            "oos_request_documented"))
    lots = load_lots(session, (r["lot_code"] for _, r in rows if r.get("lot_code")))
    people = load_recipients(session, (r.get(PSEUDONYM_COLUMN) for _, r in rows))
    overlay_lots(session, lots, parsed)
    overlay_recipients(session, people, parsed)
    stored = _stored_administrations(session, rows) if "oos_request_documented" not in \
        adm.given else {}
    out: list[Problem] = []
    for row, r in rows:
        lot = lots.get(r.get("lot_code"))
        patient = people.get(r.get(PSEUDONYM_COLUMN))
        if lot is None or patient is None:
            continue
        oos = r.get("oos_request_documented",
                    stored.get((r.get(PSEUDONYM_COLUMN), r.get("lot_code"))))
        out += administration_problems(lot, patient, r.get("administered_on"), oos,
                                       file=adm.file, row=row)
    return out


def _stored_administrations(session: Session, rows: list[tuple[int, dict[str, Any]]]
                            ) -> dict[tuple[Any, Any], bool | None]:
    """``oos_request_documented`` of stored administrations (a file may leave it out)."""
    out: dict[tuple[Any, Any], bool | None] = {}
    for chunk in _chunks(r.get(PSEUDONYM_COLUMN) for _, r in rows):
        for pseudonym, code, oos in session.execute(
            select(Patient.pseudonym, Lot.lot_code, Administration.oos_request_documented)
            .join(Patient, Patient.id == Administration.patient_id)
            .join(Lot, Lot.id == Administration.lot_id)
            .where(Patient.pseudonym.in_(chunk))
        ).all():
            out[(pseudonym, code)] = oos
    return out


_LOT_FIELDS = {"product_code": "product_code", "status": "status",
               "released_on": "released_on", "donor_code": "donor_code"}
_PRODUCT_FIELDS = {"type": "product_type", "receipt_min_temp_c": "min_temp_c",
                   "receipt_max_temp_c": "max_temp_c",
                   "max_time_out_of_storage_min": "max_time_out_min"}


def overlay_lots(session: Session, lots: dict[Any, LotCustody],
                 parsed: Mapping[str, Any]) -> None:
    """Apply this import's lots, products and shipments to ``lots`` (in place)."""
    wanted = set(lots)
    adm = parsed.get("administrations")
    if adm is not None:
        wanted |= {c for c in adm.frame["lot_code"] if c is not None}
    if "lots" in parsed:
        for _, r in given_rows(parsed["lots"], ("lot_code", *_LOT_FIELDS)):
            code = r.get("lot_code")
            if code not in wanted:
                continue
            base = lots.get(code) or LotCustody(str(code), None, None, None, None, None)
            lots[code] = replace(base, **{_LOT_FIELDS[k]: v for k, v in r.items()
                                          if k in _LOT_FIELDS})
    products = {}
    for code, lot in lots.items():
        if lot.product_type is None and lot.product_code is not None:
            products[code] = lot.product_code
    if products:
        stored = {r[0]: r[1:] for r in session.execute(
            select(Product.product_code, Product.type, Product.receipt_min_temp_c,
                   Product.receipt_max_temp_c, Product.max_time_out_of_storage_min)
            .where(Product.product_code.in_(set(products.values())))).all()}
        for code, pc in products.items():
            if pc in stored:
                lots[code] = replace(lots[code], **dict(zip(_PRODUCT_FIELDS.values(),
                                                            stored[pc], strict=True)))
    if "products" in parsed:
        for _, r in given_rows(parsed["products"], ("product_code", *_PRODUCT_FIELDS)):
            for code, lot in lots.items():
                if lot.product_code == r.get("product_code"):
                    lots[code] = replace(lot, **{_PRODUCT_FIELDS[k]: v for k, v in r.items()
                                                 if k in _PRODUCT_FIELDS})
    if "shipments" in parsed:
        _overlay_shipments(session, lots, parsed["shipments"])


def _overlay_shipments(session: Session, lots: dict[Any, LotCustody], p: Any) -> None:
    """The lots' receipts: stored shipments, replaced or added to by this import's (by code)."""
    rows = [r for _, r in given_rows(p, _SHIPMENT_COLUMNS)]
    merged: dict[Any, dict[str, Any]] = {}
    for column, keys in ((Lot.lot_code, list(lots)),
                         (Shipment.shipment_code, [r.get("shipment_code") for r in rows])):
        for chunk in _chunks(keys):
            for values in session.execute(_SHIPMENT_Q.where(column.in_(chunk))).all():
                merged[values[0]] = dict(zip(_SHIPMENT_COLUMNS, values, strict=True))
    for r in rows:
        merged[r.get("shipment_code")] = {**merged.get(r.get("shipment_code"), {}), **r}
    by_lot: dict[Any, list[Receipt]] = {}
    for v in merged.values():
        by_lot.setdefault(v.get("lot_code"), []).append(_receipt(v))
    for code, lot in lots.items():
        lots[code] = replace(lot, receipts=tuple(by_lot.get(code, ())))


def _receipt(v: Mapping[str, Any]) -> Receipt:
    return Receipt(v.get("site_code"), v.get("received_on"), v.get("receipt_temperature_c"),
                   v.get("time_out_of_storage_min"), v.get("deviation_reference"))


def overlay_recipients(session: Session, people: dict[Any, Recipient],
                       parsed: Mapping[str, Any]) -> None:
    """Apply this import's patients (site, donor) and enrollments (indication) in place."""
    if "patients" in parsed:
        for _, r in given_rows(parsed["patients"], (PSEUDONYM_COLUMN, "site_code",
                                                    "donor_code")):
            key = r.get(PSEUDONYM_COLUMN)
            base = people.get(key) or Recipient(None, None, None)
            people[key] = replace(base, **{k: v for k, v in r.items()
                                           if k in ("site_code", "donor_code")})
    if "enrollments" in parsed:
        rows = given_rows(parsed["enrollments"], (PSEUDONYM_COLUMN, "indication_code",
                                                  "cohort"))
        product_of = {r[0]: r[1] for r in session.execute(
            select(Indication.indication_code, Product.product_code)
            .join(Product, Product.id == Indication.product_id)).all()}
        if "indications" in parsed:
            for _, r in given_rows(parsed["indications"], ("indication_code",
                                                           "product_code")):
                if "product_code" in r:
                    product_of[r.get("indication_code")] = r["product_code"]
        for _, r in rows:
            key = r.get(PSEUDONYM_COLUMN)
            if key in people and "indication_code" in r:
                people[key] = replace(people[key],
                                      product_code=product_of.get(r["indication_code"]))
            if key in people and "cohort" in r:
                people[key] = replace(people[key], cohort=r["cohort"])


def row_problems(session: Session, values: Mapping[str, Any], file: str) -> list[Problem]:
    """The custody problems of one administration row (:func:`regmed.registry.save_row`).

    Unknown patients and lots are left to the reference check; a stored administration keeps
    its ``oos_request_documented`` when the row leaves it out.
    """
    code, pseudonym = values.get("lot_code"), values.get(PSEUDONYM_COLUMN)
    lot = load_lots(session, [code]).get(code) if code is not None else None
    patient = load_recipients(session, [pseudonym]).get(pseudonym) if pseudonym else None
    if lot is None or patient is None:
        return []
    oos = values.get("oos_request_documented")
    if oos is None:
        oos = _stored_administrations(session, [(1, {PSEUDONYM_COLUMN: pseudonym})]).get(
            (pseudonym, code))
    return administration_problems(lot, patient, values.get("administered_on"), oos,
                                   file=file, row=1)


def record_problems(session: Session, values: Mapping[str, Any]) -> list[Problem]:
    """The custody problems of an administration written through the record services
    (:func:`regmed.registry.add_record`, :func:`regmed.registry.update_record`): ``values`` are
    its model columns (``patient_id``, ``lot_id``, ``administered_on``,
    ``oos_request_documented``) as they would be stored."""
    pseudonym = session.scalar(select(Patient.pseudonym).where(
        Patient.id == values.get("patient_id")))
    code = session.scalar(select(Lot.lot_code).where(Lot.id == values.get("lot_id")))
    lot = load_lots(session, [code]).get(code) if code is not None else None
    patient = load_recipients(session, [pseudonym]).get(pseudonym) if pseudonym else None
    if lot is None or patient is None:
        return []
    return administration_problems(lot, patient, values.get("administered_on"),
                                   values.get("oos_request_documented"), file="administrations")


def offered_lots(session: Session, patient_id: int) -> list[LotCustody]:
    """The lots a form may offer for this patient: shipped to and received at the patient's
    site and passing every rule but the dates (an out-of-specification lot is offered; giving
    it needs the documented request). Lots of other sites are never read out."""
    patient = session.get(Patient, patient_id)
    if patient is None:
        return []
    pseudonym = patient.pseudonym
    codes = site_lot_codes(session, patient.site_id)
    recipient = load_recipients(session, [pseudonym]).get(pseudonym)
    if recipient is None:
        return []
    lots = load_lots(session, codes)
    return sorted((lot for lot in lots.values()
                   if not administration_problems(lot, recipient, None, True)),
                  key=lambda lot: lot.lot_code)


def site_lot_codes(session: Session, site_id: int) -> list[str]:
    """Codes of the lots shipped to a site (what its users may know of)."""
    return list(session.execute(
        select(Lot.lot_code).join(Shipment, Shipment.lot_id == Lot.id)
        .where(Shipment.site_id == site_id).distinct().order_by(Lot.lot_code)
    ).scalars())
