"""Evaluation plans in the registry: locking, amendments and their history.

A lock stores the plan's YAML text with its SHA-256 (``regmed.plan.plan_sha256``), the time,
the signer and the reason, through the audited service; an amendment is a new version of the
same plan name with its own lock and reason, and the earlier versions stay.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from regmed.errors import PlanError, Problem
from regmed.plan import Plan, compile_specs, load_plan, plan_sha256
from regmed.registry.models import PlanVersion
from regmed.registry.services import add_record

__all__ = ["lock_plan", "get_plan_version", "plan_history", "plan_lock_record", "plan_of",
           "plan_signature", "LOCK_MEANING"]

#: The meaning of the signature a lock (or an amendment) carries: the signer approves the plan.
LOCK_MEANING = "approved"


def _latest(session: Session, name: str) -> PlanVersion | None:
    return session.scalars(
        select(PlanVersion).where(PlanVersion.name == name).order_by(PlanVersion.version.desc())
    ).first()


def lock_plan(
    text: str,
    *,
    session: Session,
    name: str,
    signer: str,
    reason: str,
    actor: str | None = None,
    amend: bool = False,
) -> PlanVersion:
    """Validate and lock a plan (its first version, or an amendment with ``amend=True``).

    Parameters
    ----------
    text : str
        The plan's YAML text (validated with :func:`regmed.plan.load_plan` first).
    session : Session
        The unit of work (not committed here).
    name : str
        The plan's name in the registry.
    signer, reason : str
        Who signs the lock and why (both required).
    actor : str, optional
        Who performs the write (default: the signer).
    amend : bool
        Lock a new version of an already locked plan. Without it, locking a name that exists
        is refused (an amendment must say so, with its reason).

    Returns
    -------
    PlanVersion
    """
    problems = []
    if not signer or not signer.strip():
        problems.append(Problem("a signer is required", field="signer"))
    if not reason or not reason.strip():
        problems.append(Problem("a reason is required", field="reason"))
    if problems:
        raise PlanError("the plan cannot be locked", problems)
    compile_specs(load_plan(text, file=name), file=name)  # refuse what would not run exactly
    sha = plan_sha256(text)
    latest = _latest(session, name)
    if latest is not None and not amend:
        raise PlanError(
            f"plan {name!r} is already locked (version {latest.version}); "
            "use an amendment to lock a new version")
    if latest is not None and latest.sha256 == sha:
        raise PlanError(f"the amendment is identical to version {latest.version} of {name!r}")
    if latest is None and amend:
        raise PlanError(f"there is no locked plan {name!r} to amend")
    version = 1 if latest is None else latest.version + 1
    record = PlanVersion(
        name=name, version=version, yaml_text=text, sha256=sha, status="locked",
        locked_at=dt.datetime.now(dt.UTC), signer=signer, reason=reason,
    )
    add_record(record, session=session, actor=actor or signer, reason=reason)
    return record


def get_plan_version(session: Session, name: str, version: int | None = None) -> PlanVersion:
    """The locked plan version (the latest when ``version`` is None)."""
    query = select(PlanVersion).where(PlanVersion.name == name)
    if version is not None:
        query = query.where(PlanVersion.version == version)
    record = session.scalars(query.order_by(PlanVersion.version.desc())).first()
    if record is None:
        known = session.scalars(select(PlanVersion.name).distinct()).all()
        raise PlanError(f"no locked plan {name!r}"
                        + (f" version {version}" if version is not None else "")
                        + (f"; the registry holds: {', '.join(known)}" if known else ""))
    return record


def plan_history(session: Session, name: str) -> list[dict[str, Any]]:
    """Every version of a plan: version, sha256, locked_at, signer, reason."""
    rows = session.scalars(
        select(PlanVersion).where(PlanVersion.name == name).order_by(PlanVersion.version)
    ).all()
    return [{"version": r.version, "sha256": r.sha256, "status": r.status,
             "locked_at": r.locked_at.isoformat() if r.locked_at else None,
             "signer": r.signer, "reason": r.reason} for r in rows]


def plan_lock_record(record: PlanVersion) -> dict[str, Any]:
    """The lock as a mapping for :func:`regmed.plan.require_locked` and the report."""
    return {"name": record.name, "version": record.version, "sha256": record.sha256,
            "locked_at": record.locked_at.isoformat() if record.locked_at else None,
            "signer": record.signer, "reason": record.reason}


def plan_signature(session: Session, record: PlanVersion) -> dict[str, Any]:
    """The signature manifestation of a lock (21 CFR 11.50): ``signer`` (printed name),
    ``signed_as`` (the registry user who signed: the actor of the lock's audit event),
    ``locked_at`` (the time) and ``signature_meaning`` (:data:`LOCK_MEANING`)."""
    from regmed.registry.models import AuditEvent

    actor = session.scalar(
        select(AuditEvent.actor).where(AuditEvent.table_name == "plan_versions",
                                       AuditEvent.record_id == record.id,
                                       AuditEvent.action == "insert").limit(1))
    return {"signer": record.signer, "signed_as": actor,
            "locked_at": record.locked_at.isoformat() if record.locked_at else None,
            "signature_meaning": LOCK_MEANING}


def count_plans(session: Session) -> int:
    """Number of stored plan versions."""
    return int(session.scalar(select(func.count()).select_from(PlanVersion)) or 0)


@lru_cache(maxsize=8)
def _parse(text: str, name: str) -> Plan:
    return load_plan(text, file=name)


def plan_of(record: PlanVersion) -> Plan:
    """The validated plan of a locked version (each text is parsed once per process)."""
    return _parse(record.yaml_text, record.name)
