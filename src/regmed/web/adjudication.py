"""Independent, blinded central adjudication as the locked plan declares it.

A coordinator (admin or statistician) assigns each event (an assessment) to at least the
plan's ``adjudication.reviewers`` adjudicators (default 2). Each sees only the blinded view —
endpoint, visit, the coded verdicts and reasons; never the site's reported value, cohort,
product, lot, site, patient or treating physician — and records a verdict with a coded reason,
without seeing the others' verdicts until their own is in. When the verdicts disagree, the
coordinator assigns the consensus to one adjudicator who reviewed nothing of that event: a
third adjudicator, or the plan's ``chair`` when the plan says so. That adjudicator sees the
independent verdicts (not who gave them) and records the consensus with a coded reason; no
reviewer can settle their own disagreement. A change of the assessment afterwards reopens the
adjudication: its verdicts are set aside (:mod:`regmed.registry.adjudicated`) and the same
adjudicators review again. Every write is audited.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from regmed.errors import AccessDenied, DataError, Problem
from regmed.registry import Adjudication, Assessment, User, add_record, update_record
from regmed.registry.adjudicated import (
    CONSENSUS_REASONS,
    REVIEW_REASONS,
    Settlement,
    plan_consensus,
    plan_reviewers,
    settle,
    stale_adjudications,
    verdict_choices,
    verdict_text,
)
from regmed.registry.audit import AuditWriter, audit_values, canonical_json, utc_now
from regmed.registry.services import record_key
from regmed.registry.web_models import AdjudicationAssignment
from regmed.web.agreement import cohen_kappa, fleiss_kappa
from regmed.web.planview import locked_plan
from regmed.web.services import NotFound
from regmed.web.settings import WebSettings

__all__ = [
    "assign",
    "assignments_of",
    "blinded_view",
    "record_verdict",
    "record_consensus",
    "agreement_by_endpoint",
    "open_adjudications",
    "locked_plan_of",
]

KINDS = ("review", "consensus")


def locked_plan_of(session: Session, settings: WebSettings) -> Any:
    """The locked plan the adjudication follows (None: the defaults, two reviewers)."""
    locked = locked_plan(session, settings)
    return locked.plan if locked is not None else None


def _refused(message: str, field: str) -> DataError:
    return DataError("adjudication refused", [Problem(message, field=field)])


def _assignments(session: Session, assessment_id: int) -> list[tuple[AdjudicationAssignment,
                                                                      str]]:
    return [(a, u) for a, u in session.execute(
        select(AdjudicationAssignment, User.username)
        .join(User, User.id == AdjudicationAssignment.user_id)
        .where(AdjudicationAssignment.assessment_id == assessment_id)
        .order_by(AdjudicationAssignment.id)).all()]


def _rows(session: Session, assessment_id: int) -> list[Adjudication]:
    return list(session.execute(
        select(Adjudication).where(Adjudication.assessment_id == assessment_id)
        .order_by(Adjudication.id)).scalars())


class _Event:
    """One assessment's assignments, verdicts (current or set aside) and settlement."""

    def __init__(self, session: Session, assessment_id: int, plan: Any,
                 stale: set[int] | None = None) -> None:
        self.assignments = _assignments(session, assessment_id)
        self.rows = _rows(session, assessment_id)
        self.stale = stale_adjudications(session, [assessment_id]) if stale is None else stale
        reviewers = [u for a, u in self.assignments if a.kind == "review"]
        self.reviewers = reviewers
        self.settlement: Settlement = settle(
            [{"value": r.value, "value_text": r.value_text, "consensus": bool(r.consensus),
              "stale": r.id in self.stale} for r in self.rows],
            max(plan_reviewers(plan), len(reviewers)))

    def row_of(self, username: str) -> Adjudication | None:
        return next((r for r in self.rows if r.reviewer == username), None)

    def current(self, username: str) -> Adjudication | None:
        row = self.row_of(username)
        return row if row is not None and row.id not in self.stale else None

    def independent(self) -> list[Adjudication]:
        return [r for r in self.rows if not r.consensus and r.id not in self.stale]


