"""Lots, their quality results and their shipments as the master-data pages show and save
them (:mod:`regmed.web.lotpages`).

Every save goes through :func:`regmed.registry.import_tables` — the path of the JSON API's
``POST /api/tables/{table}`` — with the app clock's date as today and ``web form`` as the
source, so a form meets exactly the importer's rules and sentences. A form shows the stored
values, so a save overwrites them (``overwrite=True``); a reason is needed only when a stored
value changes (the importer asks for it; :func:`reason_asked` puts the question beside the
form's reason field).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from regmed.errors import DataError
from regmed.registry import (
    Donor,
    ImportSummary,
    Lot,
    LotResult,
    Product,
    QualityAttribute,
    Shipment,
    Site,
    User,
    import_tables,
    load_dictionary,
)
from regmed.web.problems import reason_asked
from regmed.web.services import NotFound
from regmed.web.settings import WebSettings

__all__ = ["LOT_READERS", "LOT_FIELDS", "RESULT_FIELDS", "SHIPMENT_FIELDS", "SOURCE",
           "today_of", "lot_list", "lot_detail", "attributes", "choices", "in_spec",
           "save_master"]

#: Roles that may read the lots pages (the administrator keeps the master data and writes).
LOT_READERS = ("admin", "statistician", "regulator", "monitor")
#: The columns of each form (the dictionary's, ``regmed import --schema``).
LOT_FIELDS = ("lot_code", "product_code", "donor_code", "process_version", "manufactured_on",
              "released_on", "status", "coa_reference")
RESULT_FIELDS = ("lot_code", "attribute_code", "value", "value_text", "measured_on")
SHIPMENT_FIELDS = ("shipment_code", "lot_code", "site_code", "shipped_on", "received_on",
                   "receipt_temperature_c", "time_out_of_storage_min",
                   "viability_at_receipt_pct", "deviation_reference")
#: How the importer's problems name a form's row.
SOURCE = "web form"

def today_of(settings: WebSettings) -> dt.date:
    """The app clock's date (UTC): dates after it are refused as in the future."""
    return settings.today()


def _text(x: Any) -> str | None:
    """A stored value as a form shows it (``85.0`` → ``"85"``, a date as YYYY-MM-DD)."""
    if x is None:
        return None
    if isinstance(x, dt.date):
        return x.isoformat()
    if isinstance(x, float):
        return str(int(x)) if x.is_integer() else repr(x)
    return str(x)


def in_spec(value: float | None, text: str | None, attr: Mapping[str, Any]) -> bool | None:
    """Whether a result meets its attribute's specification (None: nothing to judge).

    Examples
    --------
    >>> viability = {"lower_spec": 70.0, "upper_spec": None}
    >>> in_spec(85.0, None, viability), in_spec(62.0, None, viability)
    (True, False)
    >>> in_spec(None, "positive", {"spec_category": "negative"})
    False
    """
    cats = [c.strip() for c in str(attr.get("spec_category") or "").split("|") if c.strip()]
    if cats:
        return None if text is None else text.strip() in cats
    if value is None:
        return None
    low, high = attr.get("lower_spec"), attr.get("upper_spec")
    return (low is None or value >= low) and (high is None or value <= high)


def attributes(session: Session, product_id: int | None = None) -> list[dict[str, Any]]:
    """The quality attributes (of ``product_id``), with unit and specification."""
    q = select(QualityAttribute, Product.product_code).join(
        Product, Product.id == QualityAttribute.product_id).order_by(
        Product.product_code, QualityAttribute.attribute_code)
    if product_id is not None:
        q = q.where(QualityAttribute.product_id == product_id)
    return [{"id": a.id, "product_code": code, "attribute_code": a.attribute_code,
             "name": a.name, "unit": a.unit, "method": a.method, "lower_spec": a.lower_spec,
             "upper_spec": a.upper_spec, "spec_category": a.spec_category,
             "low": _text(a.lower_spec), "high": _text(a.upper_spec)}
            for a, code in session.execute(q)]


