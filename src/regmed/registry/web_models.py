"""Registry tables used by the web application (migrations ``0002`` and ``0005``).

Adjudication assignments (which adjudicator reviews which assessment), electronic signatures
that lock a record, and data queries raised on a field. They share the registry's
:class:`~regmed.registry.models.Base`; their writes are audited by :mod:`regmed.web.services`
through the same hash-chained trail. Failed logins (``login_failures``) are kept in the
database so that login throttling holds across worker processes; they are security
telemetry, not registry records, and are not audited.
"""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from regmed.registry.models import Base

__all__ = ["AdjudicationAssignment", "RecordLock", "DataQuery", "LoginFailure"]


class AdjudicationAssignment(Base):
    """An assessment assigned to one adjudicator for an independent, blinded review."""

    __tablename__ = "adjudication_assignments"
    __table_args__ = (UniqueConstraint("assessment_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessments.id", ondelete="RESTRICT"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    assigned_by: Mapped[str] = mapped_column(String(128))
    assigned_at: Mapped[str] = mapped_column(String(32))
    #: ``review`` (an independent verdict) or ``consensus`` (settles a disagreement).
    kind: Mapped[str] = mapped_column(String(16), default="review", server_default="review")


class RecordLock(Base):
    """An electronic signature that locks one record (password re-entered, meaning recorded)."""

    __tablename__ = "record_locks"
    __table_args__ = (UniqueConstraint("table_name", "record_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    table_name: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[int] = mapped_column(Integer)
    signed_by: Mapped[str] = mapped_column(String(128))
    meaning: Mapped[str] = mapped_column(String(255))
    signed_at: Mapped[str] = mapped_column(String(32))


class DataQuery(Base):
    """A query raised on one field of a record, and the site's answer."""

    __tablename__ = "data_queries"
    id: Mapped[int] = mapped_column(primary_key=True)
    table_name: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(64))
    question: Mapped[str] = mapped_column(Text)
    raised_by: Mapped[str] = mapped_column(String(128))
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="open")


class LoginFailure(Base):
    """One failed login of a user name (lower case) at ``failed_at`` (seconds since the epoch)."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(128), index=True)
    failed_at: Mapped[float] = mapped_column(Float)