def assign(session: Session, actor: User, assessment_id: int, usernames: list[str],
           kind: str = "review", *, plan: Any = None) -> list[AdjudicationAssignment]:
    """Assign an event to adjudicators (audited).

    ``review``: at least the plan's number of independent reviewers in all. ``consensus``:
    one adjudicator who reviewed nothing of the event (the plan's chair if the plan says so),
    once its verdicts disagree.
    """
    if actor.role not in ("admin", "statistician"):
        raise AccessDenied("only an admin or a statistician assigns adjudications")
    assessment = session.get(Assessment, assessment_id)
    if assessment is None:
        raise NotFound(f"assessment {assessment_id} not found")
    if kind not in KINDS:
        raise _refused(f"not one of {', '.join(KINDS)}", "kind")
    event = _Event(session, assessment_id, plan)
    taken = {u for _, u in event.assignments}
    problems, users = [], []
    for name in dict.fromkeys(usernames):
        u = session.execute(select(User).where(User.username == name)).scalar()
        if u is None or u.role != "adjudicator" or not u.active:
            problems.append(Problem(f"{name!r} is not an active adjudicator", field="reviewers"))
        elif name in taken:
            problems.append(Problem(f"{name!r} is assigned to this event already",
                                    field="reviewers"))
        else:
            users.append(u)
    if kind == "review":
        needed = plan_reviewers(plan)
        if len(event.reviewers) + len(users) < needed:
            problems.append(Problem(f"at least {needed} independent adjudicators are needed "
                                    "(the plan's adjudication.reviewers)", field="reviewers"))
    else:
        mode, chair = plan_consensus(plan)
        if event.settlement.state != "needs_consensus":
            problems.append(Problem("no consensus is needed (verdicts missing, agreeing or "
                                    "settled)", field="kind"))
        if any(a.kind == "consensus" for a, _ in event.assignments):
            problems.append(Problem("the event has its consensus adjudicator already",
                                    field="kind"))
        if len(usernames) != 1:
            problems.append(Problem("one adjudicator records the consensus", field="reviewers"))
        elif mode == "chair" and usernames[0] != chair:
            problems.append(Problem(f"the plan has the chair ({chair!r}) settle disagreements",
                                    field="reviewers"))
    if problems:
        raise DataError("assignment refused", problems)
    writer = AuditWriter(session, actor.username)
    out = []
    for u in users:
        row = AdjudicationAssignment(assessment_id=assessment_id, user_id=u.id, kind=kind,
                                     assigned_by=actor.username, assigned_at=utc_now())
        session.add(row)
        session.flush()
        values = {"assessment_id": assessment_id, "user_id": u.id, "kind": kind,
                  "assigned_by": actor.username}
        writer.add("adjudication_assignments", row.id,
                   f"{assessment.assessment_ref}:{u.username}", "insert", None,
                   canonical_json(values), None)
        out.append(row)
    writer.flush()
    return out


def _own(session: Session, user: User, assignment_id: int) -> AdjudicationAssignment:
    row = session.get(AdjudicationAssignment, assignment_id)
    if row is None or user.role != "adjudicator" or row.user_id != user.id:
        raise NotFound(f"assignment {assignment_id} not found")
    return row


def _view(session: Session, user: User, row: AdjudicationAssignment, plan: Any,
          event: _Event | None = None) -> dict[str, Any]:
    a = session.get(Assessment, row.assessment_id)
    assert a is not None
    event = event or _Event(session, a.id, plan)
    s = event.settlement
    mine = event.current(user.username)
    choices = verdict_choices(plan, a.endpoint)
    reviewed = mine is not None and s.state != "pending"
    settling = row.kind == "consensus"
    final = None
    if s.final is not None and (reviewed or settling):
        r = event.rows[s.final]
        final = verdict_text(r.value, r.value_text)
    consensus = next((r for r in event.rows if r.consensus and r.id not in event.stale), None)
    return {
        "assignment_id": row.id,
        "kind": row.kind,
        "endpoint": a.endpoint,
        "visit": a.visit,
        "verdict_kind": "category" if choices or a.value is None else "number",
        "verdict_choices": list(choices) if choices else None,
        "reasons": sorted(CONSENSUS_REASONS if settling else REVIEW_REASONS),
        "state": s.state,
        "reopened": s.reopened,
        "my_verdict": verdict_text(mine.value, mine.value_text) if mine else None,
        "my_reason": mine.reason if mine else None,
        "reviews_done": s.reviews_done,
        "reviews_needed": s.reviews_needed,
        "needs_consensus": s.state == "needs_consensus",
        "consensus": verdict_text(consensus.value, consensus.value_text)
        if consensus is not None and (reviewed or settling) else None,
        "final": final,
        # others' verdicts: to a reviewer once all are in, to the consensus adjudicator
        "other_verdicts": sorted(str(verdict_text(r.value, r.value_text))
                                 for r in event.independent() if r.reviewer != user.username)
        if reviewed or (settling and s.state != "pending") else [],
    }


