"""Server-rendered pages (Jinja2). Forms post with a CSRF token and go through the same
services as the JSON API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from regmed.errors import DataError, Problem
from regmed.registry import Indication, User, load_dictionary
from regmed.web import adjudication as adj
from regmed.web import crc
from regmed.web import records as rec
from regmed.web import services as svc
from regmed.web.auth import LoginRefused, csrf_token, end_session, login_user
from regmed.web.dashboard import dashboard
from regmed.web.deps import SessionDep, SettingsDep, UserDep, check_csrf, require
from regmed.web.i18n import Translator, translator_for
from regmed.web.planview import schedule
from regmed.web.problems import field_errors, summary
from regmed.web.schemas import Id
from regmed.web.settings import WebSettings
from regmed.web.views import patient_view

__all__ = ["router", "patient_page", "render", "form_data", "error_list", "translator"]

router = APIRouter(include_in_schema=False)
Csrf = Depends(check_csrf)
Reader = Annotated[User, Depends(require(*svc.READ_ROLES))]
Investigator = Annotated[User, Depends(require("investigator"))]
Adjudicator = Annotated[User, Depends(require("adjudicator"))]
Analyst = Annotated[User, Depends(require("statistician", "regulator"))]


def translator(request: Request) -> Translator:
    """The request's language and date style (see :mod:`regmed.web.i18n`)."""
    return translator_for(request.app.state.catalogues, request.headers.get("accept-language"),
                          request.cookies, getattr(request.state, "user_shown", None))


def render(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    """A page in the request's language; ``errors`` (problems or texts) are listed at the top
    and each problem with a field is shown beside its field too (``field_errors``);
    ``values`` are what the user typed, shown again in a refused form."""
    t = translator(request)
    context.setdefault("user", None)
    context.setdefault("values", {})
    context.setdefault("form", None)
    problems = [e if isinstance(e, Problem) else Problem(str(e))
                for e in context.get("errors") or []]
    refused = DataError("refused", problems)
    context["errors"] = summary(refused, t) if problems else []
    context["field_errors"] = {k: v for k, v in field_errors(refused, t).items() if k} \
        if problems else {}
    context.update(_=t, t=t, lang=t.lang, date=t.date, date_style=t.dates)
    context["csrf_token"] = csrf_token(request)
    templates = request.app.state.templates
    return templates.TemplateResponse(request, name, context, status_code=status)  # type: ignore


def error_list(exc: DataError) -> list[Problem]:
    """The problems of a refused request, for :func:`render`'s ``errors``."""
    return list(exc.problems) or [Problem(exc.message)]


async def form_data(request: Request) -> dict[str, Any]:
    form = await request.form()
    return {k: (v.strip() if isinstance(v, str) else v) or None for k, v in form.items()
            if k != "csrf_token"}


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, settings: SettingsDep) -> Response:
    from regmed.web.errorpages import COOKIE_HELP, cookie_dropped

    return render(request, "login.html",
                  notice=COOKIE_HELP if cookie_dropped(request, settings) else None)


