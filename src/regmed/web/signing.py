"""Electronic signatures and source data verification, audited in the registry's trail.

Signatures follow 21 CFR Part 11 (§11.50 signature manifestation, §11.70 signature/record
linking, §11.200 signature components) and Japan's ER/ES guideline (MHLW 2005, 電子署名): the
signer re-enters the password (and the one-time code of a second factor) at each signing;
the signature records the printed name, the time in UTC and the meaning (``authored``,
``reviewed`` or ``approved``), and the SHA-256 of the record's values at signing, so that it
is linked to exactly what was signed. A signed record is locked: it changes only after an
audited unlock with a reason, which withdraws (never deletes) its signatures. Failed password
re-entries count as failed logins (a stolen session cannot be used to guess the password).

A monitor marks fields of a record as source-verified (SDV); the mark keeps the SHA-256 of
the value it saw, so a later change of the field shows the mark as stale.
"""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from regmed.errors import AccessDenied, DataError, Problem
from regmed.registry import User
from regmed.registry.audit import AuditWriter, canonical_json, utc_now
from regmed.registry.web_models import RecordLock, RecordSignature, SourceVerification
from regmed.web.auth import check_reentry
from regmed.web.records import LOCKABLE, _record

__all__ = ["SIGNING_ROLES", "MEANINGS_OF", "sign_record", "unlock_record", "manifestation",
           "signatures_of", "verify_fields", "verifications_of", "record_sha256"]

#: The meanings each role may sign with.
MEANINGS_OF: dict[str, tuple[str, ...]] = {
    "investigator": ("authored", "reviewed", "approved"),
    "monitor": ("reviewed",),
}
SIGNING_ROLES = tuple(MEANINGS_OF)


def _values(record: Any) -> dict[str, Any]:
    return {c.key: getattr(record, c.key) for c in record.__table__.columns}


def record_sha256(record: Any) -> str:
    """SHA-256 of the canonical JSON of the record's values."""
    return hashlib.sha256(canonical_json(_values(record)).encode()).hexdigest()


def _audit(session: Session, actor: str, table: str, rid: int, key: str, action: str,
           old: dict[str, Any] | None, new: dict[str, Any] | None, reason: str | None) -> None:
    w = AuditWriter(session, actor)
    w.add(table, rid, key, action, canonical_json(old) if old else None,
          canonical_json(new) if new else None, reason)
    w.flush()


def manifestation(s: RecordSignature) -> dict[str, Any]:
    """What a signature shows wherever the record is shown (§11.50): printed name, time
    (UTC), meaning; with the login name and the signed content's hash."""
    return {"printed_name": s.printed_name, "signed_by": s.username, "signed_at": s.signed_at,
            "meaning": s.meaning, "record_sha256": s.record_sha256}


def sign_record(session: Session, user: User, table: str, record_id: int, password: str,
                meaning: str, *, otp: str | None = None, now: float,
                request: Request | None = None) -> RecordSignature:
    """Sign a record the user may read (investigators: their own site's) with ``meaning``,
    after re-entering the password; the first signature locks the record.

    Raises
    ------
    AccessDenied
        The role cannot sign, or not with this meaning.
    DataError
        This user signed it with this meaning already, or (``ReentryFailed``) the password
        or code is wrong: kept as a failed login (the caller commits, see
        :func:`regmed.web.auth.keep_failure`).
    """
    allowed = MEANINGS_OF.get(user.role)
    if allowed is None:
        raise AccessDenied(f"a {user.role} does not sign records")
    record = _record(session, user, table, record_id)
    problems = []
    if meaning not in allowed:
        problems.append(Problem(f"a {user.role} signs as {' or '.join(allowed)}",
                                field="meaning"))
    active = signatures_of(session, table, record_id)
    if any(s.user_id == user.id and s.meaning == meaning for s in active):
        problems.append(Problem(f"you have signed this record as {meaning} already",
                                field="meaning"))
    if problems:
        raise DataError("signature refused", problems)
    check_reentry(request, session, user, password, otp, now, what="signature")
    sig = RecordSignature(table_name=table, record_id=record_id, user_id=user.id,
                          username=user.username, printed_name=user.full_name or user.username,
                          meaning=meaning, signed_at=utc_now(), record_sha256=record_sha256(record))
    session.add(sig)
    session.flush()
    _audit(session, user.username, "record_signatures", sig.id, f"{table}:{record_id}",
           "insert", None, {"table_name": table, "record_id": record_id,
                            **manifestation(sig)}, None)
    lock = session.execute(select(RecordLock).where(
        RecordLock.table_name == table, RecordLock.record_id == record_id)).scalar()
    if lock is None:
        lock = RecordLock(table_name=table, record_id=record_id, signed_by=user.username,
                          meaning=meaning, signed_at=sig.signed_at)
        session.add(lock)
        session.flush()
        _audit(session, user.username, "record_locks", lock.id, f"{table}:{record_id}",
               "insert", None, _lock_values(lock), None)
    return sig


