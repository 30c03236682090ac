"""Access rules and validated, audited writes of the web application.

Every read goes through :func:`visible_patients` / :func:`get_patient` so that an investigator
only ever reaches their own site's patients (another site's id is *not found*, so ids leak
nothing). Every write builds a row of the import column dictionary and calls
:func:`regmed.registry.save_row` (one record) or :func:`regmed.registry.import_tables`
(enrollment: the patient and the enrollment together), so the web forms apply the importer's
rules and write the same audit events; a change of a stored record needs a reason.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

import pandas as pd
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from regmed.errors import AccessDenied, DataError, Problem, RegmedError
from regmed.registry import (
    Administration,
    AdverseEvent,
    Assessment,
    FollowUp,
    Patient,
    SavedRow,
    Site,
    User,
    custody,
    import_tables,
    load_key,
    pseudonymize,
    save_row,
)
from regmed.registry.locks import locked_records
from regmed.web.planview import schedule
from regmed.web.settings import WebSettings

__all__ = [
    "NotFound",
    "READ_ROLES",
    "visible_patients",
    "get_patient",
    "get_assessment",
    "ASSESSMENT_FIELDS",
    "enroll_patient",
    "record_assessment",
    "change_assessment",
    "record_adverse_event",
    "record_follow_up",
    "available_lots",
    "record_administration",
    "user_site_code",
]

#: Roles that may read patient records (adjudicators see only blinded assignments; monitors
#: read every site's records to verify them against the source).
READ_ROLES = ("investigator", "statistician", "regulator", "monitor")


class NotFound(RegmedError):
    """The record does not exist, or the user may not know that it does."""


def user_site_code(session: Session, user: User) -> str | None:
    """The site code an investigator is bound to (None for other roles)."""
    if user.site_id is None:
        return None
    site = session.get(Site, user.site_id)
    return site.site_code if site else None


def visible_patients(user: User) -> Select[tuple[Patient]]:
    """The patients ``user`` may read: an investigator's own site, all for reading roles."""
    if user.role not in READ_ROLES:
        raise AccessDenied(f"a {user.role} cannot read patient records")
    q = select(Patient).order_by(Patient.id)
    if user.role == "investigator":
        q = q.where(Patient.site_id == user.site_id)
    return q


def get_patient(session: Session, user: User, patient_id: int) -> Patient:
    """The patient ``patient_id`` if ``user`` may read it, else :class:`NotFound`."""
    patient = session.execute(
        visible_patients(user).where(Patient.id == patient_id)
    ).scalar_one_or_none()
    if patient is None:
        raise NotFound(f"patient {patient_id} not found")
    return patient


def _iso(d: dt.date | None) -> str | None:
    return d.isoformat() if d else None


def get_assessment(session: Session, user: User, assessment_id: int) -> Assessment:
    """The assessment ``assessment_id`` if ``user`` may read its patient, else NotFound."""
    a = session.get(Assessment, assessment_id)
    if a is None:
        raise NotFound(f"assessment {assessment_id} not found")
    get_patient(session, user, a.patient_id)
    return a


def _locked(session: Session, table: str, record_id: int) -> bool:
    return bool(locked_records(session, table, [record_id]))


def _need_investigator(session: Session, user: User) -> str:
    site = user_site_code(session, user)
    if user.role != "investigator" or site is None:
        raise AccessDenied("only a site's investigator enters its patients' data")
    return site


def _import(
    session: Session,
    table: str,
    row: Mapping[str, Any],
    *,
    actor: str,
    reason: str | None = None,
    key: bytes | None = None,
    extra: Mapping[str, Mapping[str, Any]] | None = None,
    today: dt.date,
) -> None:
    tables = {table: pd.DataFrame([dict(row)])}
    for name, r in (extra or {}).items():
        tables[name] = pd.DataFrame([dict(r)])
    sources = {name: "form" for name in tables}
    import_tables(session, tables, actor=actor, reason=reason, sources=sources, key=key,
                  sync=False, today=today)  # a form's dates are not after the app's today


def _key(session: Session, settings: WebSettings) -> bytes:
    if settings.pseudonym_key is not None:
        return settings.pseudonym_key
    return load_key(str(session.get_bind().engine.url))


