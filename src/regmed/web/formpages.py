"""Pages of the forms generated from the study dictionary: ``/patients/{id}/forms/{form}``
(read by the roles that read the patient, saved by the patient's site investigator) and the
visibility answer the page's script asks for when an answer changes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from regmed.errors import DataError
from regmed.registry import User
from regmed.registry.study_dictionary import latest_study_dictionary
from regmed.study import StudyDictionary
from regmed.web import services as svc
from regmed.web.deps import SessionDep, check_csrf, require
from regmed.web.pages import render, translator
from regmed.web.schemas import Id
from regmed.web.studyforms import (
    REASON_NEEDED,
    form_fields,
    form_values,
    save_form,
    stored_values,
)

__all__ = ["router", "form_links"]

router = APIRouter(include_in_schema=False)
Csrf = Depends(check_csrf)
Reader = Annotated[User, Depends(require(*svc.READ_ROLES))]
Investigator = Annotated[User, Depends(require("investigator"))]
FormName = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]


def form_links(session: Session) -> list[str]:
    """The forms of the stored study dictionary (none without one), for the patient page."""
    d = latest_study_dictionary(session)
    return d.forms() if d is not None else []


def _dictionary(session: Session, form: str) -> StudyDictionary:
    d = latest_study_dictionary(session)
    if d is None or form not in d.forms():
        raise svc.NotFound(f"form {form} not found")
    return d


async def _posted(request: Request) -> dict[str, list[str]]:
    form = await request.form()
    return {k: [str(x) for x in form.getlist(k)] for k in form if k != "csrf_token"}


def _page(request: Request, user: User, session: Session, patient_id: int, form: str,
          status: int = 200, typed: dict[str, Any] | None = None,
          errors: dict[str, list[str]] | None = None, reason: str | None = None) -> Response:
    d = _dictionary(session, form)
    patient = svc.get_patient(session, user, patient_id)
    t = translator(request)
    stored = stored_values(session, patient.id)
    fields = form_fields(d, form, stored, t.lang, typed, errors)
    forms = d.forms()
    nxt = forms[forms.index(form) + 1] if forms.index(form) + 1 < len(forms) else None
    has_saved = any(v.name in stored for v in d.form(form))
    listed = [f"{ff.label}: {e}" for ff in fields for e in ff.errors]
    listed += [f"{t('Reason for the change')}: {e}" for e in (errors or {}).get("reason", [])]
    listed += list((errors or {}).get("", []))
    return render(request, "study_form.html", status=status, user=user, p=patient,
                  form_name=form, forms=forms, next_form=nxt, fields=fields,
                  errors=listed, reason=reason or "", reason_errors=(errors or {}).get(
                      "reason", []), has_saved=has_saved,
                  can_edit=user.role == "investigator" and patient.site_id == user.site_id)


@router.get("/patients/{patient_id}/forms/{form}", response_class=HTMLResponse)
def study_form(patient_id: Id, form: FormName, request: Request, user: Reader,
               session: SessionDep) -> Response:
    """A dictionary form of a patient, with the saved values."""
    return _page(request, user, session, patient_id, form)


@router.post("/patients/{patient_id}/forms/{form}", dependencies=[Csrf])
async def save_study_form(patient_id: Id, form: FormName, request: Request,
                          user: Investigator, session: SessionDep) -> Response:
    """Save a dictionary form (``next=1``: then open the dictionary's next form)."""
    d = _dictionary(session, form)
    patient = svc.get_patient(session, user, patient_id)
    posted = await _posted(request)
    typed = form_values(d, form, posted)
    reason = (posted.get("reason") or [""])[-1].strip()[:255] or None
    t = translator(request)
    try:
        save_form(session, user, patient, d, form, typed, reason, t.lang, t(REASON_NEEDED))
    except DataError as exc:
        session.rollback()
        errors: dict[str, list[str]] = {}
        names = set(d.names()) | {"reason"}
        for p in exc.problems or []:
            errors.setdefault(p.field if p.field in names else "", []).append(p.message)
        return _page(request, user, session, patient_id, form, 422, typed, errors, reason)
    forms = d.forms()
    target = form
    if (posted.get("next") or [""])[-1] == "1" and forms.index(form) + 1 < len(forms):
        target = forms[forms.index(form) + 1]
    return RedirectResponse(f"/patients/{patient_id}/forms/{target}?saved=1", status_code=303)


@router.post("/patients/{patient_id}/forms/{form}/visibility", dependencies=[Csrf])
async def form_visibility(patient_id: Id, form: FormName, request: Request, user: Reader,
                          session: SessionDep) -> Response:
    """Which fields the branching shows for the typed values (the page's script asks)."""
    d = _dictionary(session, form)
    patient = svc.get_patient(session, user, patient_id)
    typed = form_values(d, form, await _posted(request))
    stored = stored_values(session, patient.id)
    fields = form_fields(d, form, stored, "en", typed)
    return JSONResponse({"shown": {f.var.name: f.shown for f in fields},
                         "calculated": {f.var.name: f.value for f in fields
                                        if f.widget == "calculated"}})