@router.post("/login", dependencies=[Csrf])
async def login(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    form = await form_data(request)
    try:
        login_user(request, session, settings, str(form.get("username") or "")[:64],
                   str(form.get("password") or "")[:256], str(form.get("otp") or "")[:16])
    except LoginRefused as exc:
        page = render(request, "login.html", status=exc.status, errors=[exc.detail])
        page.headers.update(exc.headers())
        return page
    return RedirectResponse("/", status_code=303)


@router.post("/logout", dependencies=[Csrf])
def logout(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    end_session(request, session, settings)
    return RedirectResponse("/login", status_code=303)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, user: UserDep) -> Response:
    return render(request, "home.html", user=user)


def _patients_page(request: Request, user: User, session: Session, settings: WebSettings,
                   status: int = 200, **context: Any) -> Response:
    rows = [patient_view(session, user, p, settings)
            for p in session.execute(svc.visible_patients(user)).scalars()]
    indications = session.execute(select(Indication.indication_code)).scalars().all()
    from regmed.web.formpages import form_links

    return render(request, "patients.html", status=status, user=user, patients=rows,
                  indications=indications, sites=crc.site_codes(session, user),
                  study_forms=form_links(session) if user.role == "investigator" else [],
                  cohorts=_enum("enrollments", "cohort"),
                  directions=_enum("enrollments", "direction"), **context)


@router.get("/patients", response_class=HTMLResponse)
def patients(request: Request, user: Reader, session: SessionDep,
             settings: SettingsDep) -> Response:
    return _patients_page(request, user, session, settings)


@router.post("/patients/search", dependencies=[Csrf])
async def search(request: Request, user: Reader, session: SessionDep,
                 settings: SettingsDep) -> Response:
    """Find a patient by the site's own id (hashed with the pseudonym key, never stored)."""
    data = await form_data(request)
    ref = str(data.get("q") or "")[:64]
    site = str(data.get("site") or "")[:32] or None
    found = crc.find_by_ref(session, user, settings, ref, site) if ref else []
    return _patients_page(request, user, session, settings, searched=ref, found=found,
                          search_site=site)


@router.post("/patients", dependencies=[Csrf])
async def enroll(request: Request, user: Investigator, session: SessionDep,
                 settings: SettingsDep) -> Response:
    data = await form_data(request)
    try:
        p = crc.checked_write(data, ("index_on", "enrolled_on"), settings, "cannot enroll",
                              lambda: svc.enroll_patient(session, user, data, settings))
    except DataError as exc:
        session.rollback()
        return _patients_page(request, user, session, settings, status=422,
                              errors=error_list(exc), values=data)
    from regmed.web.formpages import form_links

    first = form_links(session).first(p.id) if data.get("next") == "1" else None
    target = first or f"/patients/{p.id}"
    return RedirectResponse(target, status_code=303)


#: Fields a data query may name, by record table (the forms' columns).
QUERY_FIELDS = {
    "enrollments": ("cohort", "direction", "index_on", "enrolled_on", "source"),
    "assessments": ("visit", "endpoint", "assessed_on", "value", "value_text", "assessor",
                    "assessor_role", "blinded"),
    "adverse_events": ("term", "onset_on", "serious", "grade", "related", "outcome"),
    "follow_ups": ("last_contact_on", "status", "death_on", "death_cause"),
}


def adj_names(session: Session) -> list[str]:
    """The active adjudicators' user names (the reviewers an assessment can be assigned to)."""
    return list(session.execute(select(User.username).where(
        User.role == "adjudicator", User.active.is_(True)).order_by(User.username)).scalars())


def _enum(table: str, column: str) -> tuple[str, ...]:
    return load_dictionary().tables[table].columns[column].values


def patient_page(request: Request, user: User, session: Session, settings: WebSettings,
                 patient_id: int, status: int = 200, errors: list[Problem] | None = None,
                 values: dict[str, Any] | None = None, form: str | None = None) -> Response:
    """The patient page with the forms the user's role may use (re-shown with ``errors``)."""
    view = patient_view(session, user, svc.get_patient(session, user, patient_id), settings)
    lots = svc.available_lots(session, user, patient_id) if user.role == "investigator" else []
    queries = [q for q in rec.list_queries(session, user, secret=settings.secret_key)
               if q["patient_id"] == patient_id]
    from regmed.web.formpages import form_links

    return render(request, "patient.html", status=status, user=user, p=view,
                   visits=schedule(session, settings), lots=lots, queries=queries,
                   timeline=crc.timeline(view, queries), values=values or {}, form=form,
                   endpoints=crc.endpoint_choices(session, settings), grades=crc.AIS_GRADES,
                   adjudicators=adj_names(session) if user.role in ("statistician", "admin")
                   else [], query_fields=QUERY_FIELDS,
                   errors=errors or [], routes=_enum("administrations", "route"),
                   related=_enum("adverse_events", "related"),
                   outcomes=_enum("adverse_events", "outcome"),
                   statuses=_enum("follow_ups", "status"),
                   changeable=svc.ASSESSMENT_FIELDS,
                   study_forms=form_links(session, patient_id))


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def patient(patient_id: Id, request: Request, user: Reader, session: SessionDep,
            settings: SettingsDep) -> Response:
    return patient_page(request, user, session, settings, patient_id)


@router.post("/patients/{patient_id}/assessments", dependencies=[Csrf])
async def add_assessment(patient_id: Id, request: Request, user: Investigator,
                         session: SessionDep, settings: SettingsDep) -> Response:
    data = await form_data(request)
    typed = dict(data)
    data["blinded"] = data.get("blinded") == "true"
    try:
        # AIS grade A–E and one assessment per patient, endpoint, visit, assessor role and
        # assessor are the registry's rules (the same for an import)
        crc.checked_write(data, ("assessed_on",), settings, "assessment refused",
                          lambda: svc.record_assessment(session, user, patient_id, data,
                                                        settings))
    except DataError as exc:
        session.rollback()
        return patient_page(request, user, session, settings, patient_id, 422, error_list(exc),
                            values=typed, form="assess")
    return RedirectResponse(f"/patients/{patient_id}", status_code=303)


@router.get("/adjudication", response_class=HTMLResponse)
def adjudication_list(request: Request, user: Adjudicator, session: SessionDep,
                      settings: SettingsDep) -> Response:
    return render(request, "adjudication.html", user=user,
                   items=adj.assignments_of(session, user,
                                            plan=adj.locked_plan_of(session, settings)))


def _number(text: Any) -> float | None:
    """A form's number; not a finite number is refused with the field named."""
    if text is None:
        return None
    try:
        value = float(str(text))
    except ValueError:
        value = float("nan")
    if value != value or value in (float("inf"), float("-inf")):
        raise DataError("verdict refused", [Problem("not a finite number", field="value")])
    return value


@router.post("/adjudication/{assignment_id}", dependencies=[Csrf])
async def adjudicate(assignment_id: Id, request: Request, user: Adjudicator,
                     session: SessionDep, settings: SettingsDep) -> Response:
    data = await form_data(request)
    plan = adj.locked_plan_of(session, settings)
    step = adj.record_consensus if data.get("step") == "consensus" else adj.record_verdict
    try:
        step(session, user, assignment_id, _number(data.get("value")), data.get("value_text"),
             data.get("reason"), plan=plan, today=settings.today())
    except DataError as exc:
        session.rollback()
        return render(request, "adjudication.html", status=422, user=user,
                       items=adj.assignments_of(session, user, plan=plan),
                       errors=error_list(exc))
    return RedirectResponse("/adjudication", status_code=303)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(request: Request, user: Analyst, session: SessionDep,
                   settings: SettingsDep) -> Response:
    return render(request, "dashboard.html", user=user, d=dashboard(session, settings),
                   agreement=adj.agreement_by_endpoint(session))


Coordinator = Annotated[User, Depends(require("admin", "statistician"))]


@router.post("/assessments/{assessment_id}/assign", dependencies=[Csrf])
async def assign_page(assessment_id: Id, request: Request, user: Coordinator,
                      session: SessionDep, settings: SettingsDep) -> Response:
    data = await form_data(request)
    names = [n.strip() for n in str(data.get("reviewers") or "").split(",") if n.strip()]
    names += [str(n) for n in (await request.form()).getlist("reviewer") if str(n) not in names]
    back = str(request.headers.get("referer") or "/patients")
    try:
        adj.assign(session, user, assessment_id, names, str(data.get("kind") or "review"),
                   plan=adj.locked_plan_of(session, settings))
    except DataError as exc:
        session.rollback()
        return render(request, "home.html", status=422, user=user, errors=error_list(exc))
    return RedirectResponse(back if back.startswith(str(request.base_url)) else "/patients",
                            status_code=303)
