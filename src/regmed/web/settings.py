"""Settings of the web application (no module-level state; pass them to ``create_app``)."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from regmed.errors import RegmedError

__all__ = ["VisitWindow", "WebSettings"]


@dataclass(frozen=True)
class VisitWindow:
    """A scheduled visit: ``name``, target ``day`` after the index date, ``window`` (± days)."""

    name: str
    day: int
    window: int = 0


DEFAULT_VISITS = (VisitWindow("day49", 49, 14), VisitWindow("day180", 180, 30))


@dataclass(frozen=True)
class WebSettings:
    """What the app needs to run.

    Parameters
    ----------
    secret_key : str
        Signs the session cookie (at least 16 characters).
    database_url : str, optional
        The registry (default ``REGMED_DATABASE_URL`` or ``regmed.sqlite``).
    idle_timeout_s : int
        Seconds without a request after which the session ends.
    absolute_timeout_s : int
        Seconds after the login at which the session ends however it is used.
    throttle_window_s : int
        Failed logins are remembered this long (long enough that an attacker trying once
        per ``max_delay_s`` keeps the counts at the cap: at least
        ``max_delay_s · (free + log2(max_delay_s / base_delay_s))``).
    free_failures_per_account, free_failures_per_address : int
        Failed logins of one user name from one address, and from one address over all
        names, before growing delays apply (see :mod:`regmed.web.security`).
    base_delay_s, max_delay_s : float
        The first delay and its cap; each further failure doubles it.
    secure_cookies : bool
        Send the session cookie only over HTTPS (turn off only for local tests).
    trust_proxy : bool
        The app runs behind a reverse proxy that sets ``X-Forwarded-For`` and
        ``X-Forwarded-Proto``: the client's address and the scheme (HSTS) are taken from
        them. Off by default: a client could forge them.
    visits : tuple of VisitWindow
        The visit schedule when the registry holds no locked plan (with one, the plan's
        endpoint visits and windows are the schedule).
    plan_name : str, optional
        The locked plan the dashboard and the visit schedule follow (default: the plan
        locked last).
    enrollment_targets : dict
        ``{(site_code, cohort): target}`` shown on the dashboard.
    max_concurrent_writes : int
        Writing requests using the database at once on PostgreSQL (SQLite: always 1).
    pseudonym_key : bytes, optional
        The pseudonymization key (default: the registry's, see ``regmed.registry.load_key``).
    clock : callable
        Returns the current time in seconds (tests pass a fake clock).
    """

    secret_key: str
    database_url: str | None = None
    idle_timeout_s: int = 1800
    absolute_timeout_s: int = 12 * 3600
    throttle_window_s: int = 7200
    free_failures_per_account: int = 3
    free_failures_per_address: int = 10
    base_delay_s: float = 1.0
    max_delay_s: float = 300.0
    secure_cookies: bool = True
    trust_proxy: bool = False
    visits: tuple[VisitWindow, ...] = DEFAULT_VISITS
    enrollment_targets: dict[tuple[str, str], int] = field(default_factory=dict)
    max_concurrent_writes: int = 4
    plan_name: str | None = None
    pseudonym_key: bytes | None = None
    clock: Callable[[], float] = time.time

    def today(self) -> dt.date:
        """The app clock's date (UTC): the web's "today" for every rule (dates after it are
        in the future, due visits, adjudication dates)."""
        return dt.datetime.fromtimestamp(self.clock(), dt.UTC).date()

    def __post_init__(self) -> None:
        if len(self.secret_key or "") < 16:
            raise RegmedError("the web secret key must have at least 16 characters")

    @classmethod
    def from_env(cls, **overrides: object) -> WebSettings:
        """Settings from ``REGMED_WEB_SECRET_KEY``, ``REGMED_DATABASE_URL``,
        ``REGMED_WEB_IDLE_TIMEOUT`` (seconds), ``REGMED_WEB_INSECURE_COOKIES`` (``1``: send
        the session cookie over plain HTTP, local use only) and ``REGMED_WEB_TRUST_PROXY``
        (``1``: behind a reverse proxy that sets ``X-Forwarded-For``/``-Proto``), with keyword
        overrides."""
        values: dict[str, object] = {
            "secret_key": os.environ.get("REGMED_WEB_SECRET_KEY", ""),
            "database_url": os.environ.get("REGMED_DATABASE_URL"),
        }
        if os.environ.get("REGMED_WEB_IDLE_TIMEOUT"):
            values["idle_timeout_s"] = int(os.environ["REGMED_WEB_IDLE_TIMEOUT"])
        if os.environ.get("REGMED_WEB_INSECURE_COOKIES") == "1":
            values["secure_cookies"] = False
        if os.environ.get("REGMED_WEB_TRUST_PROXY") == "1":
            values["trust_proxy"] = True
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
