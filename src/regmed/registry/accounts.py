"""Accounts: changing a password and ending a user's login sessions.

A password change goes through the policy (:mod:`regmed.registry.passwords`), is audited
(the hash only as its digest) and ends every open session of the user, wherever it was
opened: the web's sessions live in ``web_sessions`` (:class:`~regmed.registry.web_models.
WebSession`), so the command line and the web app end them alike.
"""

from __future__ import annotations

import time

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from regmed.errors import DataError, Problem
from regmed.registry.audit import AuditWriter, canonical_json
from regmed.registry.models import User
from regmed.registry.passwords import password_problems
from regmed.registry.services import hash_password, update_record
from regmed.registry.web_models import WebSession

__all__ = ["get_user", "set_password", "end_sessions"]


def get_user(session: Session, username: str) -> User:
    """The user called exactly ``username`` (user names are case-sensitive)."""
    user = session.execute(select(User).where(User.username == username)).scalar()
    if user is None:
        raise DataError(f"no user {username!r}", [Problem("unknown user", field="username")])
    return user


def end_sessions(session: Session, user: User, *, reason: str, actor: str | None = None,
                 now: float | None = None, keep: int | None = None) -> int:
    """End every open login session of ``user`` (``reason``: ``logout``, ``revoked``,
    ``password changed``, ...), except the session with id ``keep``. With an ``actor`` the
    revocation is an audit event. Returns how many sessions ended."""
    now = time.time() if now is None else now
    q = (update(WebSession)
         .where(WebSession.user_id == user.id, WebSession.ended_at.is_(None))
         .values(ended_at=now, end_reason=reason[:32]))
    if keep is not None:
        q = q.where(WebSession.id != keep)
    n = int(session.execute(q).rowcount or 0)  # type: ignore[attr-defined]
    if actor is not None:
        w = AuditWriter(session, actor)
        w.add("web_sessions", user.id, user.username, "update", None,
              canonical_json({"username": user.username, "sessions_ended": n}), reason)
        w.flush()
    return n


def set_password(session: Session, username: str, password: str, *, actor: str,
                 now: float | None = None, keep_session: int | None = None) -> int:
    """Set the password of ``username`` (policy checked, audited) and end their sessions
    (but ``keep_session``: the one in which the user changed their own password). Returns
    how many sessions ended.

    Raises
    ------
    DataError
        Unknown user, or the password breaks the policy (every problem at once).
    """
    user = get_user(session, username)
    problems = password_problems(password, username)
    if problems:
        raise DataError("the password is refused", problems)
    update_record(user, {"password_hash": hash_password(password)}, session=session,
                  actor=actor, reason="password changed")
    return end_sessions(session, user, reason="password changed", now=now, keep=keep_session)