def enroll_patient(
    session: Session, user: User, data: Mapping[str, Any], settings: WebSettings
) -> Patient:
    """Enter a new patient of the investigator's site with their enrollment.

    ``data`` holds ``patient_ref, sex, birth_year, indication_code, cohort, direction,
    source, index_on, enrolled_on``. The site's own ``patient_ref`` is stored only as its
    keyed pseudonym. Raises :class:`DataError` with every problem (importer's rules).
    """
    site = _need_investigator(session, user)
    ref = str(data.get("patient_ref") or "").strip()
    if not ref:
        raise DataError("cannot enroll", [Problem("required", field="patient_ref")])
    key = _key(session, settings)
    pseudonym = pseudonymize(key, site, ref)
    if session.execute(select(Patient.id).where(Patient.pseudonym == pseudonym)).first():
        raise DataError(
            "cannot enroll", [Problem("this patient is enrolled already", field="patient_ref")]
        )
    patient: dict[str, Any] = {"site_code": site, "patient_ref": ref}
    patient.update({k: data.get(k) for k in ("sex", "birth_year")})
    enrollment: dict[str, Any] = {"site_code": site, "patient_ref": ref}
    for k in ("indication_code", "cohort", "direction", "source", "index_on", "enrolled_on"):
        enrollment[k] = data.get(k)
    _import(
        session, "patients", patient, actor=user.username, key=key,
        extra={"enrollments": enrollment}, today=settings.today(),
    )
    return session.execute(select(Patient).where(Patient.pseudonym == pseudonym)).scalar_one()


_OWN_PATIENT = (
    select(Patient.id, Patient.pseudonym, Site.site_code)
    .join(Site, Site.id == Patient.site_id)
    .where(Patient.id == bindparam("pid"), Patient.site_id == bindparam("site_id"))
)


def _patient_row(session: Session, user: User, patient_id: int) -> tuple[Any, str]:
    """``(id, pseudonym)`` of the investigator's own patient and the site code (one query;
    another site's patient is not found)."""
    if user.role != "investigator" or user.site_id is None:
        raise AccessDenied("only a site's investigator enters its patients' data")
    row = session.connection().execute(
        _OWN_PATIENT, {"pid": patient_id, "site_id": user.site_id}).first()
    if row is None:
        raise NotFound(f"patient {patient_id} not found")
    return row, str(row.site_code)


def _visit_problems(session: Session, settings: WebSettings, visit: str) -> list[Problem]:
    names = [v.name for v in schedule(session, settings)]
    if visit not in names:
        return [Problem(f"not a scheduled visit (one of {', '.join(names)})", field="visit")]
    return []


ASSESSMENT_FIELDS = (
    "endpoint", "visit", "assessed_on", "value", "value_text", "assessor", "assessor_role",
    "blinded",
)


def record_assessment(
    session: Session, user: User, patient_id: int, data: Mapping[str, Any],
    settings: WebSettings,
) -> SavedRow:
    """Record an endpoint assessment of a visit of the investigator's own patient (its id is
    ``.id``; nothing is read back, so the audit chain's lock is released sooner)."""
    patient, site = _patient_row(session, user, patient_id)
    problems = _visit_problems(session, settings, str(data.get("visit") or ""))
    if problems:
        raise DataError("assessment refused", problems)
    ref = f"A-{uuid.uuid4().hex[:16]}"
    row: dict[str, Any] = {
        "assessment_ref": ref, "site_code": site, "patient_pseudonym": patient.pseudonym
    }
    row.update({k: data.get(k) for k in ASSESSMENT_FIELDS})
    return save_row(session, "assessments", row, actor=user.username)


def change_assessment(
    session: Session, user: User, assessment_id: int, changes: Mapping[str, Any],
    reason: str | None, settings: WebSettings,
) -> Assessment:
    """Change fields of a stored assessment (needs a reason; refused while it is locked)."""
    a = get_assessment(session, user, assessment_id)
    patient, site = _patient_row(session, user, a.patient_id)
    if _locked(session, "assessments", a.id):
        raise DataError("the assessment is signed and locked; it changes only after an "
                        "audited unlock")
    bad = [k for k in changes if k not in ASSESSMENT_FIELDS]
    if bad:
        raise DataError("cannot change", [Problem("not a changeable field", field=k) for k in bad])
    if "visit" in changes:
        problems = _visit_problems(session, settings, str(changes["visit"]))
        if problems:
            raise DataError("change refused", problems)
    row: dict[str, Any] = {
        "assessment_ref": a.assessment_ref, "site_code": site,
        "patient_pseudonym": patient.pseudonym,
    }
    row.update({k: getattr(a, k) for k in ASSESSMENT_FIELDS})
    row.update(changes)
    save_row(session, "assessments", row, actor=user.username, reason=reason)
    session.refresh(a)
    return a


