"""The JSON API (``/api``); its OpenAPI document is served at ``/openapi.json`` to logged-in
administrators and statisticians (:mod:`regmed.web.account`)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from regmed.registry import AuditEvent, User, add_user, import_tables, list_users
from regmed.web import adjudication as adj
from regmed.web import records as rec
from regmed.web import services as svc
from regmed.web import signing as sig
from regmed.web.auth import (
    LoginRefused,
    csrf_token,
    end_session,
    keep_failure,
    login_refusal,
    login_user,
)
from regmed.web.dashboard import dashboard
from regmed.web.deps import SessionDep, SettingsDep, UserDep, check_csrf, require
from regmed.web.schemas import (
    AdministrationIn,
    AdverseEventIn,
    AssessmentChange,
    AssessmentIn,
    AssignIn,
    EnrollmentIn,
    FiniteRows,
    FollowUpIn,
    Id,
    LoginIn,
    LoginOut,
    Me,
    QueryAnswer,
    QueryIn,
    SignatureIn,
    UnlockIn,
    UserIn,
    VerdictIn,
)
from regmed.web.security import pseudonym_of
from regmed.web.settings import WebSettings
from regmed.web.views import patient_view

__all__ = ["router", "NAMED_FIELDS", "audit_events"]

router = APIRouter(prefix="/api", tags=["api"])
Csrf = Depends(check_csrf)
Reader = Annotated[User, Depends(require(*svc.READ_ROLES))]
Investigator = Annotated[User, Depends(require("investigator"))]
Adjudicator = Annotated[User, Depends(require("adjudicator"))]
Coordinator = Annotated[User, Depends(require("admin", "statistician"))]
Analyst = Annotated[User, Depends(require("statistician", "regulator"))]
Auditor = Annotated[User, Depends(require("admin", "regulator"))]
Admin = Annotated[User, Depends(require("admin"))]
Statistician = Annotated[User, Depends(require("statistician"))]
Signer = Annotated[User, Depends(require(*sig.SIGNING_ROLES))]

#: Fields of audit values that hold a person's name (pseudonymized for regulators).
NAMED_FIELDS = ("assessor", "reviewer", "username", "signed_by", "raised_by", "answered_by",
                "assigned_by")


@router.post("/login", response_model=LoginOut)
def api_login(body: LoginIn, request: Request, session: SessionDep,
              settings: SettingsDep) -> LoginOut | JSONResponse:
    """Log in (``otp``: the one-time code of a user with a second factor); the answer
    carries the CSRF token to send as ``X-CSRF-Token``. Refusals: 401, or 429 with
    ``Retry-After`` while failed logins from this address are throttled."""
    try:
        user = login_user(request, session, settings, body.username, body.password, body.otp)
    except LoginRefused as exc:
        return JSONResponse(login_refusal(exc), status_code=exc.status, headers=exc.headers())
    return LoginOut(username=user.username, role=user.role, csrf_token=csrf_token(request))


@router.post("/logout", dependencies=[Csrf])
def api_logout(request: Request, user: UserDep, session: SessionDep,
               settings: SettingsDep) -> dict[str, str]:
    """End the session (in the database: a copy of the cookie is refused afterwards)."""
    end_session(request, session, settings)
    return {"status": "logged out"}


@router.get("/me", response_model=Me)
def me(user: UserDep, session: SessionDep) -> Me:
    """Who is logged in."""
    return Me(username=user.username, role=user.role,
              site_code=svc.user_site_code(session, user))


@router.get("/patients")
def list_patients(user: Reader, session: SessionDep,
                  settings: SettingsDep) -> list[dict[str, Any]]:
    """Patients the user may read (an investigator: own site only)."""
    patients = session.execute(svc.visible_patients(user)).scalars().all()
    return [patient_view(session, user, p, settings) for p in patients]


@router.post("/patients", status_code=201, dependencies=[Csrf])
def enroll(body: EnrollmentIn, user: Investigator, session: SessionDep,
           settings: SettingsDep) -> dict[str, Any]:
    """Enroll a patient of the investigator's site."""
    p = svc.enroll_patient(session, user, body.model_dump(mode="json"), settings)
    return patient_view(session, user, p, settings)


@router.get("/patients/{patient_id}")
def read_patient(patient_id: Id, user: Reader, session: SessionDep,
                 settings: SettingsDep) -> dict[str, Any]:
    """One patient (404 when not visible to the user)."""
    return patient_view(session, user, svc.get_patient(session, user, patient_id), settings)


