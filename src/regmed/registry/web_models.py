"""Registry tables used by the web application (migrations ``0002``, ``0005`` and ``0008``).

Adjudication assignments (which adjudicator reviews which assessment), electronic signatures
that lock a record, and data queries raised on a field. They share the registry's
:class:`~regmed.registry.models.Base`; their writes are audited by :mod:`regmed.web.services`
through the same hash-chained trail. Failed logins (``login_failures``) are kept in the
database so that login throttling holds across worker processes; they are security
telemetry, not registry records, and are not audited. Login sessions (``web_sessions``) live
in the database too: the browser's cookie holds only a random session id, whose SHA-256 is
stored, so that logout, an administrator or a password change ends a session everywhere.
Electronic signatures (``record_signatures``) and source data verification marks
(``source_verifications``) are audited registry records.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from regmed.registry.models import Base

__all__ = ["AdjudicationAssignment", "RecordLock", "DataQuery", "LoginFailure", "WebSession",
           "UserTotp", "RecordSignature", "SourceVerification"]


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
    """One failed login of a user name (exactly as typed: user names are case-sensitive) from
    a client ``address`` at ``failed_at`` (seconds since the epoch)."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(128), index=True)
    failed_at: Mapped[float] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(64), index=True)


class WebSession(Base):
    """A login session: the SHA-256 of the random id the cookie carries, its user, when it
    started and was last used (seconds since the epoch), and when and why it ended."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[float] = mapped_column(Float)
    seen_at: Mapped[float] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(64))
    ended_at: Mapped[float | None] = mapped_column(Float)
    end_reason: Mapped[str | None] = mapped_column(String(32))


class UserTotp(Base):
    """A user's TOTP second factor (RFC 6238): the base32 secret, whether it was confirmed
    with a first code, and the last time step used (a code is accepted once)."""

    __tablename__ = "user_totp"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         unique=True)
    secret: Mapped[str] = mapped_column(String(64))
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    last_step: Mapped[int | None] = mapped_column(Integer)


class RecordSignature(Base):
    """An electronic signature of one record (21 CFR 11.50; ER/ES guideline): the signer's
    printed name, the time (UTC), the meaning (authored, reviewed, approved), and the SHA-256
    of the record's values at signing. Withdrawn (not deleted) by an audited unlock."""

    __tablename__ = "record_signatures"
    id: Mapped[int] = mapped_column(primary_key=True)
    table_name: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[int] = mapped_column(Integer, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    username: Mapped[str] = mapped_column(String(64))
    printed_name: Mapped[str] = mapped_column(String(255))
    meaning: Mapped[str] = mapped_column(String(16))
    signed_at: Mapped[str] = mapped_column(String(32))
    record_sha256: Mapped[str] = mapped_column(String(64))
    withdrawn_at: Mapped[str | None] = mapped_column(String(32))


class SourceVerification(Base):
    """A monitor's mark that one field of a record was checked against the source document
    (SDV), with the SHA-256 of the field's value then (a later change makes it stale)."""

    __tablename__ = "source_verifications"
    __table_args__ = (UniqueConstraint("table_name", "record_id", "field"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    table_name: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(64))
    value_sha256: Mapped[str] = mapped_column(String(64))
    verified_by: Mapped[str] = mapped_column(String(64))
    verified_at: Mapped[str] = mapped_column(String(32))
