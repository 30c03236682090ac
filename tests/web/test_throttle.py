"""Login throttling over HTTP: growing delays per (user name, address) and per address, never
a lockout of the rightful user; equal time for known and unknown names; exact user names.

Client addresses are told apart through ``X-Forwarded-For`` on an app that trusts its proxy
(as behind a reverse proxy); without that setting the header is ignored."""

from __future__ import annotations

import dataclasses
import hashlib
import statistics
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

import regmed.registry as reg
from regmed.errors import DataError
from regmed.registry.accounts import authenticate
from regmed.web import WebSettings, create_app

from .conftest import PASSWORD, Clock

ATTACKER = {"X-Forwarded-For": "203.0.113.66"}
HOSPITAL = {"X-Forwarded-For": "198.51.100.7"}


def _proxied(app: Any, settings: WebSettings) -> Any:
    return create_app(dataclasses.replace(settings, trust_proxy=True), engine=app.state.engine)


def _try(c: TestClient, name: str, password: str, via: dict[str, str]) -> Any:
    return c.post("/api/login", json={"username": name, "password": password}, headers=via)


def test_rightful_user_logs_in_during_an_attack_on_the_account(
        app: Any, settings: WebSettings, clock: Clock) -> None:
    with TestClient(_proxied(app, settings)) as c:
        codes = []
        for i in range(40):
            codes.append(_try(c, "inv1", f"guess-{i}", ATTACKER).status_code)
            clock.now += 0.5
        assert codes[:3] == [401] * 3 and codes.count(429) >= 30  # the attack is slowed
        # even the right password is refused from the attacking address while it waits
        assert _try(c, "inv1", PASSWORD, ATTACKER).status_code == 429
        # the rightful user, from the hospital, is not delayed at all
        r = _try(c, "inv1", PASSWORD, HOSPITAL)
        assert r.status_code == 200, r.text


def test_delays_grow_and_are_capped(app: Any, settings: WebSettings, clock: Clock) -> None:
    with TestClient(_proxied(app, settings)) as c:
        waits = []
        for i in range(16):
            r = _try(c, "adj1", f"guess-{i}", ATTACKER)
            if r.status_code == 429:  # wait as told, then the next guess is checked
                waits.append(int(r.headers["retry-after"]))
                clock.now += waits[-1]
                r = _try(c, "adj1", f"guess-{i}", ATTACKER)
            else:
                waits.append(0)
            assert r.status_code == 401
        assert waits[:3] == [0, 0, 0] and waits[3:7] == [1, 2, 4, 8]
        assert max(waits) == 300 and waits[-1] == 300  # capped at five minutes
        # not a lockout: after the delay the right password works from the same address
        clock.now += 300
        assert _try(c, "adj1", PASSWORD, ATTACKER).status_code == 200


def test_password_spraying_over_twelve_names_is_slowed(
        app: Any, settings: WebSettings, clock: Clock) -> None:
    names = ["admin", "stat", "inv1", "inv2", "adj1", "adj2", "adj3", "reg", "mon", "root",
             "test", "guest"]
    with TestClient(_proxied(app, settings)) as c:
        codes = []
        for round_ in range(3):
            for name in names:
                codes.append(_try(c, name, f"Spring2026!{round_}", ATTACKER).status_code)
                clock.now += 0.2
        assert len(codes) == 36
        assert codes[:10] == [401] * 10
        assert codes.count(429) >= 20, codes
        # another address is not affected; the spraying address must wait
        assert _try(c, "reg", PASSWORD, HOSPITAL).status_code == 200
        r = _try(c, "reg", PASSWORD, ATTACKER)
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


def test_success_does_not_reset_the_spraying_count(
        app: Any, settings: WebSettings, clock: Clock) -> None:
    # an attacker who owns one account cannot wipe the address's failures by logging in
    with TestClient(_proxied(app, settings)) as c:
        for i in range(10):
            assert _try(c, f"user{i}", "x", ATTACKER).status_code == 401
        clock.now += 2
        assert _try(c, "adj2", PASSWORD, ATTACKER).status_code == 200
        assert _try(c, "user99", "x", ATTACKER).status_code == 401
        assert _try(c, "user98", "x", ATTACKER).status_code == 429


