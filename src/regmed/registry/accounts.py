"""Accounts: authenticating a registry user, the TOTP second factor, changing a password and
ending a user's login sessions.

A password change goes through the policy (:mod:`regmed.registry.passwords`), is audited
(the hash only as its digest) and ends every open session of the user, wherever it was
opened: the web's sessions live in ``web_sessions`` (:class:`~regmed.registry.web_models.
WebSession`), so the command line and the web app end them alike.
"""

from __future__ import annotations

import time

import pyotp
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from regmed.errors import DataError, Problem
from regmed.registry.audit import AuditWriter, canonical_json
from regmed.registry.models import User
from regmed.registry.passwords import password_problems
from regmed.registry.services import (
    UNKNOWN_USER_HASH,
    USER_DATE_STYLES,
    USER_LANGUAGES,
    hash_password,
    preference_problems,
    update_record,
    verify_password,
)
from regmed.registry.web_models import UserTotp, WebSession

__all__ = ["get_user", "set_password", "end_sessions", "check_totp", "authenticate",
           "has_totp", "set_preferences", "USER_LANGUAGES", "USER_DATE_STYLES"]
_KEEP = object()


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


def set_preferences(session: Session, username: str, *, actor: str,
                    language: str | None | object = _KEEP,
                    date_style: str | None | object = _KEEP) -> User:
    """Set the language (``ja``/``en``) and date style (``western``/``wareki``) of
    ``username`` — None or "" clears it (the browser's choice holds); a preference not given
    stays. Audited like every change of a user.

    Raises
    ------
    DataError
        Unknown user or value (every problem at once).
    """
    user = get_user(session, username)
    changes = {column: None if value in (None, "") else str(value)
               for column, value in (("language", language), ("date_style", date_style))
               if value is not _KEEP}
    problems = preference_problems(changes.get("language"), changes.get("date_style"))
    if problems:
        raise DataError("the preferences are refused", problems)
    if changes:
        update_record(user, changes, session=session, actor=actor,
                      reason="language and date preference")
    return user


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


def check_totp(session: Session, user: User, code: str | None, now: float,
               *, confirmed_only: bool = True) -> bool | None:
    """None when ``user`` has no (confirmed) second factor; else whether ``code`` is the
    current TOTP code (±1 step of 30 s), each code accepted once."""
    q = select(UserTotp).where(UserTotp.user_id == user.id)
    if confirmed_only:
        q = q.where(UserTotp.confirmed.is_(True))
    row = session.execute(q).scalar()
    if row is None:
        return None
    code = (code or "").strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return False
    totp = pyotp.TOTP(row.secret)
    step = int(now // totp.interval)
    for s in (step, step - 1, step + 1):
        if s > (row.last_step or -1) and pyotp.utils.strings_equal(totp.at(s * totp.interval),
                                                                   code):
            row.last_step = s
            session.flush()
            return True
    return False


def has_totp(session: Session, user: User) -> bool:
    """True when ``user`` has a confirmed second factor."""
    return session.execute(select(UserTotp.id).where(
        UserTotp.user_id == user.id, UserTotp.confirmed.is_(True))).first() is not None


def authenticate(session: Session, username: str, password: str, otp: str | None = None,
                 *, roles: tuple[str, ...] | None = None, now: float | None = None) -> User:
    """The active user ``username`` if ``password`` (and the one-time code of a second
    factor) is right, and the role is one of ``roles``: for signing from the command line
    (``regmed plan lock --user``).

    Raises
    ------
    DataError
        One message for an unknown user, a wrong password or code (they are not told apart).
    """
    user = session.execute(select(User).where(User.username == username)).scalar()
    usable = user is not None and user.active and bool(user.password_hash)
    stored = user.password_hash if usable and user is not None else None
    ok = verify_password(password, stored or UNKNOWN_USER_HASH) and usable  # equal time
    if ok and user is not None:
        ok = check_totp(session, user, otp, time.time() if now is None else now) is not False
    if not ok or user is None:
        raise DataError("authentication failed: wrong user name, password or one-time code")
    if roles is not None and user.role not in roles:
        raise DataError(f"a {user.role} cannot do this (only {', '.join(roles)})")
    return user