def blinded_view(session: Session, user: User, assignment_id: int, *, plan: Any = None
                 ) -> dict[str, Any]:
    """What an adjudicator sees of an assignment (never the site's value, cohort, product,
    lot, site, patient, assessor or reference)."""
    return _view(session, user, _own(session, user, assignment_id), plan)


def assignments_of(session: Session, user: User, *, plan: Any = None) -> list[dict[str, Any]]:
    """The blinded views of all assignments of an adjudicator."""
    if user.role != "adjudicator":
        raise AccessDenied("only adjudicators have assignments")
    rows = session.execute(
        select(AdjudicationAssignment).where(AdjudicationAssignment.user_id == user.id)
        .order_by(AdjudicationAssignment.id)).scalars().all()
    return [_view(session, user, r, plan) for r in rows]


def _checked(plan: Any, a: Assessment, value: float | None, value_text: str | None,
             reason: str | None, reasons: dict[str, str]) -> tuple[float | None, str | None]:
    problems = []
    text = (value_text or "").strip() or None
    choices = verdict_choices(plan, a.endpoint)
    if choices:
        if value is not None or text not in choices:
            problems.append(Problem(f"not one of the coded verdicts ({', '.join(choices)})",
                                    field="value_text"))
    elif a.value is None:
        problems.append(Problem(f"no coded verdicts for endpoint {a.endpoint!r}: the plan's "
                                "adjudication.categories must list them", field="value_text"))
    elif value is None or text is not None or not math.isfinite(value):
        problems.append(Problem("a finite number is needed", field="value"))
    if reason not in reasons:
        problems.append(Problem(f"not one of the coded reasons ({', '.join(sorted(reasons))})",
                                field="reason"))
    if problems:
        raise DataError("verdict refused", problems)
    return (None, text) if choices else (value, None)


def _write(session: Session, user: User, a: Assessment, previous: Adjudication | None,
           values: dict[str, Any], today: dt.date | None) -> None:
    """Insert the verdict, or write it again over one set aside (always an audit event, so
    the verdict is current even when it repeats the old one)."""
    today = today or dt.date.today()
    if today < a.assessed_on:
        raise _refused("the event is not ready for adjudication", "assignment")
    values = {**values, "adjudicated_on": today}
    if previous is None:
        add_record(Adjudication(assessment_id=a.id, reviewer=user.username, **values),
                   session=session, actor=user.username)
        return
    why = "re-review after the assessment changed"
    old = {c: getattr(previous, c) for c in previous.__table__.columns.keys()}
    update_record(previous, values, session=session, actor=user.username, reason=why)
    if all(old[k] == getattr(previous, k) for k in old):
        row = audit_values("adjudications", old)
        writer = AuditWriter(session, user.username)
        writer.add("adjudications", previous.id, record_key(previous, session=session),
                   "update", canonical_json(row), canonical_json(row), why)
        writer.flush()


def record_verdict(session: Session, user: User, assignment_id: int, value: float | None,
                   value_text: str | None, reason: str | None = None, *, plan: Any = None,
                   today: dt.date | None = None) -> dict[str, Any]:
    """Record the adjudicator's own independent verdict (once; again only after reopening),
    dated ``today`` (the web app's clock; default the machine's date)."""
    row = _own(session, user, assignment_id)
    if row.kind != "review":
        raise _refused("this assignment settles a disagreement: record the consensus", "kind")
    a = session.get(Assessment, row.assessment_id)
    assert a is not None
    event = _Event(session, a.id, plan)
    if event.current(user.username) is not None:
        raise _refused("you have recorded your verdict on this assessment already", "value")
    v, t = _checked(plan, a, value, value_text, reason, REVIEW_REASONS)
    _write(session, user, a, event.row_of(user.username),
           {"value": v, "value_text": t, "reason": reason, "consensus": False}, today)
    return blinded_view(session, user, assignment_id, plan=plan)