@router.post("/patients/{patient_id}/assessments", status_code=201, dependencies=[Csrf])
def add_assessment(patient_id: Id, body: AssessmentIn, user: Investigator,
                   session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    """Record an assessment of a scheduled visit."""
    a = svc.record_assessment(session, user, patient_id, body.model_dump(mode="json"), settings)
    return {"id": a.id}


@router.patch("/assessments/{assessment_id}", dependencies=[Csrf])
def change_assessment(assessment_id: Id, body: AssessmentChange, user: Investigator,
                      session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    """Change a stored assessment (a reason is required)."""
    a = svc.change_assessment(session, user, assessment_id, body.changes, body.reason, settings)
    return {"id": a.id}


@router.get("/patients/{patient_id}/lots")
def lots(patient_id: Id, user: Investigator, session: SessionDep) -> list[dict[str, Any]]:
    """Released lots that may be given to the patient."""
    return svc.available_lots(session, user, patient_id)


@router.post("/patients/{patient_id}/administrations", status_code=201, dependencies=[Csrf])
def add_administration(patient_id: Id, body: AdministrationIn, user: Investigator,
                       session: SessionDep) -> dict[str, Any]:
    """Record an administration (lot from the released lots of the product)."""
    a = svc.record_administration(session, user, patient_id, body.model_dump(mode="json"))
    return {"id": a.id}


@router.post("/patients/{patient_id}/adverse-events", status_code=201, dependencies=[Csrf])
def add_adverse_event(patient_id: Id, body: AdverseEventIn, user: Investigator,
                      session: SessionDep) -> dict[str, Any]:
    """Record an adverse event."""
    e = svc.record_adverse_event(session, user, patient_id, body.model_dump(mode="json"))
    return {"id": e.id, "ae_ref": e.ae_ref}


@router.put("/patients/{patient_id}/follow-up", dependencies=[Csrf])
def put_follow_up(patient_id: Id, body: FollowUpIn, user: Investigator,
                  session: SessionDep) -> dict[str, Any]:
    """Record the last known status (changing it needs a reason)."""
    data = body.model_dump(mode="json")
    f = svc.record_follow_up(session, user, patient_id, data, reason=data.pop("reason"))
    return {"id": f.id, "status": f.status}


@router.post("/assessments/{assessment_id}/assignments", status_code=201,
             dependencies=[Csrf])
def assign(assessment_id: Id, body: AssignIn, user: Coordinator, session: SessionDep,
           settings: SettingsDep) -> dict[str, Any]:
    """Assign an assessment to adjudicators: ``review`` (at least the plan's number in all)
    or ``consensus`` (one who reviewed nothing of it, once the verdicts disagree)."""
    rows = adj.assign(session, user, assessment_id, body.reviewers, body.kind,
                      plan=adj.locked_plan_of(session, settings))
    return {"assigned": [r.id for r in rows]}


@router.get("/adjudications")
def my_adjudications(user: Adjudicator, session: SessionDep,
                     settings: SettingsDep) -> list[dict[str, Any]]:
    """The adjudicator's assignments, blinded."""
    return adj.assignments_of(session, user, plan=adj.locked_plan_of(session, settings))


@router.get("/adjudications/{assignment_id}")
def read_adjudication(assignment_id: Id, user: Adjudicator, session: SessionDep,
                      settings: SettingsDep) -> dict[str, Any]:
    """One assignment, blinded (404 unless it is the adjudicator's own)."""
    return adj.blinded_view(session, user, assignment_id,
                            plan=adj.locked_plan_of(session, settings))


@router.post("/adjudications/{assignment_id}/verdict", dependencies=[Csrf])
def verdict(assignment_id: Id, body: VerdictIn, user: Adjudicator, session: SessionDep,
            settings: SettingsDep) -> dict[str, Any]:
    """Record one's independent verdict (coded verdict and reason)."""
    return adj.record_verdict(session, user, assignment_id, body.value, body.value_text,
                              body.reason, plan=adj.locked_plan_of(session, settings),
                              today=settings.today())


@router.post("/adjudications/{assignment_id}/consensus", dependencies=[Csrf])
def consensus(assignment_id: Id, body: VerdictIn, user: Adjudicator, session: SessionDep,
              settings: SettingsDep) -> dict[str, Any]:
    """Record the consensus of a disagreement (its consensus adjudicator only)."""
    return adj.record_consensus(session, user, assignment_id, body.value, body.value_text,
                                body.reason, plan=adj.locked_plan_of(session, settings),
                                today=settings.today())


@router.get("/agreement")
def agreement(user: Analyst, session: SessionDep) -> list[dict[str, Any]]:
    """Cohen's and Fleiss' kappa of the adjudicators per endpoint."""
    return adj.agreement_by_endpoint(session)


@router.get("/dashboard")
def get_dashboard(user: Analyst, session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    """Enrollment, visits, periods, open adjudications and queries."""
    return dashboard(session, settings)


def _pseudo(settings: SettingsDep, values: str | None) -> Any:
    if values is None:
        return None
    d = json.loads(values)
    for k in NAMED_FIELDS:
        if isinstance(d.get(k), str):
            d[k] = pseudonym_of(settings.secret_key, d[k])
    return d


def audit_events(session: Session, user: User, settings: WebSettings, *,
                 table: str | None = None, after: int = 0, limit: int = 200
                 ) -> list[dict[str, Any]]:
    """Audit events after ``after`` (for regulators every person's name is pseudonymized)."""
    q = select(AuditEvent).where(AuditEvent.seq > after)
    if table:
        q = q.where(AuditEvent.table_name == table)
    hide = user.role == "regulator"
    out = []
    for e in session.execute(q.order_by(AuditEvent.seq).limit(limit)).scalars():
        if hide:
            actor = pseudonym_of(settings.secret_key, e.actor)
            old, new = _pseudo(settings, e.old_values), _pseudo(settings, e.new_values)
            key = e.record_key
            if e.table_name in ("users", "adjudications", "adjudication_assignments"):
                key = f"id:{e.record_id}"
        else:
            actor, key = e.actor, e.record_key
            old = json.loads(e.old_values) if e.old_values else None
            new = json.loads(e.new_values) if e.new_values else None
        out.append({"seq": e.seq, "occurred_at": e.occurred_at, "actor": actor,
                    "table": e.table_name, "record_key": key, "action": e.action,
                    "old_values": old, "new_values": new, "reason": e.reason,
                    "hash": e.hash})
    return out


@router.get("/audit")
def audit(user: Auditor, session: SessionDep, settings: SettingsDep,
          table: Annotated[str | None, Query(max_length=64)] = None,
          after: Annotated[int, Query(ge=0, le=2_147_483_647)] = 0,
          limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[dict[str, Any]]:
    """The audit trail (for regulators every person's name is pseudonymized)."""
    return audit_events(session, user, settings, table=table, after=after, limit=limit)


@router.get("/users")
def users(user: Admin, session: SessionDep) -> list[dict[str, Any]]:
    """All users."""
    return list_users(session=session)


@router.post("/users", status_code=201, dependencies=[Csrf])
def create_user(body: UserIn, user: Admin, session: SessionDep) -> dict[str, Any]:
    """Add a user (investigators need a site)."""
    u = add_user(body.username, body.role, session=session, actor=user.username,
                 site_code=body.site_code, password=body.password, full_name=body.full_name)
    return {"id": u.id, "username": u.username, "role": u.role}


@router.post("/tables/{table}", status_code=201, dependencies=[Csrf])
def import_rows(table: str, rows: FiniteRows, user: Admin,
                session: SessionDep, settings: SettingsDep,
                reason: Annotated[str | None, Query()] = None,
                overwrite: Annotated[bool, Query()] = False) -> dict[str, Any]:
    """Import rows of a master-data table (sites, products, indications, lots, ...)."""
    if table not in ("sites", "products", "indications", "quality_attributes", "donors",
                     "lots", "lot_results", "shipments"):
        raise HTTPException(status_code=404, detail="not a master-data table")
    if not rows:
        raise HTTPException(status_code=422, detail="no rows")
    s = import_tables(session, {table: pd.DataFrame(rows)}, actor=user.username,
                      reason=reason, sources={table: "request"}, overwrite=overwrite,
                      today=settings.today())
    return {"inserted": s.inserted.get(table, 0), "updated": s.updated.get(table, 0)}


@router.post("/records/{table}/{record_id}/signature", status_code=201, dependencies=[Csrf])
def sign(table: str, record_id: Id, body: SignatureIn, request: Request, user: Signer,
         session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    """Sign a record (password re-entered, and the one-time code for a second factor;
    meaning authored, reviewed or approved); a signed record is locked."""
    with keep_failure(session):
        s = sig.sign_record(session, user, table, record_id, body.password, body.meaning,
                            otp=body.otp, now=settings.clock(), request=request)
    return {"table": table, "record_id": record_id, **sig.manifestation(s)}


@router.post("/records/{table}/{record_id}/unlock", dependencies=[Csrf])
def unlock(table: str, record_id: Id, body: UnlockIn, user: Investigator,
           session: SessionDep) -> dict[str, Any]:
    """Remove the lock and withdraw the signatures (audited, with a reason)."""
    sig.unlock_record(session, user, table, record_id, body.reason)
    return {"table": table, "record_id": record_id, "locked": False}


@router.get("/queries")
def queries(user: Reader, session: SessionDep, settings: SettingsDep) -> list[dict[str, Any]]:
    """Data queries the user may see (names pseudonymized for regulators)."""
    return rec.list_queries(session, user, secret=settings.secret_key)


@router.post("/queries", status_code=201, dependencies=[Csrf])
def new_query(body: QueryIn, user: Statistician, session: SessionDep) -> dict[str, Any]:
    """Raise a query on a field of a record."""
    q = rec.raise_query(session, user, body.table, body.record_id, body.field, body.question)
    return {"id": q.id, "status": q.status}


@router.post("/queries/{query_id}/answer", dependencies=[Csrf])
def answer(query_id: Id, body: QueryAnswer, user: Investigator,
           session: SessionDep) -> dict[str, Any]:
    """Answer a query on the site's record."""
    q = rec.answer_query(session, user, query_id, body.answer)
    return {"id": q.id, "status": q.status}


@router.post("/queries/{query_id}/close", dependencies=[Csrf])
def close(query_id: Id, user: Statistician, session: SessionDep) -> dict[str, Any]:
    """Close an answered query."""
    q = rec.close_query(session, user, query_id)
    return {"id": q.id, "status": q.status}
