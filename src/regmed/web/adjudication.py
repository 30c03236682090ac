"""Blinded central adjudication: assignments, independent verdicts, consensus, agreement.

An assessment is assigned to at least two adjudicators. Each sees only the blinded view
(endpoint, visit, value — never cohort, product, lot, site, patient or treating physician)
and records a verdict as an :class:`~regmed.registry.Adjudication` row. When the verdicts of
all assigned reviewers differ, the assessment goes to a consensus step: one of its
adjudicators records the committee's verdict (``consensus=True``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from regmed.errors import AccessDenied, DataError, Problem
from regmed.registry import Adjudication, Assessment, User, add_record
from regmed.registry.audit import AuditWriter, canonical_json, utc_now
from regmed.registry.web_models import AdjudicationAssignment
from regmed.web.agreement import cohen_kappa, fleiss_kappa
from regmed.web.services import NotFound

__all__ = [
    "CONSENSUS_REVIEWER",
    "assign",
    "assignments_of",
    "blinded_view",
    "record_verdict",
    "record_consensus",
    "agreement_by_endpoint",
    "open_adjudications",
]

#: ``reviewer`` of the consensus verdict row.
CONSENSUS_REVIEWER = "consensus"


def _verdict(a: Adjudication) -> str:
    if a.value_text is not None:
        return a.value_text
    return repr(a.value)


def assign(
    session: Session, actor: User, assessment_id: int, usernames: list[str]
) -> list[AdjudicationAssignment]:
    """Assign an assessment to adjudicators (at least two in all); audited."""
    if actor.role not in ("admin", "statistician"):
        raise AccessDenied("only an admin or a statistician assigns adjudications")
    assessment = session.get(Assessment, assessment_id)
    if assessment is None:
        raise NotFound(f"assessment {assessment_id} not found")
    problems = []
    users = []
    for name in dict.fromkeys(usernames):
        u = session.execute(select(User).where(User.username == name)).scalar()
        if u is None or u.role != "adjudicator" or not u.active:
            problems.append(Problem(f"{name!r} is not an active adjudicator", field="reviewers"))
        else:
            users.append(u)
    have = session.execute(
        select(AdjudicationAssignment.user_id).where(
            AdjudicationAssignment.assessment_id == assessment_id
        )
    ).scalars().all()
    new = [u for u in users if u.id not in set(have)]
    if len(set(have)) + len(new) < 2:
        problems.append(Problem("at least two adjudicators are needed", field="reviewers"))
    if problems:
        raise DataError("assignment refused", problems)
    writer = AuditWriter(session, actor.username)
    out = []
    for u in new:
        row = AdjudicationAssignment(
            assessment_id=assessment_id, user_id=u.id, assigned_by=actor.username,
            assigned_at=utc_now(),
        )
        session.add(row)
        session.flush()
        values = {"assessment_id": assessment_id, "user_id": u.id, "assigned_by": actor.username}
        writer.add(
            "adjudication_assignments", row.id, f"{assessment.assessment_ref}:{u.username}",
            "insert", None, canonical_json(values), None,
        )
        out.append(row)
    writer.flush()
    return out


def _own(session: Session, user: User, assignment_id: int) -> AdjudicationAssignment:
    row = session.get(AdjudicationAssignment, assignment_id)
    if row is None or user.role != "adjudicator" or row.user_id != user.id:
        raise NotFound(f"assignment {assignment_id} not found")
    return row


def _reviews(session: Session, assessment_id: int) -> list[Adjudication]:
    return list(
        session.execute(
            select(Adjudication).where(Adjudication.assessment_id == assessment_id)
        ).scalars()
    )


def _status(session: Session, assessment_id: int, reviewer: str) -> dict[str, Any]:
    n_assigned = len(
        session.execute(
            select(AdjudicationAssignment.id).where(
                AdjudicationAssignment.assessment_id == assessment_id
            )
        ).all()
    )
    reviews = _reviews(session, assessment_id)
    independent = [r for r in reviews if not r.consensus]
    consensus = [r for r in reviews if r.consensus]
    mine = [r for r in independent if r.reviewer == reviewer]
    complete = len(independent) >= n_assigned
    disagree = complete and len({_verdict(r) for r in independent}) > 1
    return {
        "my_verdict": _verdict(mine[0]) if mine else None,
        "reviews_done": len(independent),
        "reviews_needed": n_assigned,
        "needs_consensus": disagree and not consensus,
        "consensus": _verdict(consensus[0]) if consensus else None,
        # other reviewers' verdicts are shown only after one's own and only if they disagree
        "other_verdicts": sorted(_verdict(r) for r in independent if r.reviewer != reviewer)
        if mine and disagree
        else [],
    }


def blinded_view(session: Session, user: User, assignment_id: int) -> dict[str, Any]:
    """What an adjudicator sees of an assignment: no cohort, product, lot, site, patient,
    assessor or reference."""
    row = _own(session, user, assignment_id)
    a = session.get(Assessment, row.assessment_id)
    assert a is not None
    out = {
        "assignment_id": row.id,
        "endpoint": a.endpoint,
        "visit": a.visit,
        "value": a.value,
        "value_text": a.value_text,
    }
    out.update(_status(session, a.id, user.username))
    return out


def assignments_of(session: Session, user: User) -> list[dict[str, Any]]:
    """The blinded views of all assignments of an adjudicator."""
    if user.role != "adjudicator":
        raise AccessDenied("only adjudicators have assignments")
    ids = session.execute(
        select(AdjudicationAssignment.id)
        .where(AdjudicationAssignment.user_id == user.id)
        .order_by(AdjudicationAssignment.id)
    ).scalars()
    return [blinded_view(session, user, i) for i in ids]


def _write_verdict(
    session: Session, user: User, assessment: Assessment, reviewer: str,
    value: float | None, value_text: str | None, consensus: bool,
) -> Adjudication:
    if value is None and not (value_text or "").strip():
        raise DataError("verdict refused", [Problem("a value or a category is needed",
                                                    field="value")])
    if value is not None and not math.isfinite(value):
        raise DataError("verdict refused", [Problem("not a finite number", field="value")])
    today = dt.date.today()
    if today < assessment.assessed_on:
        # the message must not tell a blinded reviewer anything about the assessment's date
        raise DataError("verdict refused", [Problem("this event cannot be adjudicated yet")])
    row = Adjudication(
        assessment_id=assessment.id, reviewer=reviewer, value=value,
        value_text=(value_text or "").strip() or None, adjudicated_on=today, consensus=consensus,
    )
    add_record(row, session=session, actor=user.username)
    return row


def record_verdict(
    session: Session, user: User, assignment_id: int, value: float | None,
    value_text: str | None,
) -> dict[str, Any]:
    """Record the adjudicator's own independent verdict (once; later changes are refused)."""
    row = _own(session, user, assignment_id)
    a = session.get(Assessment, row.assessment_id)
    assert a is not None
    if any(r.reviewer == user.username for r in _reviews(session, a.id)):
        raise DataError("you have recorded your verdict on this assessment already")
    _write_verdict(session, user, a, user.username, value, value_text, consensus=False)
    return blinded_view(session, user, assignment_id)


