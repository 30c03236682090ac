"""When an adjudication is complete, and its final verdict: one rule for extraction and the web.

An event (an assessment) is reviewed independently by ``reviewers`` adjudicators (the plan's
``adjudication.reviewers``, default 2). It is *complete* when that many current independent
verdicts are in and they agree (the verdict is theirs), or when they disagree and a current
consensus verdict settles it. A verdict is *current* when it was written after the last change
of its assessment: the audit trail orders both, whatever path wrote them (web, import,
service), so a changed assessment reopens its adjudication until it is reviewed again; every
path that changes an assessment also audits the reopening itself (:func:`add_reopenings`). Only
complete adjudications replace the site's value in the analysis
(:func:`regmed.registry.extract`).

Verdict reasons come from coded lists: :data:`REVIEW_REASONS` for an independent verdict,
:data:`CONSENSUS_REASONS` for a consensus; categorical verdicts from
:func:`verdict_choices`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from regmed.registry.models import Adjudication, AuditEvent

__all__ = [
    "REVIEW_REASONS",
    "CONSENSUS_REASONS",
    "DEFAULT_CATEGORIES",
    "Settlement",
    "verdict_text",
    "settle",
    "plan_reviewers",
    "plan_consensus",
    "verdict_choices",
    "stale_adjudications",
    "final_verdicts",
    "add_reopenings",
    "REOPEN",
]

#: Coded reasons of an independent verdict (code → English label).
REVIEW_REASONS: dict[str, str] = {
    "source_clear": "clear from the source documents",
    "source_borderline": "borderline between two categories",
    "source_incomplete": "source documents incomplete",
    "re_review": "re-reviewed after the assessment changed",
}
#: Coded reasons of a consensus verdict.
CONSENSUS_REASONS: dict[str, str] = {
    "majority": "agrees with one of the independent verdicts (majority)",
    "source_reviewed": "decided on a review of the source documents",
    "committee_discussion": "agreed in the committee's discussion",
    "protocol_rule": "decided by a rule of the protocol",
}
#: Audit action of a verdict set aside because its assessment changed.
REOPEN = "reopen"
#: Coded verdicts of categorical endpoints that need no plan entry.
DEFAULT_CATEGORIES: dict[str, tuple[str, ...]] = {"ais_grade": ("A", "B", "C", "D", "E")}


def verdict_text(value: Any, value_text: Any) -> str | None:
    """A verdict as one comparable text (the category, or the number); None when empty."""
    if value_text is not None and not (isinstance(value_text, float) and value_text != value_text):
        text = str(value_text).strip()
        if text and text != "<NA>":
            return text
    if value is None or value is pd.NA:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else repr(number)


@dataclass(frozen=True)
class Settlement:
    """Where an event's adjudication stands.

    ``state`` is ``pending`` (independent verdicts missing), ``needs_consensus`` (they
    disagree and no consensus settles them) or ``complete``; ``final`` is the verdict of a
    complete adjudication (index into the rows given to :func:`settle`), ``reopened`` tells that
    verdicts written before the assessment's last change were set aside.
    """

    state: str
    reviews_done: int
    reviews_needed: int
    final: int | None
    reopened: bool


def settle(rows: Sequence[Mapping[str, Any]], reviewers: int) -> Settlement:
    """Settle one event from its verdict rows (``value``, ``value_text``, ``consensus``,
    ``stale``); the final verdict is given as the position of its row."""
    current = [(i, r) for i, r in enumerate(rows) if not r.get("stale")]
    reopened = len(current) < len(rows)
    independent = [(i, r) for i, r in current if r.get("consensus") is not True]
    consensus = [(i, r) for i, r in current if r.get("consensus") is True]
    done = len(independent)
    if done < reviewers:
        return Settlement("pending", done, reviewers, None, reopened)
    verdicts = {verdict_text(r.get("value"), r.get("value_text")) for _, r in independent}
    if consensus:
        return Settlement("complete", done, reviewers, consensus[-1][0], reopened)
    if len(verdicts) == 1 and None not in verdicts:
        return Settlement("complete", done, reviewers, independent[0][0], reopened)
    return Settlement("needs_consensus", done, reviewers, None, reopened)


def _block(plan: Any) -> Any:
    return getattr(plan, "adjudication", None) if plan is not None else None


def plan_reviewers(plan: Any) -> int:
    """Independent adjudicators per event the plan declares (default 2)."""
    block = _block(plan)
    return int(block.reviewers) if block is not None else 2


def plan_consensus(plan: Any) -> tuple[str, str | None]:
    """How the plan settles a disagreement: (``third_adjudicator`` or ``chair``, chair)."""
    block = _block(plan)
    if block is None:
        return "third_adjudicator", None
    return str(block.consensus), block.chair


def verdict_choices(plan: Any, endpoint: str) -> tuple[str, ...] | None:
    """The coded verdicts of a categorical endpoint (None: not known as categorical)."""
    block = _block(plan)
    if block is not None and endpoint in block.categories:
        return tuple(block.categories[endpoint])
    return DEFAULT_CATEGORIES.get(endpoint)


def _last_seq(session: Session, table: str, ids: Iterable[int] | None,
              action: str | None = None) -> dict[int, int]:
    q = select(AuditEvent.record_id, func.max(AuditEvent.seq)).where(
        AuditEvent.table_name == table)
    if action is not None:
        q = q.where(AuditEvent.action == action)
    else:  # a reopening sets a verdict aside; it does not write it again
        q = q.where(AuditEvent.action != REOPEN)
    if ids is not None:
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        q = q.where(AuditEvent.record_id.in_(wanted))
    return {int(r): int(s) for r, s in session.execute(q.group_by(AuditEvent.record_id)).all()}


def stale_adjudications(session: Session, assessment_ids: Iterable[int] | None = None
                        ) -> set[int]:
    """Ids of verdicts last written before the last change of their assessment."""
    q = select(Adjudication.id, Adjudication.assessment_id)
    if assessment_ids is not None:
        wanted = sorted(set(assessment_ids))
        if not wanted:
            return set()
        q = q.where(Adjudication.assessment_id.in_(wanted))
    rows = session.execute(q).all()
    if not rows:
        return set()
    changed = _last_seq(session, "assessments", {a for _, a in rows}, "update")
    if not changed:
        return set()
    written = _last_seq(session, "adjudications", [i for i, a in rows if a in changed])
    return {i for i, a in rows if a in changed and written.get(i, -1) < changed[a]}


def final_verdicts(adjudications: pd.DataFrame | None, reviewers: int) -> pd.DataFrame:
    """The final verdict of every complete adjudication, as ``consensus`` rows.

    ``adjudications`` is the exported table (``assessment_ref, reviewer, value, value_text,
    consensus``; a boolean ``stale`` column, if present, sets rows aside, and a ``needed``
    column raises the number of verdicts an event needs, e.g. to its assigned reviewers).
    Returns one row per complete event with ``consensus`` True, the rest left out.
    """
    cols = ["assessment_ref", "reviewer", "value", "value_text", "adjudicated_on",
            "consensus"]
    if adjudications is None or adjudications.empty:
        return pd.DataFrame(columns=cols)
    keep = []
    frame = adjudications.reset_index(drop=True)
    flags = frame["consensus"].astype("boolean").fillna(False).astype(bool)
    stale = (frame["stale"].astype(bool) if "stale" in frame
             else pd.Series(False, index=frame.index))
    for _, group in frame.groupby("assessment_ref", sort=False):
        rows = [{"value": frame.at[i, "value"], "value_text": frame.at[i, "value_text"],
                 "consensus": bool(flags[i]), "stale": bool(stale[i])} for i in group.index]
        need = reviewers
        if "needed" in frame:
            need = max(reviewers, int(pd.to_numeric(group["needed"]).fillna(0).max()))
        s = settle(rows, need)
        if s.state == "complete" and s.final is not None:
            keep.append(group.index[s.final])
    out = frame.loc[keep, [c for c in cols if c in frame]].copy()
    out["consensus"] = True
    return out.reset_index(drop=True)


def add_reopenings(session: Session, writer: Any, assessment_ids: Iterable[int],
                   reason: str | None) -> int:
    """Append to ``writer`` the audit events of the adjudications a change reopens.

    Called by every path that changes stored assessments (:func:`regmed.registry.import_tables`,
    :func:`regmed.registry.save_row`, :func:`regmed.registry.update_record`) with the ids it
    changed, *before* ``writer`` flushes the assessments' own update events. For every verdict
    that was current until now it appends a ``reopen`` event on the verdict (``adjudications``,
    old and new values the verdict as it stands: it is set aside, not changed; the verdicts
    themselves are set aside by :func:`stale_adjudications`, which skips these events), and an
    ``update`` event on every assignment of a reopened event (its adjudicators review again).
    Returns the number of events appended.
    """
    from regmed.registry.audit import audit_values, canonical_json
    from regmed.registry.models import Assessment, User
    from regmed.registry.web_models import AdjudicationAssignment

    why = f"reopened for re-review: the assessment changed ({reason or 'no reason'})"
    t = Adjudication.__table__
    n = 0
    ids = sorted({int(i) for i in assessment_ids})
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        verdicts = [dict(r) for r in session.execute(
            select(t, Assessment.assessment_ref.label("_ref"))
            .join(Assessment, Assessment.id == t.c.assessment_id)
            .where(t.c.assessment_id.in_(chunk)).order_by(t.c.id)).mappings()]
        if not verdicts:
            continue
        stale = stale_adjudications(session, chunk)
        reopened: dict[int, str] = {}
        for v in verdicts:
            if v["id"] in stale:
                continue
            ref = v.pop("_ref")
            values = canonical_json(audit_values("adjudications", v))
            writer.add("adjudications", int(v["id"]), f"{ref}:{v['reviewer']}", REOPEN,
                       values, values, why)
            reopened[int(v["assessment_id"])] = ref
            n += 1
        if not reopened:
            continue
        for rid, aid, kind, username in session.execute(
            select(AdjudicationAssignment.id, AdjudicationAssignment.assessment_id,
                   AdjudicationAssignment.kind, User.username)
            .join(User, User.id == AdjudicationAssignment.user_id)
            .where(AdjudicationAssignment.assessment_id.in_(sorted(reopened)))
            .order_by(AdjudicationAssignment.id)).all():
            writer.add("adjudication_assignments", int(rid), f"{reopened[aid]}:{username}",
                       "update", None,
                       canonical_json({"assessment_id": int(aid), "kind": kind,
                                       "reopened": True}), why)
            n += 1
    return n
