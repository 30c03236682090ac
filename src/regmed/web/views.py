"""Read views of patient records as plain data (what the API returns and the pages show)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from regmed.registry import (
    Administration,
    AdverseEvent,
    Assessment,
    Enrollment,
    FollowUp,
    Indication,
    Lot,
    Patient,
    Site,
    User,
)
from regmed.web import signing as sig
from regmed.web.planview import schedule
from regmed.web.security import pseudonym_of
from regmed.web.services import _iso, _locked
from regmed.web.settings import VisitWindow, WebSettings

__all__ = ["patient_view", "visit_window_status", "record_marks"]


def visit_window_status(
    visits: tuple[VisitWindow, ...], visit: str, index_on: dt.date, assessed_on: dt.date
) -> bool:
    """True when ``assessed_on`` lies in the window of ``visit`` (counted from ``index_on``)."""
    for v in visits:
        if v.name == visit:
            return abs((assessed_on - index_on).days - v.day) <= v.window
    return False


def record_marks(session: Session, table: str, record_id: int, hide: bool, secret: str
                 ) -> dict[str, Any]:
    """The signatures in force of a record, as their manifestation (printed name, time UTC,
    meaning; names pseudonymized when ``hide``), and its source-verification marks."""
    signed = []
    for s in sig.signatures_of(session, table, record_id):
        m = sig.manifestation(s)
        if hide:
            m["printed_name"] = m["signed_by"] = pseudonym_of(secret, s.username)
        signed.append(m)
    return {"locked": _locked(session, table, record_id), "signatures": signed,
            "source_verified": sig.verifications_of(session, table, record_id)}


def patient_view(
    session: Session, user: User, patient: Patient, settings: WebSettings
) -> dict[str, Any]:
    """A patient with enrollment, assessments, adverse events and follow-up, as plain data.

    Assessors' and signers' names are pseudonymized for statisticians and regulators; every
    record carries its signatures (manifestation) and source-verification marks.
    """
    site = session.get(Site, patient.site_id)
    enr = session.execute(
        select(Enrollment, Indication.indication_code)
        .join(Indication, Indication.id == Enrollment.indication_id)
        .where(Enrollment.patient_id == patient.id)
    ).first()
    hide = user.role != "investigator"
    hide_signers = user.role not in ("investigator", "monitor", "admin")
    key = settings.secret_key
    visits = schedule(session, settings)
    assessments = []
    for a in session.execute(
        select(Assessment).where(Assessment.patient_id == patient.id).order_by(Assessment.id)
    ).scalars():
        in_window = (
            visit_window_status(visits, a.visit, enr[0].index_on, a.assessed_on) if enr else False
        )
        assessments.append(
            {
                "id": a.id,
                "endpoint": a.endpoint,
                "visit": a.visit,
                "assessed_on": _iso(a.assessed_on),
                "value": a.value,
                "value_text": a.value_text,
                "assessor": pseudonym_of(settings.secret_key, a.assessor) if hide else a.assessor,
                "assessor_role": a.assessor_role,
                "blinded": a.blinded,
                "in_window": in_window,
                **record_marks(session, "assessments", a.id, hide_signers, key),
            }
        )
    aes = [
        {
            "id": e.id,
            "ae_ref": e.ae_ref,
            "term": e.term,
            "onset_on": _iso(e.onset_on),
            "serious": e.serious,
            "grade": e.grade,
            "related": e.related,
            "outcome": e.outcome,
            **record_marks(session, "adverse_events", e.id, hide_signers, key),
        }
        for e in session.execute(
            select(AdverseEvent).where(AdverseEvent.patient_id == patient.id)
        ).scalars()
    ]
    fu = session.execute(select(FollowUp).where(FollowUp.patient_id == patient.id)).scalar()
    given = [
        {"id": a.id, "lot_code": code, "administered_on": _iso(a.administered_on),
         "dose": a.dose, "dose_unit": a.dose_unit, "route": a.route,
         "oos_request_documented": a.oos_request_documented}
        for a, code in session.execute(
            select(Administration, Lot.lot_code).join(Lot, Lot.id == Administration.lot_id)
            .where(Administration.patient_id == patient.id).order_by(Administration.id))
    ]
    return {
        "id": patient.id,
        "pseudonym": patient.pseudonym,
        "site_code": site.site_code if site else None,
        "sex": patient.sex,
        "birth_year": patient.birth_year,
        "cohort": enr[0].cohort if enr else None,
        "indication_code": enr[1] if enr else None,
        "index_on": _iso(enr[0].index_on) if enr else None,
        "enrolled_on": _iso(enr[0].enrolled_on) if enr else None,
        "assessments": assessments,
        "enrollment_id": enr[0].id if enr else None,
        "enrollment": record_marks(session, "enrollments", enr[0].id, hide_signers, key)
        if enr else None,
        "administrations": given,
        "adverse_events": aes,
        "follow_up": None
        if fu is None
        else {
            "id": fu.id,
            "last_contact_on": _iso(fu.last_contact_on),
            "status": fu.status,
            "death_on": _iso(fu.death_on),
            "death_cause": fu.death_cause,
            **record_marks(session, "follow_ups", fu.id, hide_signers, key),
        },
    }