def _lock_values(lock: RecordLock) -> dict[str, Any]:
    return {"table_name": lock.table_name, "record_id": lock.record_id,
            "signed_by": lock.signed_by, "meaning": lock.meaning, "signed_at": lock.signed_at}


def unlock_record(session: Session, user: User, table: str, record_id: int,
                  reason: str | None) -> None:
    """Remove the lock of a record of the investigator's site and withdraw its signatures
    (audited; a reason is required)."""
    if user.role != "investigator":
        raise AccessDenied("only the site's investigator unlocks its records")
    _record(session, user, table, record_id)
    lock = session.execute(select(RecordLock).where(
        RecordLock.table_name == table, RecordLock.record_id == record_id)).scalar()
    if lock is None:
        raise DataError("the record is not signed")
    if not (reason or "").strip():
        raise DataError("unlock refused", [Problem("a reason is required", field="reason")])
    now = utc_now()
    for s in signatures_of(session, table, record_id):
        old = {"table_name": table, "record_id": record_id, **manifestation(s)}
        s.withdrawn_at = now
        _audit(session, user.username, "record_signatures", s.id, f"{table}:{record_id}",
               "update", old, {**old, "withdrawn_at": now}, reason)
    old_lock = _lock_values(lock)
    lid = lock.id
    session.delete(lock)
    session.flush()
    _audit(session, user.username, "record_locks", lid, f"{table}:{record_id}", "delete",
           old_lock, None, reason)


def signatures_of(session: Session, table: str, record_id: int) -> list[RecordSignature]:
    """The record's signatures in force (not withdrawn), oldest first."""
    return list(session.execute(select(RecordSignature).where(
        RecordSignature.table_name == table, RecordSignature.record_id == record_id,
        RecordSignature.withdrawn_at.is_(None)).order_by(RecordSignature.id)).scalars())


def _field_sha(record: Any, field: str) -> str:
    return hashlib.sha256(canonical_json({"v": getattr(record, field)}).encode()).hexdigest()


def verify_fields(session: Session, user: User, table: str, record_id: int,
                  fields: list[str]) -> list[dict[str, Any]]:
    """A monitor marks ``fields`` of a record as verified against the source (audited; a
    field verified before is verified again with its current value)."""
    if user.role != "monitor":
        raise AccessDenied("only a monitor verifies source data")
    record = _record(session, user, table, record_id)
    columns = [c for c in record.__table__.columns.keys() if c not in ("id", "patient_id")]
    bad = [f for f in fields if f not in columns]
    if bad or not fields:
        raise DataError("verification refused",
                        [Problem(f"not a field of {table} (one of {', '.join(columns)})",
                                 field=str(f)[:64]) for f in bad]
                        or [Problem("name the fields verified", field="fields")])
    now = utc_now()
    for f in dict.fromkeys(fields):
        row = session.execute(select(SourceVerification).where(
            SourceVerification.table_name == table, SourceVerification.record_id == record_id,
            SourceVerification.field == f)).scalar()
        new = {"table_name": table, "record_id": record_id, "field": f,
               "value_sha256": _field_sha(record, f), "verified_by": user.username,
               "verified_at": now}
        if row is None:
            row = SourceVerification(**new)
            session.add(row)
            session.flush()
            _audit(session, user.username, "source_verifications", row.id,
                   f"{table}:{record_id}:{f}", "insert", None, new, None)
        else:
            old = {k: getattr(row, k) for k in new}
            for k, v in new.items():
                setattr(row, k, v)
            session.flush()
            _audit(session, user.username, "source_verifications", row.id,
                   f"{table}:{record_id}:{f}", "update", old, new, "verified again")
    return verifications_of(session, table, record_id)


def verifications_of(session: Session, table: str, record_id: int) -> list[dict[str, Any]]:
    """The SDV marks of a record; ``current`` is False when the field changed since."""
    model = LOCKABLE[table]
    record = session.get(model, record_id)
    out = []
    for v in session.execute(select(SourceVerification).where(
            SourceVerification.table_name == table, SourceVerification.record_id == record_id
    ).order_by(SourceVerification.field)).scalars():
        current = record is not None and _field_sha(record, v.field) == v.value_sha256
        out.append({"field": v.field, "verified_by": v.verified_by,
                    "verified_at": v.verified_at, "current": current})
    return out