def record_consensus(session: Session, user: User, assignment_id: int, value: float | None,
                     value_text: str | None, reason: str | None = None, *, plan: Any = None,
                     today: dt.date | None = None) -> dict[str, Any]:
    """Record the consensus of a disagreement (only its consensus adjudicator), dated
    ``today``."""
    row = _own(session, user, assignment_id)
    if row.kind != "consensus":
        raise _refused("a reviewer cannot settle the disagreement; the coordinator assigns "
                       "a third adjudicator or the chair", "kind")
    a = session.get(Assessment, row.assessment_id)
    assert a is not None
    event = _Event(session, a.id, plan)
    if event.settlement.state != "needs_consensus":
        raise _refused("no consensus is needed (verdicts missing, agreeing or settled)", "kind")
    v, t = _checked(plan, a, value, value_text, reason, CONSENSUS_REASONS)
    _write(session, user, a, event.row_of(user.username),
           {"value": v, "value_text": t, "reason": reason, "consensus": True}, today)
    return blinded_view(session, user, assignment_id, plan=plan)


def open_adjudications(session: Session, *, plan: Any = None) -> dict[str, Any]:
    """Verdicts awaited, events awaiting consensus, and the pending and reopened events (events
    assigned here, and events whose verdicts were imported)."""
    ids = sorted(set(session.execute(select(AdjudicationAssignment.assessment_id)).scalars())
                 | set(session.execute(select(Adjudication.assessment_id)).scalars()))
    stale = stale_adjudications(session, ids)
    waiting = consensus = 0
    events = []
    for aid in ids:
        e = _Event(session, aid, plan, stale)
        s = e.settlement
        if s.state == "complete":
            continue
        waiting += max(s.reviews_needed - s.reviews_done, 0)
        consensus += int(s.state == "needs_consensus")
        a = session.get(Assessment, aid)
        assert a is not None
        events.append({"assessment_id": aid, "endpoint": a.endpoint, "visit": a.visit,
                       "state": s.state, "reopened": s.reopened,
                       "reviews_done": s.reviews_done, "reviews_needed": s.reviews_needed})
    return {"awaiting_verdict": waiting, "awaiting_consensus": consensus,
            "pending": [e for e in events if not e["reopened"]],
            "reopened": [e for e in events if e["reopened"]]}


def agreement_by_endpoint(session: Session) -> list[dict[str, Any]]:
    """Cohen's kappa (when the same two reviewers rated every assessment) and Fleiss' kappa
    (when every assessment has the same number of independent ratings) per endpoint, over
    current independent verdicts."""
    stale = stale_adjudications(session)
    rows = session.execute(
        select(Assessment.endpoint, Adjudication)
        .join(Adjudication, Adjudication.assessment_id == Assessment.id)
        .where(Adjudication.consensus.is_not(True))
        .order_by(Assessment.id, Adjudication.reviewer)
    ).all()
    by: dict[str, dict[int, dict[str, str]]] = defaultdict(lambda: defaultdict(dict))
    for endpoint, adj in rows:
        if adj.id not in stale:
            by[endpoint][adj.assessment_id][adj.reviewer] = str(
                verdict_text(adj.value, adj.value_text))
    out = []
    for endpoint, subjects in sorted(by.items()):
        rated = [s for s in subjects.values() if len(s) >= 2]
        res: dict[str, Any] = {
            "endpoint": endpoint, "n_assessments": len(rated), "cohen_kappa": None,
            "fleiss_kappa": None, "raters": None,
        }
        if rated:
            pairs = {tuple(sorted(s)) for s in rated}
            if len(pairs) == 1 and len(next(iter(pairs))) == 2:
                r1, r2 = next(iter(pairs))
                res["raters"] = 2
                res["cohen_kappa"] = _num(cohen_kappa([s[r1] for s in rated],
                                                      [s[r2] for s in rated]))
            sizes = {len(s) for s in rated}
            if len(sizes) == 1:
                res["raters"] = sizes.pop()
                res["fleiss_kappa"] = _num(fleiss_kappa([list(s.values()) for s in rated]))
        out.append(res)
    return out


def _num(x: float) -> float | None:
    return None if math.isnan(x) else x
