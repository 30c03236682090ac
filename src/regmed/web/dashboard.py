"""The statistician's dashboard: enrollment against targets, visits due and overdue,
collection periods by cohort, open adjudications and data queries."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from regmed.registry import Assessment, Enrollment, Patient, Site
from regmed.registry.web_models import DataQuery
from regmed.web.adjudication import open_adjudications
from regmed.web.settings import WebSettings

__all__ = ["dashboard"]


def dashboard(session: Session, settings: WebSettings) -> dict[str, Any]:
    """All dashboard figures as plain data (today from ``settings.clock``)."""
    today = dt.datetime.fromtimestamp(settings.clock(), dt.UTC).date()
    rows = session.execute(
        select(Site.site_code, Enrollment.cohort, Enrollment.index_on, Enrollment.enrolled_on,
               Patient.id)
        .join(Patient, Patient.site_id == Site.id)
        .join(Enrollment, Enrollment.patient_id == Patient.id)
    ).all()
    counts: dict[tuple[str, str], int] = defaultdict(int)
    periods: dict[str, list[dt.date]] = defaultdict(list)
    for site, cohort, _index, enrolled, _pid in rows:
        counts[(site, cohort)] += 1
        periods[cohort].append(enrolled)
    keys = sorted(set(counts) | set(settings.enrollment_targets))
    enrollment = [
        {
            "site_code": s, "cohort": c, "enrolled": counts.get((s, c), 0),
            "target": settings.enrollment_targets.get((s, c)),
        }
        for s, c in keys
    ]
    done: set[tuple[int, str]] = {
        (pid, visit) for pid, visit in session.execute(
            select(Assessment.patient_id, Assessment.visit).distinct()
        )
    }
    due, overdue = [], []
    for site, _cohort, index_on, _enrolled, pid in rows:
        for v in settings.visits:
            if (pid, v.name) in done:
                continue
            opens = index_on + dt.timedelta(days=v.day - v.window)
            closes = index_on + dt.timedelta(days=v.day + v.window)
            item = {"patient_id": pid, "site_code": site, "visit": v.name,
                    "window_closes": closes.isoformat()}
            if today > closes:
                overdue.append(item)
            elif today >= opens:
                due.append(item)
    period = [
        {"cohort": c, "n": len(d), "first_enrolled": min(d).isoformat(),
         "last_enrolled": max(d).isoformat()}
        for c, d in sorted(periods.items())
    ]
    n_queries = session.execute(
        select(func.count()).select_from(DataQuery).where(DataQuery.status == "open")
    ).scalar_one()
    return {
        "today": today.isoformat(),
        "enrollment": enrollment,
        "total_enrolled": len(rows),
        "visits_due": due,
        "visits_overdue": overdue,
        "periods": period,
        "adjudications": open_adjudications(session),
        "open_queries": int(n_queries),
    }