def test_user_names_are_exact(app: Any, settings: WebSettings, clock: Clock) -> None:
    with TestClient(_proxied(app, settings)) as c:
        for _ in range(5):
            _try(c, "INV1", "x", ATTACKER)
            clock.now += 0.1
        # failures on "INV1" do not delay "inv1", not even from the same address
        assert _try(c, "inv1", PASSWORD, ATTACKER).status_code == 200
        assert _try(c, "INV1", PASSWORD, HOSPITAL).status_code == 401  # not a user


def test_forwarded_for_is_ignored_without_a_trusted_proxy(client: TestClient) -> None:
    for i in range(3):
        _try(client, "inv1", "x", {"X-Forwarded-For": f"192.0.2.{i}"})
    # the header did not spread the failures over three addresses
    assert _try(client, "inv1", PASSWORD, HOSPITAL).status_code == 429


def _attempt_ms(c: TestClient, name: str) -> float:
    t0 = time.perf_counter()
    assert _try(c, name, "wrong password", {}).status_code == 401
    return (time.perf_counter() - t0) * 1000


def test_login_takes_as_long_for_unknown_names(
        app: Any, settings: WebSettings, clock: Clock) -> None:
    """Medians of 9 interleaved attempts per name (so that a load peak on a shared machine hits
    both alike); the work itself is compared exactly in the next test."""
    # generous free failures: only the password check is timed here
    quiet = dataclasses.replace(settings, free_failures_per_account=100,
                                free_failures_per_address=100)
    known: list[float] = []
    unknown: list[float] = []
    with TestClient(create_app(quiet, engine=app.state.engine)) as c:
        _attempt_ms(c, "stat"), _attempt_ms(c, "no-such-user")  # warm up
        for _ in range(9):
            known.append(_attempt_ms(c, "stat"))
            unknown.append(_attempt_ms(c, "no-such-user"))
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.5 < ratio < 2.0, (known, unknown)


def test_every_user_name_costs_the_same_password_hash_work(
        app: Any, settings: WebSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The password check of a known name, an unknown one and an inactive user runs the same
    scrypt derivation (same cost parameters, salt and key length), over HTTP and in the
    command line's sign-in (``plan lock --user``)."""
    calls: list[tuple[Any, ...]] = []
    real = hashlib.scrypt

    def counted(password: bytes, *, salt: bytes, n: int, r: int, p: int, dklen: int,
                **kw: Any) -> bytes:
        calls.append((n, r, p, len(salt), dklen))
        return real(password, salt=salt, n=n, r=r, p=p, dklen=dklen, **kw)

    quiet = dataclasses.replace(settings, free_failures_per_account=100,
                                free_failures_per_address=100)
    with reg.session_scope(app.state.engine) as s:
        u = s.execute(select(reg.User).where(reg.User.username == "inv2")).scalar_one()
        u.active = False
    work: dict[str, list[tuple[Any, ...]]] = {}
    with TestClient(create_app(quiet, engine=app.state.engine)) as c:
        monkeypatch.setattr(hashlib, "scrypt", counted)
        for name in ("stat", "no-such-user", "inv2", "STAT"):
            calls.clear()
            assert _try(c, name, "wrong password", {}).status_code == 401
            work[name] = list(calls)
        for name in ("stat", "no-such-user", "inv2"):
            calls.clear()
            with reg.session_scope(app.state.engine) as s, pytest.raises(DataError):
                authenticate(s, name, "wrong password")
            work[f"cli:{name}"] = list(calls)
    assert work["stat"] == [(2**14, 8, 1, 16, 32)]
    assert all(w == work["stat"] for w in work.values()), work
