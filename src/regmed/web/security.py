"""Login throttling, CSRF tokens and pseudonyms of user names."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from regmed.registry.web_models import LoginFailure

__all__ = ["LoginThrottle", "new_csrf_token", "same_token", "pseudonym_of"]


class LoginThrottle:
    """Counts failed logins per user name in a sliding window, in the database
    (``login_failures``), so that every worker process of the app sees the same count."""

    def __init__(self, max_failures: int, window_s: float, clock: Callable[[], float]) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock

    @staticmethod
    def _name(username: str) -> str:
        return username.lower()[:128]

    def blocked(self, session: Session, username: str) -> bool:
        """True when ``username`` has used up its failures in the current window."""
        since = self.clock() - self.window_s
        n = session.execute(
            select(func.count()).select_from(LoginFailure).where(
                LoginFailure.username == self._name(username), LoginFailure.failed_at > since)
        ).scalar_one()
        return int(n) >= self.max_failures

    def fail(self, session: Session, username: str) -> None:
        """Record a failed login of ``username`` (and forget every failure outside the window,
        so that guessed user names do not pile up)."""
        now = self.clock()
        session.execute(delete(LoginFailure).where(LoginFailure.failed_at <= now - self.window_s))
        session.add(LoginFailure(username=self._name(username), failed_at=now))
        session.flush()

    def clear(self, session: Session, username: str) -> None:
        """Forget the failures of ``username`` (after a successful login)."""
        session.execute(delete(LoginFailure).where(
            LoginFailure.username == self._name(username)))


def new_csrf_token() -> str:
    """A fresh random CSRF token."""
    return secrets.token_urlsafe(32)


def same_token(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two tokens (False when either is missing)."""
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


def pseudonym_of(secret: str, name: str) -> str:
    """A stable pseudonym of a user name (``user-`` + 10 hex of a keyed hash)."""
    digest = hmac.new(secret.encode(), name.encode(), hashlib.sha256).hexdigest()
    return f"user-{digest[:10]}"
