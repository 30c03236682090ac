"""A clinical research coordinator's day: finding a patient by the site's own id, the visits
that are due or overdue, a patient's timeline, and the fixed lists the forms offer.

The registry never stores a site's patient id: a typed id is hashed with the pseudonym key
(:func:`regmed.registry.pseudonymize`) and compared with the stored pseudonyms, so the id is
shown only in the answer to the request that typed it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from regmed.errors import DataError, Problem
from regmed.registry import Assessment, Enrollment, FollowUp, Patient, Site, User, pseudonymize
from regmed.registry.identifiers import normalize_identifier
from regmed.web import services as svc
from regmed.web.planview import locked_plan, schedule
from regmed.web.settings import WebSettings

T = TypeVar("T")

__all__ = ["AIS_GRADES", "site_codes", "find_by_ref", "checked_write",
           "due_visits", "timeline", "endpoint_choices",
           "DUE_AHEAD_DAYS"]

#: The ASIA Impairment Scale grades (an ``ais_grade`` assessment's category).
AIS_GRADES = ("A", "B", "C", "D", "E")
#: Visits whose window opens within this many days are listed as coming up.
DUE_AHEAD_DAYS = 14


def site_codes(session: Session, user: User) -> list[str]:
    """The sites whose patients ``user`` may look up (an investigator: their own)."""
    own = svc.user_site_code(session, user)
    if user.role == "investigator":
        return [own] if own else []
    return list(session.execute(select(Site.site_code).order_by(Site.site_code)).scalars())


def find_by_ref(session: Session, user: User, settings: WebSettings, ref: str,
                site: str | None = None) -> list[dict[str, Any]]:
    """The patients of the user's visible sites whose own id is ``ref`` (``site``: only that
    site), as ``{"id", "site_code", "patient_ref"}``; nothing is stored."""
    key = svc._key(session, settings)
    sites = [s for s in site_codes(session, user) if site in (None, s)]
    wanted = {pseudonymize(key, s, ref): s for s in sites}
    if not wanted:
        return []
    q = svc.visible_patients(user).where(Patient.pseudonym.in_(list(wanted)))
    shown = normalize_identifier(ref, "patient_ref")
    return [{"id": p.id, "site_code": wanted[p.pseudonym], "patient_ref": shown}
            for p in session.execute(q).scalars()]


def checked_write(data: Mapping[str, Any], dates: Iterable[str], settings: WebSettings,
                  what: str, write: Callable[[], T], extra: list[Problem] | None = None) -> T:
    """Run ``write`` (the importer's rules) and refuse, with every problem at once, when it
    or the web's own ``extra`` problems find any; the caller rolls back.

    Dates after today, coded categories (AIS grade A–E) and grade-5 outcomes are the
    registry's rules (:mod:`regmed.registry.rules`), the same for a form and an import, so
    they are not checked a second time here; ``dates`` and ``settings`` are kept for the
    callers' signature."""
    problems = list(extra or [])
    try:
        result = write()
    except DataError as exc:
        raise DataError(exc.message, [*problems, *exc.problems]) from exc
    if problems:
        raise DataError(what, problems)
    return result


def due_visits(session: Session, user: User, settings: WebSettings,
               ahead_days: int = DUE_AHEAD_DAYS) -> list[dict[str, Any]]:
    """The scheduled visits without an assessment whose window is open, past, or opens within
    ``ahead_days``, for the patients ``user`` may read (patients who died or were lost to
    follow-up are left out), overdue first.

    Each row: ``patient_id, site_code, visit, due_on, opens_on, closes_on, status`` (``overdue``,
    ``due`` or ``upcoming``) and ``days`` (days past the window's end, or until its start).
    """
    today = settings.today()
    visits = schedule(session, settings)
    rows = session.execute(
        select(Patient.id, Site.site_code, Enrollment.index_on)
        .join(Site, Site.id == Patient.site_id)
        .join(Enrollment, Enrollment.patient_id == Patient.id)
        .where(Patient.id.in_(svc.visible_patients(user).with_only_columns(Patient.id)))
        .order_by(Patient.id)).all()
    ids = [r.id for r in rows]
    done = {(pid, v) for pid, v in session.execute(
        select(Assessment.patient_id, Assessment.visit).where(Assessment.patient_id.in_(ids)))}
    ended = set(session.execute(select(FollowUp.patient_id).where(
        FollowUp.patient_id.in_(ids), FollowUp.status.in_(("dead", "lost")))).scalars())
    out = []
    for r in rows:
        if r.id in ended:
            continue
        for v in visits:
            if (r.id, v.name) in done:
                continue
            due = r.index_on + dt.timedelta(days=v.day)
            opens, closes = due - dt.timedelta(days=v.window), due + dt.timedelta(days=v.window)
            if today > closes:
                status, days = "overdue", (today - closes).days
            elif today >= opens:
                status, days = "due", (closes - today).days
            elif (opens - today).days <= ahead_days:
                status, days = "upcoming", (opens - today).days
            else:
                continue
            out.append({"patient_id": r.id, "site_code": r.site_code, "visit": v.name,
                        "due_on": due.isoformat(), "opens_on": opens.isoformat(),
                        "closes_on": closes.isoformat(), "status": status, "days": days})
    order = {"overdue": 0, "due": 1, "upcoming": 2}
    return sorted(out, key=lambda d: (order[d["status"]], d["due_on"], d["patient_id"]))


def timeline(view: dict[str, Any], queries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A patient's records in date order (enrollment, administrations, assessments, adverse
    events, follow-up), each with the data queries raised on it."""
    by_record: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for q in queries:
        by_record.setdefault((q["table_name"], q["record_id"]), []).append(q)
    items: list[dict[str, Any]] = []
    if view.get("enrolled_on"):
        items.append({"on": view["enrolled_on"], "kind": "enrollment", "text": view["cohort"],
                      "queries": by_record.get(("enrollments", view["enrollment_id"]), [])})
    for a in view["administrations"]:
        items.append({"on": a["administered_on"], "kind": "administration",
                      "text": f"{a['lot_code']} · {a['dose']} {a['dose_unit']} · {a['route']}",
                      "queries": []})
    for a in view["assessments"]:
        value = a["value"] if a["value"] is not None else a["value_text"]
        items.append({"on": a["assessed_on"], "kind": "assessment",
                      "text": f"{a['visit']} · {a['endpoint']} = {value}",
                      "queries": by_record.get(("assessments", a["id"]), [])})
    for e in view["adverse_events"]:
        items.append({"on": e["onset_on"], "kind": "adverse_event",
                      "text": f"{e['term']}" + (f" · grade {e['grade']}" if e["grade"] else ""),
                      "queries": by_record.get(("adverse_events", e["id"]), [])})
    fu = view.get("follow_up")
    if fu:
        items.append({"on": fu["last_contact_on"], "kind": "follow_up", "text": fu["status"],
                      "queries": by_record.get(("follow_ups", fu["id"]), [])})
    return sorted(items, key=lambda i: (i["on"] or "", i["kind"]))


def endpoint_choices(session: Session, settings: WebSettings) -> list[str]:
    """The endpoints an assessment may name: the locked plan's measured variables, else those
    recorded so far, else ``ais_grade``."""
    locked = locked_plan(session, settings)
    names: list[str] = []
    if locked is not None:
        for e in locked.plan.endpoints:
            if e.measurement is not None and str(e.measurement.variable) not in names:
                names.append(str(e.measurement.variable))
    if not names:
        names = sorted(set(session.execute(select(Assessment.endpoint)).scalars()))
    return names or ["ais_grade"]
