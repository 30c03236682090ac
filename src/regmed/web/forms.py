"""Server-rendered forms for a patient's records (adverse events, follow-up and death,
administrations, changes of assessments) and for data queries. Every form posts its CSRF
token and goes through the same services as the JSON API (the importer's rules); refused
input re-shows the page with every problem and status 422."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from regmed.errors import DataError, Problem
from regmed.registry import User
from regmed.web import records as rec
from regmed.web import services as svc
from regmed.web.crc import checked_write
from regmed.web.deps import SessionDep, SettingsDep, check_csrf, require
from regmed.web.pages import error_list, form_data, patient_page, render
from regmed.web.problems import reason_asked
from regmed.web.schemas import Id
from regmed.web.settings import WebSettings

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Csrf = Depends(check_csrf)
Reader = Annotated[User, Depends(require(*svc.READ_ROLES))]
Investigator = Annotated[User, Depends(require("investigator"))]
Statistician = Annotated[User, Depends(require("statistician"))]


def _flag(data: dict[str, Any], name: str) -> None:
    """A checkbox: ticked is True, absent is left out (None)."""
    data[name] = True if data.get(name) in ("true", "on", "1") else None


def _save(request: Request, user: User, session: Session, settings: WebSettings,
          patient_id: int, write: Callable[[], object], *, form: str | None = None,
          values: dict[str, Any] | None = None, dates: tuple[str, ...] = ()) -> Response:
    try:
        checked_write(values or {}, dates, settings, "refused", write)
    except DataError as exc:
        session.rollback()
        return patient_page(request, user, session, settings, patient_id, 422,
                            error_list(exc), values=values, form=form)
    return RedirectResponse(f"/patients/{patient_id}", status_code=303)


def _ae_checked(data: dict[str, Any]) -> dict[str, Any]:
    """A grade-5 event is fatal: its outcome cannot be another."""
    if str(data.get("grade") or "") == "5" and data.get("outcome") not in (None, "fatal"):
        raise DataError("adverse event refused", [Problem(
            "a grade 5 event is fatal: the outcome must be fatal", field="outcome")])
    return data


@router.post("/patients/{patient_id}/adverse-events", dependencies=[Csrf])
async def adverse_event(patient_id: Id, request: Request, user: Investigator,
                        session: SessionDep, settings: SettingsDep) -> Response:
    data = await form_data(request)
    return _save(request, user, session, settings, patient_id,
                 lambda: svc.record_adverse_event(session, user, patient_id,
                                                  _ae_checked(data)),
                 form="adverse-event", values=data, dates=("onset_on",))


@router.post("/patients/{patient_id}/follow-up", dependencies=[Csrf])
async def follow_up(patient_id: Id, request: Request, user: Investigator,
                    session: SessionDep, settings: SettingsDep) -> Response:
    data = await form_data(request)
    reason = data.get("reason")

    def write() -> object:  # the form shows the saved values: a reason only for a change
        try:
            return svc.record_follow_up(session, user, patient_id, data, reason=reason)
        except DataError as exc:
            raise reason_asked(exc) from exc

    return _save(request, user, session, settings, patient_id, write,
                 form="follow-up-form", values=data, dates=("last_contact_on", "death_on"))


@router.post("/patients/{patient_id}/administrations", dependencies=[Csrf])
async def administration(patient_id: Id, request: Request, user: Investigator,
                         session: SessionDep, settings: SettingsDep) -> Response:
    data = await form_data(request)
    _flag(data, "oos_request_documented")
    _flag(data, "surgery")
    return _save(request, user, session, settings, patient_id,
                 lambda: svc.record_administration(session, user, patient_id, data),
                 form="administer", values=data, dates=("administered_on",))


@router.post("/assessments/change", dependencies=[Csrf])
async def change_assessment(request: Request, user: Investigator, session: SessionDep,
                            settings: SettingsDep) -> Response:
    data = await form_data(request)
    given = str(data.get("assessment") or "")
    assessment_id = int(given) if given.isdigit() and len(given) < 10 else 0
    a = svc.get_assessment(session, user, assessment_id)
    field = str(data.get("field") or "")
    changes = {field: data.get("value")}
    return _save(request, user, session, settings, a.patient_id,
                 lambda: svc.change_assessment(session, user, assessment_id, changes,
                                               data.get("reason"), settings))


@router.get("/queries", response_class=HTMLResponse)
def queries(request: Request, user: Reader, session: SessionDep,
            settings: SettingsDep) -> Response:
    return render(request, "queries.html", user=user, queries=_queries(session, user, settings))


@router.post("/queries", dependencies=[Csrf])
async def raise_query(request: Request, user: Statistician, session: SessionDep,
                      settings: SettingsDep) -> Response:
    data = await form_data(request)
    table, _, rid = str(data.get("record") or "").partition(":")
    record_id = int(rid) if rid.isdigit() and len(rid) < 10 else 0
    patient_id = int(data.get("patient_id") or 0) if str(data.get("patient_id") or "").isdigit() \
        else 0
    try:
        rec.raise_query(session, user, table, record_id, str(data.get("field") or ""),
                        str(data.get("question") or ""))
    except (DataError, svc.NotFound) as exc:
        session.rollback()
        errors = error_list(exc) if isinstance(exc, DataError) else [Problem("no such record")]
        if patient_id:
            return patient_page(request, user, session, settings, patient_id, 422, errors)
        return render(request, "queries.html", status=422, user=user, errors=errors,
                      queries=_queries(session, user, settings))
    return RedirectResponse("/queries", status_code=303)


def _queries(session: Session, user: User, settings: WebSettings) -> list[dict[str, Any]]:
    return rec.list_queries(session, user, secret=settings.secret_key)


async def _query_step(request: Request, user: User, session: Session, settings: WebSettings,
                      step: Callable[[dict[str, Any]], object]) -> Response:
    data = await form_data(request)
    try:
        step(data)
    except DataError as exc:
        session.rollback()
        return render(request, "queries.html", status=422, user=user, errors=error_list(exc),
                      queries=_queries(session, user, settings))
    return RedirectResponse("/queries", status_code=303)


@router.post("/queries/{query_id}/answer", dependencies=[Csrf])
async def answer_query(query_id: Id, request: Request, user: Investigator,
                       session: SessionDep, settings: SettingsDep) -> Response:
    return await _query_step(request, user, session, settings, lambda d: rec.answer_query(
        session, user, query_id, str(d.get("answer") or "")))


@router.post("/queries/{query_id}/close", dependencies=[Csrf])
async def close_query(query_id: Id, request: Request, user: Statistician,
                      session: SessionDep, settings: SettingsDep) -> Response:
    return await _query_step(request, user, session, settings,
                             lambda d: rec.close_query(session, user, query_id))
