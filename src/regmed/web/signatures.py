"""Pages and API routes to sign records and to verify them against the source.

``GET /records/{table}/{id}/sign`` shows the record, the signatures in force and a form that
re-asks the password (and the one-time code of a second factor) with the meaning of the
signature; ``POST`` signs (:func:`regmed.web.signing.sign_record`). A monitor marks fields
source-verified through ``POST /api/records/{table}/{id}/verification`` or the form on the
patient page.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from regmed.errors import DataError, Problem
from regmed.registry import User
from regmed.web import signing as sig
from regmed.web.auth import keep_failure
from regmed.web.deps import SessionDep, SettingsDep, check_csrf, require
from regmed.web.pages import error_list, form_data, patient_page, render
from regmed.web.records import _record
from regmed.web.schemas import Id, VerifyIn

__all__ = ["router"]

router = APIRouter()
Csrf = Depends(check_csrf)
Signer = Annotated[User, Depends(require(*sig.SIGNING_ROLES))]
Monitor = Annotated[User, Depends(require("monitor"))]
Table = Annotated[str, Path(max_length=64)]


def _sign_page(request: Request, user: User, session: Session, table: str, record_id: int,
               status: int = 200, errors: list[Problem] | None = None) -> Response:
    record = _record(session, user, table, record_id)
    values = {c: getattr(record, c) for c in record.__table__.columns.keys()
              if c not in ("id", "patient_id")}
    if user.role != "investigator" and "assessor" in values:
        values.pop("assessor")
    signed = [sig.manifestation(s) for s in sig.signatures_of(session, table, record_id)]
    return render(request, "sign.html", status=status, user=user, table=table,
                  record_id=record_id, patient_id=record.patient_id, values=values,
                  signatures=signed, meanings=sig.MEANINGS_OF[user.role], errors=errors or [])


@router.get("/records/{table}/{record_id}/sign", response_class=HTMLResponse,
            include_in_schema=False)
def sign_form(table: Table, record_id: Id, request: Request, user: Signer,
              session: SessionDep) -> Response:
    return _sign_page(request, user, session, table, record_id)


@router.post("/records/{table}/{record_id}/sign", dependencies=[Csrf], include_in_schema=False)
async def sign(table: Table, record_id: Id, request: Request, user: Signer,
               session: SessionDep, settings: SettingsDep) -> Response:
    data = await form_data(request)
    try:
        with keep_failure(session):
            s = sig.sign_record(session, user, table, record_id,
                                str(data.get("password") or "")[:256],
                                str(data.get("meaning") or "")[:16],
                                otp=str(data.get("otp") or "")[:16], now=settings.clock(),
                                request=request)
    except DataError as exc:
        session.rollback()
        return _sign_page(request, user, session, table, record_id, 422, error_list(exc))
    patient = _record(session, user, table, record_id).patient_id
    return RedirectResponse(f"/patients/{patient}#signed-{s.id}", status_code=303)


@router.post("/api/records/{table}/{record_id}/verification", dependencies=[Csrf],
             tags=["api"])
def api_verify(table: Table, record_id: Id, body: VerifyIn, user: Monitor,
               session: SessionDep) -> list[dict[str, Any]]:
    """Mark fields of a record as verified against the source documents (monitors)."""
    return sig.verify_fields(session, user, table, record_id, body.fields)


@router.post("/records/{table}/{record_id}/verify", dependencies=[Csrf],
             include_in_schema=False)
async def verify(table: Table, record_id: Id, request: Request, user: Monitor,
                 session: SessionDep, settings: SettingsDep) -> Response:
    form = await request.form()
    fields = [str(v)[:64] for v in form.getlist("field")][:50]
    patient = _record(session, user, table, record_id).patient_id
    try:
        sig.verify_fields(session, user, table, record_id, fields)
    except DataError as exc:
        session.rollback()
        return patient_page(request, user, session, settings, patient, 422, error_list(exc))
    return RedirectResponse(f"/patients/{patient}", status_code=303)