def _results(session: Session, lot_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    attrs = {a["id"]: a for a in attributes(session)}
    out: dict[int, list[dict[str, Any]]] = {}
    rows = session.execute(select(LotResult).where(LotResult.lot_id.in_(lot_ids))
                           .order_by(LotResult.id)).scalars()
    for r in rows:
        a = attrs[r.attribute_id]
        out.setdefault(r.lot_id, []).append({
            "attribute_code": a["attribute_code"], "name": a["name"], "unit": r.unit,
            "value": _text(r.value), "value_text": r.value_text,
            "measured_on": _text(r.measured_on), "in_spec": in_spec(r.value, r.value_text, a)})
    return out


def _shipments(session: Session, lot_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    rows = session.execute(select(Shipment, Site.site_code).join(Site, Site.id == Shipment.site_id)
                           .where(Shipment.lot_id.in_(lot_ids)).order_by(Shipment.shipped_on,
                                                                         Shipment.id))
    for s, site in rows:
        out.setdefault(s.lot_id, []).append({
            "shipment_code": s.shipment_code, "lot_code": None, "site_code": site,
            **{k: _text(getattr(s, k)) for k in SHIPMENT_FIELDS[3:]}})
    return out


def _lots(session: Session, lot_id: int | None = None) -> list[dict[str, Any]]:
    q = (select(Lot, Product.product_code, Donor.donor_code)
         .join(Product, Product.id == Lot.product_id)
         .outerjoin(Donor, Donor.id == Lot.donor_id).order_by(Lot.lot_code))
    if lot_id is not None:
        q = q.where(Lot.id == lot_id)
    found = session.execute(q).all()
    ids = [lot.id for lot, _, _ in found]
    results, shipments = _results(session, ids), _shipments(session, ids)
    out = []
    for lot, product, donor in found:
        rs = results.get(lot.id, [])
        ships = shipments.get(lot.id, [])
        for s in ships:
            s["lot_code"] = lot.lot_code
        out.append({
            "id": lot.id, "product_id": lot.product_id, "lot_code": lot.lot_code,
            "product_code": product, "donor_code": donor,
            "process_version": lot.process_version,
            "manufactured_on": _text(lot.manufactured_on),
            "released_on": _text(lot.released_on), "status": lot.status,
            "coa_reference": lot.coa_reference, "results": rs, "shipments": ships,
            "oos": lot.status == "released_oos" or any(r["in_spec"] is False for r in rs)})
    return out


def lot_list(session: Session) -> list[dict[str, Any]]:
    """Every lot with its product, donor, process version, dates, status, whether it is out
    of specification (``oos``: released as such, or a result outside its specification),
    its results and its shipments."""
    return _lots(session)


def lot_detail(session: Session, lot_id: int) -> dict[str, Any]:
    """One lot as :func:`lot_list` shows it (:class:`NotFound` when there is none)."""
    found = _lots(session, lot_id)
    if not found:
        raise NotFound(f"lot {lot_id} not found")
    return found[0]


def choices(session: Session) -> dict[str, list[str]]:
    """The codes the forms offer: ``products``, ``donors``, ``sites`` and lot ``statuses``."""
    return {
        "products": list(session.execute(select(Product.product_code)
                                         .order_by(Product.product_code)).scalars()),
        "donors": list(session.execute(select(Donor.donor_code)
                                       .order_by(Donor.donor_code)).scalars()),
        "sites": list(session.execute(select(Site.site_code)
                                      .order_by(Site.site_code)).scalars()),
        "statuses": list(load_dictionary().tables["lots"].columns["status"].values),
    }


def save_master(session: Session, user: User, table: str, row: Mapping[str, Any], *,
                reason: str | None, settings: WebSettings) -> ImportSummary:
    """Import one row of ``lots``, ``lot_results`` or ``shipments`` typed into a form.

    Raises
    ------
    DataError
        Every problem of the importer (a change without a reason as a problem of the field
        ``reason``); nothing is written — the caller rolls back.
    """
    if user.role != "admin":
        raise DataError("only an administrator keeps the lots")
    try:
        return import_tables(session, {table: pd.DataFrame([dict(row)], dtype=object)},
                             actor=user.username, reason=reason, sources={table: SOURCE},
                             overwrite=True, sync=False, today=today_of(settings))
    except DataError as exc:
        raise reason_asked(exc) from exc
