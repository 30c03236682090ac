"""The statistician's dashboard: enrollment against the locked plan's targets and the power it
gives, visits due and overdue per the plan's visit windows, the collection period of each
cohort against the planned periods, open adjudications and data queries."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from regmed.registry import Assessment, Enrollment, Patient, Site
from regmed.registry.web_models import DataQuery
from regmed.web.adjudication import open_adjudications
from regmed.web.planview import locked_plan, plan_targets, plan_visits, planned_periods
from regmed.web.settings import VisitWindow, WebSettings

__all__ = ["dashboard"]

Row = tuple[str, str, str, dt.date, dt.date, int]


def _visits(session: Session, rows: list[Row], visits: tuple[VisitWindow, ...],
            today: dt.date) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Visits of prospective patients whose window is open (due) or closed (overdue) without
    an assessment."""
    done: set[tuple[int, str]] = {
        (pid, visit) for pid, visit in session.execute(
            select(Assessment.patient_id, Assessment.visit).distinct()
        )
    }
    due, overdue = [], []
    for site, _cohort, direction, index_on, _enrolled, pid in rows:
        if direction != "prospective":
            continue  # retrospective records are collected, not scheduled
        for v in visits:
            if (pid, v.name) in done:
                continue
            opens = index_on + dt.timedelta(days=v.day - v.window)
            closes = index_on + dt.timedelta(days=v.day + v.window)
            item = {"patient_id": pid, "site_code": site, "visit": v.name,
                    "window_opens": opens.isoformat(), "window_closes": closes.isoformat()}
            if today > closes:
                overdue.append({**item, "days_overdue": (today - closes).days})
            elif today >= opens:
                due.append(item)
    return due, overdue


def _periods(rows: list[Row], planned: dict[str, tuple[dt.date, dt.date]]
             ) -> list[dict[str, Any]]:
    """Observed index and enrollment dates per cohort against the planned period."""
    by: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        by[r[1]].append(r)
    out = []
    for cohort in sorted(set(by) | set(planned)):
        rs = by.get(cohort, [])
        start, end = planned.get(cohort, (None, None))
        index = [r[3] for r in rs]
        outside = sum(1 for d in index if start is not None and end is not None
                      and not start <= d <= end)
        out.append({
            "cohort": cohort, "n": len(rs),
            "first_enrolled": min(r[4] for r in rs).isoformat() if rs else None,
            "last_enrolled": max(r[4] for r in rs).isoformat() if rs else None,
            "first_index": min(index).isoformat() if index else None,
            "last_index": max(index).isoformat() if index else None,
            "planned_start": start.isoformat() if start else None,
            "planned_end": end.isoformat() if end else None,
            "outside_planned_period": outside,
        })
    return out


def dashboard(session: Session, settings: WebSettings) -> dict[str, Any]:
    """All dashboard figures as plain data (today from ``settings.clock``)."""
    today = dt.datetime.fromtimestamp(settings.clock(), dt.UTC).date()
    rows: list[Row] = [tuple(r) for r in session.execute(  # type: ignore[misc]
        select(Site.site_code, Enrollment.cohort, Enrollment.direction, Enrollment.index_on,
               Enrollment.enrolled_on, Patient.id)
        .join(Patient, Patient.site_id == Site.id)
        .join(Enrollment, Enrollment.patient_id == Patient.id)
    ).all()]
    counts: dict[tuple[str, str], int] = defaultdict(int)
    by_cohort: dict[str, int] = defaultdict(int)
    for site, cohort, *_ in rows:
        counts[(site, cohort)] += 1
        by_cohort[cohort] += 1
    keys = sorted(set(counts) | set(settings.enrollment_targets))
    enrollment = [
        {"site_code": s, "cohort": c, "enrolled": counts.get((s, c), 0),
         "target": settings.enrollment_targets.get((s, c))}
        for s, c in keys
    ]
    locked = locked_plan(session, settings)
    visits = (plan_visits(locked.plan) if locked else ()) or settings.visits
    due, overdue = _visits(session, rows, visits, today)
    n_queries = session.execute(
        select(func.count()).select_from(DataQuery).where(DataQuery.status == "open")
    ).scalar_one()
    return {
        "today": today.isoformat(),
        "plan": plan_targets(locked, dict(by_cohort)) if locked else None,
        "enrollment": enrollment,
        "total_enrolled": len(rows),
        "visit_schedule": [{"name": v.name, "day": v.day, "window": v.window} for v in visits],
        "visits_due": due,
        "visits_overdue": overdue,
        "periods": _periods(rows, planned_periods(locked.plan) if locked else {}),
        "adjudications": open_adjudications(session, plan=locked.plan if locked else None),
        "open_queries": int(n_queries),
    }
