"""Pages of the lots (master data): ``/lots`` lists every lot with its results and
shipments and has the "new lot" form; ``/lots/{id}`` shows one lot with the forms that change
it and add (or change) a quality result or a shipment. The administrator writes; the other
roles of :data:`regmed.web.lots.LOT_READERS` read. Every form saves through the importer
(:func:`regmed.web.lots.save_master`); refused input re-shows the page with each problem
beside its field and what was typed, status 422, nothing written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from regmed.errors import DataError, Problem
from regmed.registry import Lot, Product, User
from regmed.registry.identifiers import normalize_identifier
from regmed.web import lots as lt
from regmed.web.deps import SessionDep, SettingsDep, check_csrf, require
from regmed.web.pages import error_list, form_data, render
from regmed.web.schemas import Id

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Csrf = Depends(check_csrf)
Reader = Annotated[User, Depends(require(*lt.LOT_READERS))]
Admin = Annotated[User, Depends(require("admin"))]


def _reason(data: dict[str, Any]) -> str | None:
    return (str(data.pop("reason", None) or "")[:255].strip()) or None


def _row(data: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {k: data.get(k) for k in fields}


def _lots_page(request: Request, user: User, session: Session, status: int = 200,
               **context: Any) -> Response:
    return render(request, "lots.html", status=status, user=user,
                  lots=lt.lot_list(session), can_edit=user.role == "admin",
                  **lt.choices(session), **context)


@router.get("/lots", response_class=HTMLResponse)
def lots(request: Request, user: Reader, session: SessionDep) -> Response:
    """Every lot with its results and shipments (and, for the administrator, a new lot)."""
    return _lots_page(request, user, session)


@router.post("/lots", dependencies=[Csrf])
async def new_lot(request: Request, user: Admin, session: SessionDep,
                  settings: SettingsDep) -> Response:
    """Save a new lot (``next=1``: then open its page to enter its results)."""
    data = await form_data(request)
    nxt = data.pop("next", None) == "1"
    reason = _reason(data)
    try:
        lt.save_master(session, user, "lots", _row(data, lt.LOT_FIELDS), reason=reason,
                       settings=settings)
    except DataError as exc:
        session.rollback()
        return _lots_page(request, user, session, 422, errors=error_list(exc),
                          values={**data, "reason": reason}, form="new-lot")
    code = normalize_identifier(data.get("lot_code"), "lot_code")  # as the importer stored it
    found = session.execute(select(Lot.id).where(Lot.lot_code == code)).scalar()
    if nxt and found is not None:
        return RedirectResponse(f"/lots/{found}?saved=new-lot", status_code=303)
    return RedirectResponse("/lots?saved=new-lot", status_code=303)


def _lot_page(request: Request, user: User, session: Session, lot_id: int,
              status: int = 200, **context: Any) -> Response:
    lot = lt.lot_detail(session, lot_id)
    attrs = lt.attributes(session, lot["product_id"])
    product = session.get(Product, lot["product_id"])
    # the saved record in its form: asked for (?result=, ?shipment=) or named by what was typed
    q, typed = request.query_params, context.get("values") or {}
    form = context.get("form")
    want = typed.get("attribute_code") if form == "lot-result" else q.get("result")
    result = next((r for r in lot["results"] if r["attribute_code"] == want), None)
    want = typed.get("shipment_code") if form == "shipment" else q.get("shipment")
    shipment = next((s for s in lot["shipments"] if s["shipment_code"] == want), None)
    return render(request, "lot.html", status=status, user=user, lot=lot, attrs=attrs,
                  attr_by_code={a["attribute_code"]: a for a in attrs}, product=product,
                  can_edit=user.role == "admin", result=result, shipment=shipment,
                  **lt.choices(session), **context)


@router.get("/lots/{lot_id}", response_class=HTMLResponse)
def lot(lot_id: Id, request: Request, user: Reader, session: SessionDep) -> Response:
    """One lot: its record, quality results and shipments (``?result=`` an attribute code
    or ``?shipment=`` a shipment code: that saved record in its form, to change it)."""
    return _lot_page(request, user, session, lot_id)


async def _save(request: Request, user: User, session: Session, settings: Any, lot_id: int,
                table: str, form: str, fields: tuple[str, ...],
                fill: Callable[[dict[str, Any], dict[str, Any]], None] | None = None,
                anchor: str = "") -> Response:
    lot = lt.lot_detail(session, lot_id)
    data = await form_data(request)
    reason = _reason(data)
    row = {**_row(data, fields), "lot_code": lot["lot_code"]}
    if fill is not None:
        fill(row, lot)
    try:
        lt.save_master(session, user, table, row, reason=reason, settings=settings)
    except DataError as exc:
        session.rollback()
        return _lot_page(request, user, session, lot_id, 422, errors=_for_form(exc, table),
                         values={**data, "reason": reason}, form=form)
    return RedirectResponse(f"/lots/{lot_id}?saved={form}{anchor}", status_code=303)


def _for_form(exc: DataError, table: str) -> list[Problem]:
    """The problems as a form shows them: the unit of a result is the attribute's (the form
    fills it in), so a problem of the unit is one of the attribute's field — said once: none
    when the attribute has a problem of its own (unknown, or not chosen)."""
    problems = error_list(exc)
    if table != "lot_results":
        return problems
    attribute_refused = any(p.field == "attribute_code" for p in problems)
    return [Problem(p.message, file=p.file, row=p.row, field="attribute_code")
            if p.field == "unit" else p for p in problems
            if not (p.field == "unit" and attribute_refused)]


@router.post("/lots/{lot_id}", dependencies=[Csrf])
async def change_lot(lot_id: Id, request: Request, user: Admin, session: SessionDep,
                     settings: SettingsDep) -> Response:
    """Change the lot's record (a reason only when a saved value changes)."""
    return await _save(request, user, session, settings, lot_id, "lots", "change-lot",
                       lt.LOT_FIELDS)


def _unit(session: Session) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    def fill(row: dict[str, Any], lot: dict[str, Any]) -> None:
        attrs = {a["attribute_code"]: a for a in lt.attributes(session, lot["product_id"])}
        found = attrs.get(str(row.get("attribute_code") or ""))
        row["unit"] = found["unit"] if found else None
    return fill


@router.post("/lots/{lot_id}/results", dependencies=[Csrf])
async def lot_result(lot_id: Id, request: Request, user: Admin, session: SessionDep,
                     settings: SettingsDep) -> Response:
    """Save a quality result of the lot (the unit is the attribute's)."""
    return await _save(request, user, session, settings, lot_id, "lot_results", "lot-result",
                       lt.RESULT_FIELDS, _unit(session), "#h-results")


@router.post("/lots/{lot_id}/shipments", dependencies=[Csrf])
async def shipment(lot_id: Id, request: Request, user: Admin, session: SessionDep,
                   settings: SettingsDep) -> Response:
    """Save a shipment of the lot to a site."""
    return await _save(request, user, session, settings, lot_id, "shipments", "shipment",
                       lt.SHIPMENT_FIELDS, anchor="#h-shipments")
