"""Pages of the forms generated from the study dictionary: ``/patients/{id}/forms/{form}``
for a patient-level form and ``/patients/{id}/visits/{visit}/forms/{form}`` for a form filled
at a visit (read by the roles that read the patient, saved by the patient's site
investigator), and the visibility answer the page's script asks for when an answer changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from regmed.errors import DataError
from regmed.registry import Baseline, User, VisitValue
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

__all__ = ["router", "form_links", "FormLinks", "form_url"]

router = APIRouter(include_in_schema=False)
Csrf = Depends(check_csrf)
Reader = Annotated[User, Depends(require(*svc.READ_ROLES))]
Investigator = Annotated[User, Depends(require("investigator"))]
FormName = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
VisitName = Annotated[str, Path(min_length=1, max_length=64)]


@dataclass
class FormLinks:
    """The study forms of the patient page: patient-level forms, per scheduled visit (name,
    target day) its forms, and the (visit, form) pairs with saved values (visit ``""`` for a
    patient-level form)."""

    patient: list[str] = field(default_factory=list)
    visits: list[tuple[str, int, list[str]]] = field(default_factory=list)
    saved: set[tuple[str, str]] = field(default_factory=set)
    dictionary: StudyDictionary | None = None

    def title(self, form: str, lang: str) -> str:
        """The form's title in ``lang`` (its instrument label, else its name)."""
        return self.dictionary.form_label(form, lang) if self.dictionary else form

    def __bool__(self) -> bool:
        return bool(self.patient or self.visits)

    def first(self, patient_id: int) -> str | None:
        """The page of the first form: the first patient-level one, else the first form of
        the first visit (None without forms)."""
        if self.patient:
            return form_url(patient_id, self.patient[0])
        if self.visits:
            name, _, forms = self.visits[0]
            return form_url(patient_id, forms[0], name)
        return None


def form_links(session: Session, patient_id: int | None = None) -> FormLinks:
    """The forms of the stored study dictionary (none without one), for the patient page
    (with ``patient_id``: which of them hold saved values)."""
    d = latest_study_dictionary(session)
    if d is None:
        return FormLinks()
    saved: set[tuple[str, str]] = set()
    if patient_id is not None:
        rows = [("", var) for var in session.scalars(select(Baseline.variable).where(
            Baseline.patient_id == patient_id))]
        rows += session.execute(select(VisitValue.visit, VisitValue.variable).where(
            VisitValue.patient_id == patient_id)).tuples().all()
        for visit, var in rows:
            v = d.variable(var)
            if v is not None:
                saved.add((visit, v.form))
    return FormLinks(d.patient_forms(), [(v.name, v.day, d.visit_forms(v.name))
                                         for v in d.visits if d.visit_forms(v.name)], saved,
                     d)


def form_url(patient_id: int, form: str, visit: str | None = None) -> str:
    """The page of a patient's form (at ``visit`` for a visit form)."""
    if visit is None:
        return f"/patients/{patient_id}/forms/{form}"
    return f"/patients/{patient_id}/visits/{quote(visit, safe='')}/forms/{form}"


def _dictionary(session: Session, form: str, visit: str | None
                ) -> tuple[StudyDictionary, list[str]]:
    """The stored dictionary and the forms of the page's set (the visit's, or the
    patient-level ones); not found when ``form`` is not one of them."""
    d = latest_study_dictionary(session)
    forms = [] if d is None else (d.patient_forms() if visit is None else d.visit_forms(visit))
    if d is None or form not in forms:
        where = "" if visit is None else f" at visit {visit}"
        raise svc.NotFound(f"form {form}{where} not found")
    return d, forms


async def _posted(request: Request) -> dict[str, list[str]]:
    form = await request.form()
    return {k: [str(x) for x in form.getlist(k)] for k in form if k != "csrf_token"}


def _page(request: Request, user: User, session: Session, patient_id: int, form: str,
          visit: str | None, status: int = 200, typed: dict[str, Any] | None = None,
          errors: dict[str, list[str]] | None = None, reason: str | None = None) -> Response:
    d, forms = _dictionary(session, form, visit)
    patient = svc.get_patient(session, user, patient_id)
    t = translator(request)
    stored = stored_values(session, patient.id, d, visit)
    fields = form_fields(d, form, stored, t.lang, typed, errors)
    at = forms.index(form)
    nxt = forms[at + 1] if at + 1 < len(forms) else None
    has_saved = any(v.name in stored for v in d.form(form))
    listed = [f"{ff.label}: {e}" for ff in fields for e in ff.errors]
    listed += [f"{t('Reason for the change')}: {e}" for e in (errors or {}).get("reason", [])]
    listed += list((errors or {}).get("", []))
    return render(request, "study_form.html", status=status, user=user, p=patient,
                  form_name=form, forms=forms, next_form=nxt, fields=fields, visit=visit,
                  titles={f: d.form_label(f, t.lang) for f in d.forms()},
                  form_url=form_url(patient.id, form, visit),
                  links={f: form_url(patient.id, f, visit) for f in forms},
                  errors=listed, reason=reason or "", reason_errors=(errors or {}).get(
                      "reason", []), has_saved=has_saved,
                  can_edit=user.role == "investigator" and patient.site_id == user.site_id)


