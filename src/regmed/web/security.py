"""Login throttling, CSRF tokens and pseudonyms of user names."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import deque
from collections.abc import Callable
from threading import Lock

__all__ = ["LoginThrottle", "new_csrf_token", "same_token", "pseudonym_of"]


class LoginThrottle:
    """Counts failed logins per user name in a sliding window (one instance per app)."""

    def __init__(self, max_failures: int, window_s: float, clock: Callable[[], float]) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = Lock()

    def _recent(self, username: str) -> deque[float]:
        now = self.clock()
        q = self._failures.setdefault(username.lower(), deque())
        while q and now - q[0] >= self.window_s:
            q.popleft()
        return q

    def blocked(self, username: str) -> bool:
        """True when ``username`` has used up its failures in the current window."""
        with self._lock:
            return len(self._recent(username)) >= self.max_failures

    def fail(self, username: str) -> None:
        """Record a failed login of ``username``."""
        with self._lock:
            self._recent(username).append(self.clock())

    def clear(self, username: str) -> None:
        """Forget the failures of ``username`` (after a successful login)."""
        with self._lock:
            self._failures.pop(username.lower(), None)


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
