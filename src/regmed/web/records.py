"""Data queries, audited in the registry's trail, and the records that can be signed,
queried and verified (signatures: :mod:`regmed.web.signing`).

A statistician raises a query on one field of a record; the site's investigator answers; the
statistician closes it. Every step is an audit event.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from regmed.errors import AccessDenied, DataError, Problem
from regmed.registry import (
    AdverseEvent,
    Assessment,
    Enrollment,
    FollowUp,
    Patient,
    User,
)
from regmed.registry.audit import AuditWriter, canonical_json
from regmed.registry.web_models import DataQuery
from regmed.web.services import NotFound, get_patient

__all__ = [
    "LOCKABLE",
    "raise_query",
    "answer_query",
    "close_query",
    "list_queries",
]

#: Patient records that can be signed, queried and locked, by table name.
LOCKABLE: dict[str, Any] = {
    "assessments": Assessment,
    "adverse_events": AdverseEvent,
    "follow_ups": FollowUp,
    "enrollments": Enrollment,
}


def _record(session: Session, user: User, table: str, record_id: int) -> Any:
    """The record if ``user`` may read it (investigators: own site), else NotFound."""
    model = LOCKABLE.get(table)
    record = session.get(model, record_id) if model is not None else None
    if record is None:
        raise NotFound(f"{table} {record_id} not found")
    get_patient(session, user, record.patient_id)  # NotFound for another site
    return record


def _audit(session: Session, actor: str, table: str, rid: int, key: str, action: str,
           old: dict[str, Any] | None, new: dict[str, Any] | None, reason: str | None) -> None:
    w = AuditWriter(session, actor)
    w.add(table, rid, key, action, canonical_json(old) if old else None,
          canonical_json(new) if new else None, reason)
    w.flush()


def _query_values(q: DataQuery) -> dict[str, Any]:
    return {"table_name": q.table_name, "record_id": q.record_id, "field": q.field,
            "question": q.question, "raised_by": q.raised_by, "answer": q.answer,
            "answered_by": q.answered_by, "status": q.status}


def raise_query(session: Session, user: User, table: str, record_id: int, field: str,
                question: str) -> DataQuery:
    """Raise a query on ``field`` of a record (statisticians)."""
    if user.role != "statistician":
        raise AccessDenied("only a statistician raises data queries")
    record = _record(session, user, table, record_id)
    problems = []
    if field not in record.__table__.columns.keys() or field in ("id", "patient_id"):
        problems.append(Problem(f"not a field of {table}", field="field"))
    if not (question or "").strip():
        problems.append(Problem("a question is required", field="question"))
    if problems:
        raise DataError("query refused", problems)
    q = DataQuery(table_name=table, record_id=record_id, field=field,
                  question=question.strip(), raised_by=user.username, status="open")
    session.add(q)
    session.flush()
    _audit(session, user.username, "data_queries", q.id, f"{table}:{record_id}:{field}",
           "insert", None, _query_values(q), None)
    return q


def _visible_query(session: Session, user: User, query_id: int) -> DataQuery:
    q = session.get(DataQuery, query_id)
    if q is None:
        raise NotFound(f"query {query_id} not found")
    _record(session, user, q.table_name, q.record_id)
    return q


def _change_query(session: Session, user: User, q: DataQuery, **changes: Any) -> DataQuery:
    old = _query_values(q)
    for k, v in changes.items():
        setattr(q, k, v)
    session.flush()
    _audit(session, user.username, "data_queries", q.id,
           f"{q.table_name}:{q.record_id}:{q.field}", "update", old, _query_values(q),
           f"query {changes.get('status', 'answered')}")
    return q


def answer_query(session: Session, user: User, query_id: int, answer: str) -> DataQuery:
    """The site's investigator answers an open query."""
    if user.role != "investigator":
        raise AccessDenied("only the site's investigator answers queries")
    q = _visible_query(session, user, query_id)
    if q.status != "open":
        raise DataError("the query is not open")
    if not (answer or "").strip():
        raise DataError("answer refused", [Problem("an answer is required", field="answer")])
    return _change_query(session, user, q, answer=answer.strip(), answered_by=user.username,
                         status="answered")


def close_query(session: Session, user: User, query_id: int) -> DataQuery:
    """The statistician closes an answered query."""
    if user.role != "statistician":
        raise AccessDenied("only a statistician closes queries")
    q = _visible_query(session, user, query_id)
    if q.status != "answered":
        raise DataError("only an answered query can be closed")
    return _change_query(session, user, q, status="closed")


def list_queries(session: Session, user: User, *, secret: str | None = None
                 ) -> list[dict[str, Any]]:
    """Queries the user may see (investigators: on their own site's records). For a
    regulator the names of who raised and answered are pseudonymized with ``secret``."""
    from regmed.web.security import pseudonym_of

    if user.role == "regulator" and secret is None:
        raise AccessDenied("a regulator sees queries only with pseudonymized names")
    out = []
    for q in session.execute(select(DataQuery).order_by(DataQuery.id)).scalars():
        model = LOCKABLE[q.table_name]
        record = session.get(model, q.record_id)
        if record is None:
            continue
        if user.role == "investigator":
            patient = session.get(Patient, record.patient_id)
            if patient is None or patient.site_id != user.site_id:
                continue
        values = _query_values(q)
        if user.role == "regulator" and secret is not None:
            for k in ("raised_by", "answered_by"):
                if values.get(k):
                    values[k] = pseudonym_of(secret, values[k])
        out.append({"id": q.id, "patient_id": record.patient_id, **values})
    return out