def record_consensus(
    session: Session, user: User, assignment_id: int, value: float | None,
    value_text: str | None,
) -> dict[str, Any]:
    """Record the committee's consensus verdict of a disagreed assessment."""
    row = _own(session, user, assignment_id)
    status = _status(session, row.assessment_id, user.username)
    if not status["needs_consensus"]:
        raise DataError("no consensus is needed (reviews missing, agreeing or settled)")
    a = session.get(Assessment, row.assessment_id)
    assert a is not None
    _write_verdict(session, user, a, CONSENSUS_REVIEWER, value, value_text, consensus=True)
    return blinded_view(session, user, assignment_id)


def open_adjudications(session: Session) -> dict[str, int]:
    """Counts of assignments awaiting a verdict and assessments awaiting consensus."""
    assigned: dict[int, int] = defaultdict(int)
    for (aid,) in session.execute(select(AdjudicationAssignment.assessment_id)):
        assigned[aid] += 1
    waiting = consensus = 0
    for aid, n in assigned.items():
        st = _status(session, aid, "")
        waiting += max(n - st["reviews_done"], 0)
        consensus += int(st["needs_consensus"])
    return {"awaiting_verdict": waiting, "awaiting_consensus": consensus}


def agreement_by_endpoint(session: Session) -> list[dict[str, Any]]:
    """Cohen's kappa (when the same two reviewers rated every assessment) and Fleiss' kappa
    (when every assessment has the same number of independent ratings) per endpoint."""
    rows = session.execute(
        select(Assessment.endpoint, Adjudication)
        .join(Adjudication, Adjudication.assessment_id == Assessment.id)
        .where(Adjudication.consensus.is_not(True))
        .order_by(Assessment.id, Adjudication.reviewer)
    ).all()
    by: dict[str, dict[int, dict[str, str]]] = defaultdict(lambda: defaultdict(dict))
    for endpoint, adj in rows:
        by[endpoint][adj.assessment_id][adj.reviewer] = _verdict(adj)
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
