"""What the web application reads from the locked evaluation plan.

The visit schedule (the endpoints' baseline and outcome visits with their windows), the
enrollment targets (the sample size per cohort), the planned collection periods of the treated
group and of each control source, and the power that the enrolled numbers give under the
plan's own assumptions. Without a locked plan the app falls back to ``WebSettings.visits``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from regmed.app.plan_power import enrolled_power
from regmed.registry import PlanVersion
from regmed.registry.plans import plan_of
from regmed.web.settings import VisitWindow, WebSettings

if TYPE_CHECKING:
    from regmed.plan import Plan

__all__ = ["LockedPlan", "locked_plan", "schedule", "plan_targets", "planned_periods"]

#: Cohort of each kind of control source.
CONTROL_COHORT = {"concurrent": "concurrent_control", "external": "external_control",
                  "historical": "historical_control"}


@dataclass(frozen=True)
class LockedPlan:
    """A locked plan version: its name, version, hash and the validated plan."""

    name: str
    version: int
    sha256: str
    plan: Plan


def locked_plan(session: Session, settings: WebSettings) -> LockedPlan | None:
    """The plan named by ``settings.plan_name`` (latest version), else the plan locked last."""
    q = select(PlanVersion)
    if settings.plan_name:
        q = q.where(PlanVersion.name == settings.plan_name)
    record = session.execute(q.order_by(PlanVersion.id.desc()).limit(1)).scalar()
    if record is None:
        return None
    return LockedPlan(record.name, int(record.version), record.sha256, plan_of(record))


def plan_visits(plan: Plan) -> tuple[VisitWindow, ...]:
    """The distinct visits of the plan's endpoints (baseline and outcome), by day."""
    found: dict[str, VisitWindow] = {}
    for e in plan.endpoints:
        m = e.measurement
        for v in (m.baseline_visit, m.outcome_visit) if m is not None else ():
            if v is not None:
                found.setdefault(v.name, VisitWindow(v.name, v.day, v.window))
    return tuple(sorted(found.values(), key=lambda v: (v.day, v.name)))


def schedule(session: Session, settings: WebSettings) -> tuple[VisitWindow, ...]:
    """The visit schedule in force: the locked plan's visits, else ``settings.visits``."""
    locked = locked_plan(session, settings)
    visits = plan_visits(locked.plan) if locked is not None else ()
    return visits or settings.visits


def plan_targets(locked: LockedPlan, enrolled: dict[str, int]) -> dict[str, Any]:
    """Enrollment against the planned sample size, and the power the enrolled numbers give.

    The achieved power is :func:`regmed.app.plan_power.enrolled_power` (the plan's own
    assumptions with the enrolled treated patients and controls of the primary control
    source; fixed design, as ``rpact::getPowerRates``/``getPowerMeans``).

    References
    ----------
    .. [1] Wassmer G, Brannath W (2016). Group Sequential and Confirmatory Adaptive Designs in
       Clinical Trials. Springer.
    """
    plan = locked.plan
    ss = plan.sample_size
    primary = CONTROL_COHORT[plan.controls[0].kind] if plan.controls else None
    planned: list[tuple[str, int]] = []
    if ss is not None:
        planned.append(("treated", int(ss.n_treated)))
        if primary is not None and ss.n_control:
            planned.append((primary, int(ss.n_control)))
    targets = [{"cohort": c, "target": n, "enrolled": enrolled.get(c, 0),
                "percent": round(100.0 * enrolled.get(c, 0) / n, 1)} for c, n in planned]
    power = enrolled_power(plan, enrolled)
    return {"plan": {"name": locked.name, "version": locked.version, "sha256": locked.sha256},
            "targets": targets, "sites_planned": plan.sites.count if plan.sites else None,
            "power": power}


def planned_periods(plan: Plan) -> dict[str, tuple[dt.date, dt.date]]:
    """Planned collection period (start, end) per cohort: treated and each control source."""
    out: dict[str, tuple[dt.date, dt.date]] = {}
    if plan.treated_period is not None:
        out["treated"] = (plan.treated_period.start, plan.treated_period.end)
    for c in plan.controls:
        if c.period is not None:
            out.setdefault(CONTROL_COHORT[c.kind], (c.period.start, c.period.end))
    return out