async def _save(request: Request, user: User, session: Session, patient_id: int, form: str,
                visit: str | None) -> Response:
    d, forms = _dictionary(session, form, visit)
    patient = svc.get_patient(session, user, patient_id)
    posted = await _posted(request)
    typed = form_values(d, form, posted)
    reason = (posted.get("reason") or [""])[-1].strip()[:255] or None
    t = translator(request)
    try:
        save_form(session, user, patient, d, form, typed, reason, t.lang, t(REASON_NEEDED),
                  visit)
    except DataError as exc:
        session.rollback()
        errors: dict[str, list[str]] = {}
        names = set(d.names()) | {"reason"}
        for p in exc.problems or [exc]:
            field_name = getattr(p, "field", None)
            errors.setdefault(field_name if field_name in names else "", []).append(
                p.message)
        return _page(request, user, session, patient_id, form, visit, 422, typed, errors,
                     reason)
    target = form
    if (posted.get("next") or [""])[-1] == "1" and forms.index(form) + 1 < len(forms):
        target = forms[forms.index(form) + 1]
    return RedirectResponse(form_url(patient_id, target, visit) + "?saved=1",
                            status_code=303)


async def _visibility(request: Request, user: User, session: Session, patient_id: int,
                      form: str, visit: str | None) -> Response:
    d, _ = _dictionary(session, form, visit)
    patient = svc.get_patient(session, user, patient_id)
    typed = form_values(d, form, await _posted(request))
    stored = stored_values(session, patient.id, d, visit)
    fields = form_fields(d, form, stored, "en", typed)
    return JSONResponse({"shown": {f.var.name: f.shown for f in fields},
                         "calculated": {f.var.name: f.value for f in fields
                                        if f.widget == "calculated"}})


@router.get("/patients/{patient_id}/forms/{form}", response_class=HTMLResponse)
def study_form(patient_id: Id, form: FormName, request: Request, user: Reader,
               session: SessionDep) -> Response:
    """A patient-level dictionary form of a patient, with the saved values."""
    return _page(request, user, session, patient_id, form, None)


@router.post("/patients/{patient_id}/forms/{form}", dependencies=[Csrf])
async def save_study_form(patient_id: Id, form: FormName, request: Request,
                          user: Investigator, session: SessionDep) -> Response:
    """Save a patient-level dictionary form (``next=1``: then open the next form)."""
    return await _save(request, user, session, patient_id, form, None)


@router.post("/patients/{patient_id}/forms/{form}/visibility", dependencies=[Csrf])
async def form_visibility(patient_id: Id, form: FormName, request: Request, user: Reader,
                          session: SessionDep) -> Response:
    """Which fields the branching shows for the typed values (the page's script asks)."""
    return await _visibility(request, user, session, patient_id, form, None)


@router.get("/patients/{patient_id}/visits/{visit}/forms/{form}",
            response_class=HTMLResponse)
def visit_form(patient_id: Id, visit: VisitName, form: FormName, request: Request,
               user: Reader, session: SessionDep) -> Response:
    """A form of a patient's visit, with the values saved for that visit."""
    return _page(request, user, session, patient_id, form, visit)


@router.post("/patients/{patient_id}/visits/{visit}/forms/{form}", dependencies=[Csrf])
async def save_visit_form(patient_id: Id, visit: VisitName, form: FormName,
                          request: Request, user: Investigator, session: SessionDep
                          ) -> Response:
    """Save a form of a visit (``next=1``: then open the next form of the same visit)."""
    return await _save(request, user, session, patient_id, form, visit)


@router.post("/patients/{patient_id}/visits/{visit}/forms/{form}/visibility",
             dependencies=[Csrf])
async def visit_form_visibility(patient_id: Id, visit: VisitName, form: FormName,
                                request: Request, user: Reader, session: SessionDep
                                ) -> Response:
    """Which fields of a visit form the branching shows for the typed values."""
    return await _visibility(request, user, session, patient_id, form, visit)
