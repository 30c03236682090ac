"""Login throttling, the client's address, CSRF tokens and pseudonyms of user names.

Throttling (OWASP's "credential stuffing" and "password spraying" advice; NIST SP 800-63B
§5.2.2 rate limiting) is a growing *delay*, never a lockout of the account:

* per (user name, client address): after ``free_per_account`` failures within the window the
  next try from that address for that name must wait ``base · 2^(n − free)`` seconds after
  the last failure, up to ``max_delay_s``;
* per client address, whatever the user names tried: the same after ``free_per_address``
  failures (password spraying: 36 tries over 12 names from one address are slowed).

A throttled try is answered 429 with ``Retry-After`` *before* the password is checked, so the
delay cannot be used to test passwords faster. The rightful user, logging in from another
address, is never delayed by an attack on their account; a success clears only the failures
of that (name, address) pair, not the address's count (an attacker who owns one account
cannot reset the spraying counter by logging in to it). User names are case-sensitive in the
registry, so failures are counted per name exactly as typed (``INV1`` is not ``inv1``).
Failures live in the database (``login_failures``) so that every worker process sees them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from regmed.registry.web_models import LoginFailure

__all__ = ["LoginThrottle", "client_address", "https_request", "new_csrf_token",
           "same_token", "pseudonym_of", "csrf_for"]


@dataclass(frozen=True)
class LoginThrottle:
    """Growing delays after failed logins, per (name, address) and per address."""

    window_s: float
    free_per_account: int
    free_per_address: int
    base_delay_s: float
    max_delay_s: float
    clock: Callable[[], float]

    @staticmethod
    def _name(username: str) -> str:
        return username[:128]

    def _delay(self, n: int, free: int) -> float:
        if n < free:
            return 0.0
        return float(min(self.base_delay_s * 2.0 ** min(n - free, 30), self.max_delay_s))

    def wait(self, session: Session, username: str, address: str) -> float:
        """Seconds until ``username`` may try again from ``address`` (0: now)."""
        now = self.clock()
        since = now - self.window_s
        recent = LoginFailure.failed_at > since
        pair_n, pair_last = session.execute(
            select(func.count(), func.max(LoginFailure.failed_at)).where(
                LoginFailure.username == self._name(username),
                LoginFailure.address == address, recent)).one()
        addr_n, addr_last = session.execute(
            select(func.count(), func.max(LoginFailure.failed_at)).where(
                LoginFailure.address == address, recent)).one()
        waits = [0.0]
        if pair_last is not None:
            waits.append(float(pair_last) + self._delay(int(pair_n), self.free_per_account)
                         - now)
        if addr_last is not None:
            waits.append(float(addr_last) + self._delay(int(addr_n), self.free_per_address)
                         - now)
        return max(waits)

    def fail(self, session: Session, username: str, address: str) -> None:
        """Record a failed login (and forget every failure outside the window, so that
        guessed user names do not pile up)."""
        now = self.clock()
        session.execute(delete(LoginFailure).where(LoginFailure.failed_at <= now - self.window_s))
        session.add(LoginFailure(username=self._name(username), address=address, failed_at=now))
        session.flush()

    def clear(self, session: Session, username: str, address: str) -> None:
        """Forget the failures of ``username`` from ``address`` (after a successful login)."""
        session.execute(delete(LoginFailure).where(
            LoginFailure.username == self._name(username), LoginFailure.address == address))


def client_address(request: Request, trust_proxy: bool) -> str:
    """The client's address: the TCP peer, or behind a trusted reverse proxy the last
    address the proxy appended to ``X-Forwarded-For`` (earlier entries are the client's
    own claims and can be forged)."""
    if trust_proxy:
        forwarded = request.headers.get("x-forwarded-for", "")
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if hops:
            return hops[-1][:64]
    return (request.client.host if request.client else "unknown")[:64]


def https_request(scheme: str, forwarded_proto: str | None, trust_proxy: bool) -> bool:
    """True when the request came over TLS (directly, or to a trusted proxy that says so)."""
    if scheme in ("https", "wss"):
        return True
    return trust_proxy and (forwarded_proto or "").split(",")[0].strip().lower() == "https"


def new_csrf_token() -> str:
    """A fresh random token (session ids)."""
    return secrets.token_urlsafe(32)


def csrf_for(secret: str, sid: str) -> str:
    """The CSRF token of the session with id ``sid`` (a keyed hash: it changes when the id
    is rotated at login)."""
    return hmac.new(secret.encode(), f"csrf:{sid}".encode(), hashlib.sha256).hexdigest()


def same_token(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two tokens (False when either is missing)."""
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


def pseudonym_of(secret: str, name: str) -> str:
    """A stable pseudonym of a user name (``user-`` + 10 hex of a keyed hash)."""
    digest = hmac.new(secret.encode(), name.encode(), hashlib.sha256).hexdigest()
    return f"user-{digest[:10]}"
