"""Server-rendered pages (Jinja2). Forms post with a CSRF token and go through the same
services as the JSON API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from regmed.errors import DataError
from regmed.registry import Indication, User
from regmed.web import adjudication as adj
from regmed.web import services as svc
from regmed.web.api import login_user
from regmed.web.dashboard import dashboard
from regmed.web.deps import SessionDep, SettingsDep, UserDep, check_csrf, require
from regmed.web.planview import schedule
from regmed.web.schemas import Id
from regmed.web.security import new_csrf_token

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Csrf = Depends(check_csrf)
Reader = Annotated[User, Depends(require(*svc.READ_ROLES))]
Investigator = Annotated[User, Depends(require("investigator"))]
Adjudicator = Annotated[User, Depends(require("adjudicator"))]
Analyst = Annotated[User, Depends(require("statistician", "regulator"))]


def _render(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    if "csrf" not in request.session:
        request.session["csrf"] = new_csrf_token()
    context.setdefault("user", None)
    context.setdefault("errors", [])
    context["csrf_token"] = request.session["csrf"]
    templates = request.app.state.templates
    return templates.TemplateResponse(request, name, context, status_code=status)  # type: ignore


def _errors(exc: DataError) -> list[str]:
    return [str(p) for p in exc.problems] or [exc.message]


async def _form(request: Request) -> dict[str, Any]:
    form = await request.form()
    return {k: (v.strip() if isinstance(v, str) else v) or None for k, v in form.items()
            if k != "csrf_token"}


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    return _render(request, "login.html")


@router.post("/login", dependencies=[Csrf])
async def login(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    form = await _form(request)
    try:
        login_user(request, session, settings, str(form.get("username") or ""),
                   str(form.get("password") or ""))
    except HTTPException as exc:
        return _render(request, "login.html", status=exc.status_code, errors=[exc.detail])
    return RedirectResponse("/", status_code=303)


@router.post("/logout", dependencies=[Csrf])
def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, user: UserDep) -> Response:
    return _render(request, "home.html", user=user)


@router.get("/patients", response_class=HTMLResponse)
def patients(request: Request, user: Reader, session: SessionDep,
             settings: SettingsDep) -> Response:
    rows = [svc.patient_view(session, user, p, settings)
            for p in session.execute(svc.visible_patients(user)).scalars()]
    indications = session.execute(select(Indication.indication_code)).scalars().all()
    return _render(request, "patients.html", user=user, patients=rows,
                   indications=indications)


@router.post("/patients", dependencies=[Csrf])
async def enroll(request: Request, user: Investigator, session: SessionDep,
                 settings: SettingsDep) -> Response:
    data = await _form(request)
    try:
        p = svc.enroll_patient(session, user, data, settings)
    except DataError as exc:
        session.rollback()
        indications = session.execute(select(Indication.indication_code)).scalars().all()
        return _render(request, "patients.html", status=422, user=user, patients=[],
                       indications=indications, errors=_errors(exc))
    return RedirectResponse(f"/patients/{p.id}", status_code=303)


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def patient(patient_id: Id, request: Request, user: Reader, session: SessionDep,
            settings: SettingsDep) -> Response:
    view = svc.patient_view(session, user, svc.get_patient(session, user, patient_id), settings)
    return _render(request, "patient.html", user=user, p=view,
                   visits=schedule(session, settings))


@router.post("/patients/{patient_id}/assessments", dependencies=[Csrf])
async def add_assessment(patient_id: Id, request: Request, user: Investigator,
                         session: SessionDep, settings: SettingsDep) -> Response:
    data = await _form(request)
    data["blinded"] = data.get("blinded") == "true"
    try:
        svc.record_assessment(session, user, patient_id, data, settings)
    except DataError as exc:
        session.rollback()
        view = svc.patient_view(session, user, svc.get_patient(session, user, patient_id),
                                settings)
        return _render(request, "patient.html", status=422, user=user, p=view,
                       visits=schedule(session, settings), errors=_errors(exc))
    return RedirectResponse(f"/patients/{patient_id}", status_code=303)


@router.get("/adjudication", response_class=HTMLResponse)
def adjudication_list(request: Request, user: Adjudicator, session: SessionDep) -> Response:
    return _render(request, "adjudication.html", user=user,
                   items=adj.assignments_of(session, user))


@router.post("/adjudication/{assignment_id}", dependencies=[Csrf])
async def adjudicate(assignment_id: Id, request: Request, user: Adjudicator,
                     session: SessionDep) -> Response:
    data = await _form(request)
    value_text = data.get("value_text")
    try:
        if data.get("step") == "consensus":
            adj.record_consensus(session, user, assignment_id, None, value_text)
        else:
            adj.record_verdict(session, user, assignment_id, None, value_text)
    except DataError as exc:
        session.rollback()
        return _render(request, "adjudication.html", status=422, user=user,
                       items=adj.assignments_of(session, user), errors=_errors(exc))
    return RedirectResponse("/adjudication", status_code=303)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(request: Request, user: Analyst, session: SessionDep,
                   settings: SettingsDep) -> Response:
    return _render(request, "dashboard.html", user=user, d=dashboard(session, settings),
                   agreement=adj.agreement_by_endpoint(session))


Coordinator = Annotated[User, Depends(require("admin", "statistician"))]


@router.post("/assessments/{assessment_id}/assign", dependencies=[Csrf])
async def assign_page(assessment_id: Id, request: Request, user: Coordinator,
                      session: SessionDep) -> Response:
    data = await _form(request)
    names = [n.strip() for n in str(data.get("reviewers") or "").split(",") if n.strip()]
    back = str(request.headers.get("referer") or "/patients")
    try:
        adj.assign(session, user, assessment_id, names)
    except DataError as exc:
        session.rollback()
        return _render(request, "home.html", status=422, user=user, errors=_errors(exc))
    return RedirectResponse(back if back.startswith(str(request.base_url)) else "/patients",
                            status_code=303)