def record_adverse_event(
    session: Session, user: User, patient_id: int, data: Mapping[str, Any]
) -> AdverseEvent:
    """Record an adverse event of the investigator's own patient."""
    patient, site = _patient_row(session, user, patient_id)
    ref = str(data.get("ae_ref") or "").strip() or f"AE-{uuid.uuid4().hex[:8]}"
    exists = session.execute(
        select(AdverseEvent.id).where(
            AdverseEvent.patient_id == patient.id, AdverseEvent.ae_ref == ref
        )
    ).first()
    if exists:
        raise DataError("adverse event refused", [Problem("exists already", field="ae_ref")])
    row: dict[str, Any] = {"site_code": site, "patient_pseudonym": patient.pseudonym, "ae_ref": ref}
    for k in ("term", "onset_on", "serious", "grade", "related", "outcome"):
        row[k] = data.get(k)
    saved = save_row(session, "adverse_events", row, actor=user.username)
    return session.get_one(AdverseEvent, saved.id)


def record_follow_up(
    session: Session, user: User, patient_id: int, data: Mapping[str, Any],
    reason: str | None = None,
) -> FollowUp:
    """Record (or, with a reason, update) the last known status of the investigator's patient."""
    patient, site = _patient_row(session, user, patient_id)
    fu = session.execute(select(FollowUp).where(FollowUp.patient_id == patient.id)).scalar()
    if fu is not None and _locked(session, "follow_ups", fu.id):
        raise DataError("the follow-up is signed and locked; it changes only after an "
                        "audited unlock")
    row: dict[str, Any] = {"site_code": site, "patient_pseudonym": patient.pseudonym}
    for k in ("last_contact_on", "status", "death_on", "death_cause"):
        row[k] = data.get(k)
    saved = save_row(session, "follow_ups", row, actor=user.username, reason=reason)
    if fu is not None:
        session.refresh(fu)
    return session.get_one(FollowUp, saved.id)


def available_lots(session: Session, user: User, patient_id: int) -> list[dict[str, Any]]:
    """Lots that may be given to the patient (:func:`regmed.registry.custody.offered_lots`):
    shipped to and received at the patient's site, released, of the product of the patient's
    indication and, for an autologous product, from the patient's own donor. ``released_oos``
    lots are listed with ``needs_oos_request``; lots of other sites are never listed."""
    patient = get_patient(session, user, patient_id)
    return [{"lot_code": lot.lot_code, "released_on": _iso(lot.released_on),
             "needs_oos_request": lot.status == "released_oos"}
            for lot in custody.offered_lots(session, patient.id)]


def record_administration(
    session: Session, user: User, patient_id: int, data: Mapping[str, Any]
) -> Administration:
    """Record the administration of a lot to the investigator's patient.

    The lot must have been shipped to the patient's site (any other code, of another site's lot
    or of none, gets the same answer); the rest is the chain of identity and custody
    (:mod:`regmed.registry.custody`) and the importer's rules, applied by
    :func:`regmed.registry.save_row`.
    """
    patient, site = _patient_row(session, user, patient_id)
    code = str(data.get("lot_code") or "")
    assert user.site_id is not None  # _patient_row: the investigator's own site
    if code not in custody.site_lot_codes(session, user.site_id):
        raise DataError("administration refused", [
            Problem("not a lot shipped to this site", field="lot_code")])
    row: dict[str, Any] = {"site_code": site, "patient_pseudonym": patient.pseudonym}
    for k in ("lot_code", "administered_on", "dose", "dose_unit", "route", "surgery",
              "oos_request_documented"):
        row[k] = data.get(k)
    saved = save_row(session, "administrations", row, actor=user.username)
    return session.get_one(Administration, saved.id)
