"""Server-side login sessions and the login check.

The session cookie (signed by Starlette's ``SessionMiddleware``) carries only a random
session id, ``{"sid": ...}``; the database keeps its SHA-256 with the user, the login time and
the last use (``web_sessions``). A session ends at logout, when an administrator revokes the
user's sessions, when the password changes, after ``idle_timeout_s`` without a request and
``absolute_timeout_s`` after the login, whichever comes first; a copy of the cookie is then
worthless. Login rotates the id (a session fixed by an attacker before the login is ended).
A visitor who is not logged in gets an id too, never stored, only to key the CSRF token of
the login form. The CSRF token is a keyed hash of the id (:func:`regmed.web.security.csrf_for`).

The login check takes the same time whatever the user name: an unknown or inactive user's
password is verified against a dummy scrypt hash, so timing does not tell names apart.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from typing import Any

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from regmed.errors import DataError, Problem
from regmed.registry import User, hash_password, verify_password
from regmed.registry.accounts import check_totp
from regmed.registry.web_models import WebSession
from regmed.web.security import client_address, csrf_for, new_csrf_token
from regmed.web.settings import WebSettings

__all__ = ["LoginRefused", "ReentryFailed", "TOTP_ROLES", "session_id", "csrf_token",
           "start_session", "open_session", "end_session", "login_user", "dummy_hash",
           "check_reentry", "keep_failure", "login_refusal"]

#: Roles that may add a TOTP second factor.
TOTP_ROLES = ("admin", "statistician")


class LoginRefused(Exception):
    """A refused login: ``status`` (401 or 429), ``detail`` and ``retry_after`` seconds."""

    def __init__(self, status: int, detail: str, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.retry_after = status, detail, retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after else {}


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def dummy_hash() -> str:
    """A scrypt hash of a random password (verified for unknown users: equal timing)."""
    return hash_password(new_csrf_token())


def session_id(request: Request) -> str:
    """The session id of the request's cookie (a fresh, unstored one for a new visitor)."""
    sid = request.session.get("sid")
    if not isinstance(sid, str) or not sid:
        sid = new_csrf_token()
        request.session.clear()
        request.session["sid"] = sid
    return sid


def csrf_token(request: Request) -> str:
    """The CSRF token forms and API writes must send for this session."""
    return csrf_for(request.app.state.settings.secret_key, session_id(request))


def start_session(request: Request, session: Session, user: User, settings: WebSettings
                  ) -> WebSession:
    """Start a new session for ``user`` under a new id (the previous id, if it was a live
    session, is ended: rotation at login)."""
    now = settings.clock()
    old = request.session.get("sid")
    if isinstance(old, str) and old:
        prev = session.execute(select(WebSession).where(
            WebSession.token_sha256 == _sha(old), WebSession.ended_at.is_(None))).scalar()
        if prev is not None:
            prev.ended_at, prev.end_reason = now, "replaced at login"
    token = new_csrf_token()
    row = WebSession(token_sha256=_sha(token), user_id=user.id, created_at=now, seen_at=now,
                     address=client_address(request, settings.trust_proxy))
    session.add(row)
    session.flush()
    request.session.clear()
    request.session["sid"] = token
    return row


def open_session(request: Request, session: Session, settings: WebSettings
                 ) -> tuple[WebSession, User] | None:
    """The live session of the request and its active user, or None (an ended, idle or
    expired session is ended in the database and dropped from the cookie)."""
    sid = request.session.get("sid")
    if not isinstance(sid, str) or not sid:
        return None
    row = session.execute(select(WebSession).where(WebSession.token_sha256 == _sha(sid))
                          ).scalar()
    if row is None or row.ended_at is not None:
        request.session.clear()
        return None
    now = settings.clock()
    reason = None
    if now - row.seen_at > settings.idle_timeout_s:
        reason = "idle"
    elif now - row.created_at > settings.absolute_timeout_s:
        reason = "expired"
    user = session.get(User, row.user_id)
    if reason is None and (user is None or not user.active):
        reason = "user inactive"
    if reason is not None:
        row.ended_at, row.end_reason = now, reason
        session.flush()
        request.session.clear()
        return None
    if now - row.seen_at >= 30:  # coarse: fewer writes; the idle limit holds within 30 s
        row.seen_at = now
        if request.method in ("GET", "HEAD"):
            session.commit()  # at once: a read must not hold SQLite's write lock to its end
    assert user is not None
    return row, user


def end_session(request: Request, session: Session, settings: WebSettings,
                reason: str = "logout") -> None:
    """End the request's session (logout) and drop the id from the cookie."""
    found = open_session(request, session, settings)
    if found is not None:
        found[0].ended_at, found[0].end_reason = settings.clock(), reason
        session.flush()
    request.session.clear()


def login_user(request: Request, session: Session, settings: WebSettings, username: str,
               password: str, otp: str | None = None) -> User:
    """Check a login (throttled; equal time for every user name; second factor when the user
    has one) and start a new session. Raises :class:`LoginRefused`; the caller must still
    commit, so that the recorded failure is kept."""
    throttle = request.app.state.throttle
    address = client_address(request, settings.trust_proxy)
    wait = throttle.wait(session, username, address)
    if wait > 0:
        raise LoginRefused(429, "too many failed logins from here; try again later",
                           retry_after=max(1, int(wait + 0.999)))
    user = session.execute(select(User).where(User.username == username)).scalar()
    usable = user is not None and user.active and bool(user.password_hash)
    stored = user.password_hash if usable and user is not None else None
    ok = verify_password(password, stored or request.app.state.dummy_hash) and usable
    if ok and user is not None:
        second = check_totp(session, user, otp, settings.clock())
        ok = second is not False
    if not ok or user is None:
        throttle.fail(session, username, address)
        raise LoginRefused(401, "wrong user name, password or one-time code")
    throttle.clear(session, username, address)
    start_session(request, session, user, settings)
    return user


class ReentryFailed(DataError):
    """The re-entered password or code is wrong (or throttled). The failure is recorded:
    the route must commit before answering (see :func:`keep_failure`)."""


def check_reentry(request: Request | None, session: Session, user: User, password: str,
                  otp: str | None, now: float, *, what: str, totp: bool = True) -> None:
    """Check a password (and second factor) re-entered to ``what`` (sign, change the
    password); failures are throttled and recorded like failed logins.

    Raises
    ------
    ReentryFailed
    """
    throttle = address = None
    if request is not None:
        throttle = request.app.state.throttle
        address = client_address(request, request.app.state.settings.trust_proxy)
        if throttle.wait(session, user.username, address) > 0:
            raise ReentryFailed(f"{what} refused", [Problem(
                "too many failed password entries; try again later", field="password")])
    ok = verify_password(password, user.password_hash)
    if ok and totp and check_totp(session, user, otp, now) is False:
        ok = False
    if ok:
        return
    if throttle is not None and address is not None:
        throttle.fail(session, user.username, address)
    raise ReentryFailed(f"{what} refused",
                        [Problem("the password (or one-time code) is wrong", field="password")])


@contextlib.contextmanager
def keep_failure(session: Session) -> Iterator[None]:
    """Commit the recorded failure of a :class:`ReentryFailed` before it propagates (the
    request's unit of work rolls back on errors)."""
    try:
        yield
    except ReentryFailed:
        session.commit()
        raise


def login_refusal(exc: LoginRefused) -> dict[str, Any]:
    """The JSON body of a refused login."""
    return {"detail": exc.detail, **({"retry_after": exc.retry_after} if exc.retry_after
                                      else {})}



