"""Data freezes: a data manager freezes one site's data or the whole study's (audited).

A freeze is a row of ``data_freezes`` (migration ``0009``) that is never deleted: unfreezing
fills in who, when and why, so the history of freezes stays in the registry as well as in the
audit trail (one event for the freeze, one for the unfreeze, each with its reason). While a
freeze is in force, every write of the frozen data — import, web form, service — is refused
by :mod:`regmed.registry.locks` with a sentence naming the freeze.

What a freeze covers: a **site** freeze the site's row, its patients and every record of them
(baseline, enrollment, administrations, assessments and their adjudications, adverse events,
follow-up) and the shipments to the site; a **study** freeze every table of the column
dictionary (sites, products, lots and their results, shipments, patients and their records).
Users, plans, evaluations, signatures and data queries are not study data: plans are still
locked and evaluations still stored on frozen data (that is what a freeze is for).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from regmed.errors import DataError, Problem
from regmed.registry.audit import AuditWriter, canonical_json, utc_now
from regmed.registry.models import Base, Site

__all__ = ["DataFreeze", "freeze_data", "unfreeze_data", "active_freezes", "freeze_values"]

#: Scopes of a freeze.
SCOPES = ("study", "site")


class DataFreeze(Base):
    """A freeze of one site's data (``scope`` "site") or of the whole study's ("study")."""

    __tablename__ = "data_freezes"
    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(8))
    site_id: Mapped[int | None] = mapped_column(
        ForeignKey("sites.id", ondelete="RESTRICT"), nullable=True, index=True)
    reason: Mapped[str] = mapped_column(Text)
    frozen_by: Mapped[str] = mapped_column(String(128))
    frozen_at: Mapped[str] = mapped_column(String(32))
    unfrozen_by: Mapped[str | None] = mapped_column(String(128))
    unfrozen_at: Mapped[str | None] = mapped_column(String(32))
    unfreeze_reason: Mapped[str | None] = mapped_column(Text)


def freeze_values(f: DataFreeze, site_code: str | None) -> dict[str, Any]:
    """The audited values of a freeze (the site by its code)."""
    return {"scope": f.scope, "site_code": site_code, "reason": f.reason,
            "frozen_by": f.frozen_by, "frozen_at": f.frozen_at, "unfrozen_by": f.unfrozen_by,
            "unfrozen_at": f.unfrozen_at, "unfreeze_reason": f.unfreeze_reason}


def _key(site_code: str | None) -> str:
    return "study" if site_code is None else f"site:{site_code}"


def _target(session: Session, site_code: str | None, study: bool, reason: str | None
            ) -> tuple[Site | None, str]:
    problems = []
    if study == (site_code is not None):
        problems.append(Problem("name one site or the whole study", field="site"))
    site = None
    if site_code is not None:
        site = session.execute(select(Site).where(Site.site_code == site_code)).scalar()
        if site is None:
            problems.append(Problem(f"unknown site {site_code!r}", field="site"))
    if not (reason or "").strip():
        problems.append(Problem("a reason is required", field="reason"))
    if problems:
        raise DataError("freeze refused", problems)
    return site, str(reason).strip()


def _active(session: Session, site: Site | None) -> DataFreeze | None:
    q = select(DataFreeze).where(DataFreeze.unfrozen_at.is_(None))
    q = q.where(DataFreeze.scope == "study") if site is None else q.where(
        DataFreeze.scope == "site", DataFreeze.site_id == site.id)
    return session.execute(q).scalar()


def freeze_data(session: Session, *, actor: str, reason: str | None,
                site_code: str | None = None, study: bool = False) -> DataFreeze:
    """Freeze one site's data (``site_code``) or the whole study's (``study=True``); audited.

    Raises
    ------
    DataError
        Neither or both named, unknown site, no reason, or frozen already.
    """
    site, why = _target(session, site_code, study, reason)
    if _active(session, site) is not None:
        raise DataError("freeze refused", [Problem(
            f"{'the study' if site is None else 'site ' + str(site_code)} is frozen already",
            field="site")])
    f = DataFreeze(scope="study" if site is None else "site",
                   site_id=None if site is None else site.id, reason=why, frozen_by=actor,
                   frozen_at=utc_now())
    writer = AuditWriter(session, actor)
    session.add(f)
    session.flush()
    writer.add("data_freezes", f.id, _key(site_code), "insert", None,
               canonical_json(freeze_values(f, site_code)), why)
    writer.flush()
    return f


def unfreeze_data(session: Session, *, actor: str, reason: str | None,
                  site_code: str | None = None, study: bool = False) -> DataFreeze:
    """End the freeze in force of a site or of the study (audited, with a reason)."""
    site, why = _target(session, site_code, study, reason)
    f = _active(session, site)
    if f is None:
        raise DataError("unfreeze refused", [Problem(
            f"{'the study' if site is None else 'site ' + str(site_code)} is not frozen",
            field="site")])
    old = freeze_values(f, site_code)
    writer = AuditWriter(session, actor)
    f.unfrozen_by, f.unfrozen_at, f.unfreeze_reason = actor, utc_now(), why
    session.flush()
    writer.add("data_freezes", f.id, _key(site_code), "update", canonical_json(old),
               canonical_json(freeze_values(f, site_code)), why)
    writer.flush()
    return f


def active_freezes(session: Session) -> list[dict[str, Any]]:
    """The freezes in force, oldest first (scope, site_code, reason, frozen_by, frozen_at)."""
    rows = session.execute(
        select(DataFreeze, Site.site_code).outerjoin(Site, Site.id == DataFreeze.site_id)
        .where(DataFreeze.unfrozen_at.is_(None)).order_by(DataFreeze.id)).all()
    return [{k: v for k, v in freeze_values(f, code).items() if not k.startswith("unfr")}
            for f, code in rows]
