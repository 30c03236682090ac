"""The attack list of issue 16, scripted: what a hostile (or careless) user with one
legitimate account tries, and what each attempt gets.

:func:`run_attacks` drives a seeded app (``conftest.seed``: S01/P1 treated, S02/Q1 control,
the lots of ``test_custody``) through FastAPI's ``TestClient`` — the same requests a browser or
a script would send — and returns one :class:`Outcome` per attack: the status codes it got and
whether the rule held. ``tests/web/test_attacks.py`` runs it on SQLite and PostgreSQL with one
round; ``benchmarks/attacks.py`` runs it with enough rounds for about 3,000 requests and prints
the table. Login attempts come from told-apart client addresses (``X-Forwarded-For`` to an app
that trusts its proxy), so the attacker's failures and the rightful user's logins are kept
apart as they would be behind a reverse proxy.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import os
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

import regmed.registry as reg
from regmed.errors import DataError
from regmed.web import create_app

from .conftest import PASSWORD, SECRETS

__all__ = ["Outcome", "run_attacks", "ATTACKS"]

ATTACKER = "203.0.113.66"
HOSPITAL = "198.51.100.7"
#: What S01's investigator must never read: S02's lots and their release dates.
ELSEWHERE = ("LOT-004", "LOT-007", "2025-12-14", "2025-12-15", "Kyushu")
#: What an adjudicator must never read (cohort, product, lot, site, treating physician).
BLINDED = SECRETS
GIVEN = {"administered_on": "2026-01-21", "dose": 1.0, "dose_unit": "1e8 cells",
         "route": "intravenous"}


@dataclass
class Outcome:
    """One attack: what was tried, the rule that must hold, the answers and whether it held."""

    attack: str
    expected: str
    statuses: Counter[str] = field(default_factory=Counter)
    held: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        """HTTP requests sent (imports and commands are counted as one each)."""
        return sum(self.statuses.values())

    def line(self) -> str:
        """``attack: held|BROKEN — status×count, ...`` for the printed list."""
        got = ", ".join(f"{k}×{v}" for k, v in sorted(self.statuses.items()))
        note = f" ({'; '.join(self.notes)})" if self.notes else ""
        return f"{self.attack}: {'held' if self.held else 'BROKEN'} — {got}{note}"


class _Run:
    """Sends requests for the attacks and records the answers."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.outcomes: dict[str, Outcome] = {}
        self.current: Outcome | None = None

    def start(self, attack: str, expected: str) -> Outcome:
        self.current = self.outcomes.setdefault(attack, Outcome(attack, expected))
        return self.current

    def send(self, c: TestClient, method: str, url: str, **kw: Any) -> Any:
        assert self.current is not None
        kw.setdefault("follow_redirects", False)
        r = c.request(method, url, **kw)
        self.current.statuses[str(r.status_code)] += 1
        return r

    def expect(self, ok: bool, note: str) -> None:
        assert self.current is not None
        if not ok:
            self.current.held = False
            self.current.notes.append(note)

    def login(self, c: TestClient, who: str, password: str = PASSWORD,
              address: str | None = None) -> Any:
        headers = {"X-Forwarded-For": address} if address else {}
        return self.send(c, "POST", "/api/login", headers=headers,
                         json={"username": who, "password": password})

    def headers(self, c: TestClient, who: str) -> dict[str, str]:
        r = self.login(c, who)
        self.expect(r.status_code == 200, f"{who} could not log in ({r.status_code})")
        return {"X-CSRF-Token": r.json().get("csrf_token", "")}


def _ids(app: Any) -> dict[str, int]:
    with Session(app.state.engine, join_transaction_mode="create_savepoint") as s:
        def one(q: Any) -> int:
            return int(s.execute(q).scalar_one())
        return {
            "p1": one(select(reg.Patient.id).join(reg.Site).where(reg.Site.site_code == "S01")
                      .order_by(reg.Patient.id).limit(1)),
            "q1": one(select(reg.Patient.id).join(reg.Site).where(reg.Site.site_code == "S02")
                      .order_by(reg.Patient.id).limit(1)),
            "a1": one(select(reg.Assessment.id).where(
                reg.Assessment.assessment_ref == "S01-P1-d49")),
            "a2": one(select(reg.Assessment.id).where(
                reg.Assessment.assessment_ref == "S02-Q1-d49")),
            "g1": one(select(reg.AdjudicationAssignment.id)
                      .join(reg.User, reg.User.id == reg.AdjudicationAssignment.user_id)
                      .where(reg.User.username == "adj1")),
            "max": one(select(func.max(reg.Patient.id))),
        }


def _stolen_cookie(run: _Run, ids: dict[str, int], rounds: int) -> None:
    run.start("copied cookie after logout", "401 for the copy after logout")
    with TestClient(run.app) as stat:
        h = run.headers(stat, "stat")
        r = run.send(stat, "POST", "/api/queries", headers=h, json={
            "table": "assessments", "record_id": ids["a1"], "field": "value_text",
            "question": "source document?"})
        qid = r.json().get("id")
    for _ in range(rounds):
        with TestClient(run.app) as victim, TestClient(run.app) as thief:
            h = run.headers(victim, "inv1")
            thief.cookies.set("regmed_session", victim.cookies["regmed_session"])
            run.expect(run.send(thief, "GET", "/api/me").status_code == 200,
                       "the copy did not work before logout (test setup)")
            run.send(victim, "POST", "/api/logout", headers=h)
            for method, url, body in (("GET", "/api/me", None),
                                      ("POST", f"/api/queries/{qid}/answer",
                                       {"answer": "forged"}),
                                      ("GET", f"/api/patients/{ids['p1']}", None)):
                r = run.send(thief, method, url, headers=h, json=body)
                run.expect(r.status_code == 401, f"{method} {url} answered {r.status_code}")
            r = run.send(thief, "GET", "/patients")
            run.expect(r.status_code == 303, f"/patients answered {r.status_code}")


def _csrf(run: _Run, ids: dict[str, int], rounds: int) -> None:
    run.start("CSRF", "403 without the session's token")
    with TestClient(run.app) as c:
        good = run.headers(c, "inv1")
        for i in range(rounds * 5):
            for token in ({}, {"X-CSRF-Token": "forged"}, {"X-CSRF-Token": good[
                    "X-CSRF-Token"][::-1]}):
                r = run.send(c, "POST", f"/api/patients/{ids['p1']}/adverse-events",
                             headers=token, json={"term": f"csrf {i}", "onset_on": "2026-02-01",
                                                  "serious": False, "outcome": "recovered"})
                run.expect(r.status_code == 403, f"API write answered {r.status_code}")
            r = run.send(c, "POST", f"/patients/{ids['p1']}/adverse-events",
                         data={"term": "csrf form", "onset_on": "2026-02-01"})
            run.expect(r.status_code == 403, f"form write answered {r.status_code}")
        page = run.send(c, "GET", f"/patients/{ids['p1']}").text
        run.expect("csrf " not in page, "a forged write reached the record")


def _site_isolation(run: _Run, ids: dict[str, int], rounds: int) -> None:
    run.start("site isolation (S01 reaches S02)", "404 for every id not of S01, as for none")
    with TestClient(run.app) as c:
        h = run.headers(c, "inv1")
        scan = [i for i in range(1, ids["max"] + 10 * rounds + 1) if i != ids["p1"]]
        for pid in scan:
            for method, url, body in (
                    ("GET", f"/api/patients/{pid}", None),
                    ("GET", f"/patients/{pid}", None),
                    ("GET", f"/api/patients/{pid}/lots", None),
                    ("POST", f"/api/patients/{pid}/assessments", {
                        "endpoint": "ais_grade", "visit": "day49", "assessed_on": "2026-02-18",
                        "value_text": "A", "assessor": "x", "assessor_role": "blinded_independent",
                        "blinded": True}),
                    ("PUT", f"/api/patients/{pid}/follow-up", {
                        "last_contact_on": "2026-02-01", "status": "alive"})):
                r = run.send(c, method, url, headers=h, json=body)
                run.expect(r.status_code == 404, f"{method} {url} answered {r.status_code}")
        r = run.send(c, "PATCH", f"/api/assessments/{ids['a2']}", headers=h,
                     json={"changes": {"value_text": "E"}, "reason": "x"})
        run.expect(r.status_code == 404, f"PATCH of S02's assessment answered {r.status_code}")
        listed = run.send(c, "GET", "/api/patients").json()
        run.expect({p["site_code"] for p in listed} == {"S01"}, "another site listed")


def _lot_leak(run: _Run, ids: dict[str, int], rounds: int) -> None:
    run.start("lot list leak", "only S01's lots of the patient's own donor; nothing of S02")
    with TestClient(run.app) as c:
        run.headers(c, "inv1")
        for _ in range(rounds * 5):
            lots = run.send(c, "GET", f"/api/patients/{ids['p1']}/lots").text
            page = run.send(c, "GET", f"/patients/{ids['p1']}").text
            for leak in ELSEWHERE:
                run.expect(leak not in lots and leak not in page, f"{leak} leaked")
            r = run.send(c, "GET", f"/api/patients/{ids['q1']}/lots")
            run.expect(r.status_code == 404, f"S02's lot list answered {r.status_code}")


def _given(app: Any) -> int:
    with Session(app.state.engine, join_transaction_mode="create_savepoint") as s:
        return int(s.scalar(select(func.count()).select_from(reg.Administration)) or 0)


def _wrong_lot(run: _Run, ids: dict[str, int], rounds: int) -> None:
    """LOT-005 (another S01 donor's), LOT-007 (P1's, but at S02), LOT-004 (S02's), none."""
    run.start("wrong autologous lot (web, API, import)", "422 / refused; nothing written")
    before = _given(run.app)
    with TestClient(run.app) as c:
        h = run.headers(c, "inv1")
        page = f"/patients/{ids['p1']}"
        for _ in range(rounds):
            for code in ("LOT-005", "LOT-007", "LOT-004", "LOT-999", "lot-001", "LOT-001 "):
                r = run.send(c, "POST", f"/api/patients/{ids['p1']}/administrations",
                             headers=h, json={**GIVEN, "lot_code": code})
                run.expect(r.status_code == 422, f"API {code} answered {r.status_code}")
                form = {**GIVEN, "dose": "1.0", "lot_code": code,
                        "csrf_token": h["X-CSRF-Token"]}
                r = run.send(c, "POST", f"{page}/administrations", data=form)
                run.expect(r.status_code == 422, f"form {code} answered {r.status_code}")
    for code in ("LOT-005", "LOT-007"):  # `regmed import` runs import_tables
        row = {"site_code": "S01", "patient_ref": "P1", "lot_code": code, **GIVEN}
        with Session(run.app.state.engine, join_transaction_mode="create_savepoint") as s:
            try:
                reg.import_tables(s, {"administrations": pd.DataFrame([row])}, actor="inv1",
                                  key=run.app.state.settings.pseudonym_key)
                s.commit()
                run.current.statuses["import accepted"] += 1  # type: ignore[union-attr]
                run.expect(False, f"import of {code} accepted")
            except DataError as exc:
                s.rollback()
                run.current.statuses["import refused"] += 1  # type: ignore[union-attr]
                run.expect(any(p.field == "lot_code" for p in exc.problems), str(exc))
    run.expect(_given(run.app) == before, "an administration was written")


def _spraying(run: _Run, rounds: int) -> None:
    run.start("password spraying over 12 names", "slowed: 429 with Retry-After")
    proxied = create_app(dataclasses.replace(run.app.state.settings, trust_proxy=True),
                         engine=run.app.state.engine)
    names = ["admin", "stat", "inv1", "inv2", "adj1", "adj2", "adj3", "reg", "mon",
             "root", "test", "guest"]
    with TestClient(proxied) as c:
        codes = []
        for i in range(3 * rounds):
            for name in names:
                r = run.login(c, name, f"Spring2026!{i}", address=ATTACKER)
                codes.append(r.status_code)
                if r.status_code == 429:
                    run.expect(int(r.headers.get("retry-after", "0")) > 0, "no Retry-After")
        run.expect(codes.count(429) >= len(codes) // 2, f"only {codes.count(429)} slowed")
        run.expect(set(codes) <= {401, 429}, f"answers {sorted(set(codes))}")


def _lockout(run: _Run, rounds: int) -> None:
    run.start("lockout of the rightful user", "attacker slowed (429); inv1 logs in (200)")
    proxied = create_app(dataclasses.replace(run.app.state.settings, trust_proxy=True),
                         engine=run.app.state.engine)
    with TestClient(proxied) as attacker, TestClient(proxied) as hospital:
        for i in range(30 * rounds):
            run.login(attacker, "inv1", f"guess {i}", address=f"203.0.113.{10 + i % 5}")
            r = run.login(attacker, "INV1", f"guess {i}", address=ATTACKER)
            run.expect(r.status_code in (401, 429), f"INV1 answered {r.status_code}")
        r = run.login(hospital, "inv1", address=HOSPITAL)
        run.expect(r.status_code == 200, f"the rightful user got {r.status_code}")


def _non_finite(run: _Run, ids: dict[str, int], rounds: int) -> None:
    run.start("1e999 and other non-finite numbers", "422, never 500")
    with TestClient(run.app) as c:
        h = {**run.headers(c, "inv1"), "content-type": "application/json"}
        for _ in range(rounds):
            for number in ("1e999", "-1e999", "NaN", "Infinity"):
                for method, url, body in (
                        ("POST", f"/api/patients/{ids['p1']}/assessments",
                         '{"endpoint": "ais_grade", "visit": "day180", "assessed_on": '
                         '"2026-06-30", "value": N, "assessor": "x", "assessor_role": '
                         '"blinded_independent", "blinded": true}'),
                        ("PATCH", f"/api/assessments/{ids['a1']}",
                         '{"changes": {"value": N}, "reason": "typo"}')):
                    r = run.send(c, method, url, headers=h, content=body.replace("N", number))
                    run.expect(r.status_code == 422, f"{number} answered {r.status_code}")


def _openapi(run: _Run, rounds: int) -> None:
    run.start("/openapi.json and /docs", "303 to login without a session; 403 for inv1")
    for _ in range(rounds):
        with TestClient(run.app) as c:
            for path in ("/openapi.json", "/docs", "/redoc"):
                r = run.send(c, "GET", path)
                run.expect(r.status_code in (303, 401, 404), f"{path} answered {r.status_code}")
            run.headers(c, "inv1")
            for path in ("/openapi.json", "/docs"):
                r = run.send(c, "GET", path)
                run.expect(r.status_code == 403, f"{path} for inv1 answered {r.status_code}")


def _headers(run: _Run, rounds: int) -> None:
    run.start("security headers", "CSP, Referrer-Policy, nosniff; HSTS behind TLS only")
    for _ in range(rounds):
        with TestClient(run.app) as c, TestClient(run.app, base_url="https://testserver") as t:
            r = run.send(c, "GET", "/login")
            csp = r.headers.get("content-security-policy", "")
            run.expect("default-src 'none'" in csp and "frame-ancestors 'none'" in csp, csp)
            run.expect(r.headers.get("referrer-policy") == "same-origin", "Referrer-Policy")
            run.expect(r.headers.get("x-content-type-options") == "nosniff", "nosniff")
            run.expect("strict-transport-security" not in r.headers, "HSTS over HTTP")
            r = run.send(t, "GET", "/login")
            run.expect("max-age=" in r.headers.get("strict-transport-security", ""), "no HSTS")


def _blinded(run: _Run, ids: dict[str, int], rounds: int) -> None:
    run.start("blinded reviewer's views and errors", "nothing of site, cohort, value, date")
    future = dt.date.today() + dt.timedelta(days=400)
    with Session(run.app.state.engine, join_transaction_mode="create_savepoint") as s:
        old = s.get(reg.Assessment, ids["a1"]).assessed_on  # type: ignore[union-attr]
        s.execute(update(reg.Assessment).where(reg.Assessment.id == ids["a1"])
                  .values(assessed_on=future))
        s.commit()
    try:
        with TestClient(run.app) as c:
            h = run.headers(c, "adj1")
            for _ in range(rounds):
                for method, url, body in (
                        ("GET", "/api/adjudications", None),
                        ("GET", f"/api/adjudications/{ids['g1']}", None),
                        ("GET", "/adjudication", None),
                        ("POST", f"/api/adjudications/{ids['g1']}/verdict",
                         {"value_text": "C", "reason": "source_clear"})):
                    r = run.send(c, method, url, headers=h, json=body)
                    text = html.unescape(r.text)
                    leaks = [*BLINDED, future.isoformat(), str(future.year)]
                    if url.startswith("/api/"):  # the site's value is no key of the views
                        leaks += ['"value_text":', '"value":']
                    if method == "POST":  # the refusal says not why the event is not ready
                        leaks += ["ahead", "future", "before", "after", "date"]
                    for leak in leaks:
                        run.expect(leak not in text, f"{url} shows {leak!r}")
                for url in ("/api/patients", f"/api/patients/{ids['p1']}",
                            f"/api/adjudications/{ids['g1'] + 1}"):
                    r = run.send(c, "GET", url)
                    run.expect(r.status_code in (403, 404), f"{url} answered {r.status_code}")
    finally:
        with Session(run.app.state.engine, join_transaction_mode="create_savepoint") as s:
            s.execute(update(reg.Assessment).where(reg.Assessment.id == ids["a1"])
                      .values(assessed_on=old))
            s.commit()


def _escaping_and_read_only(run: _Run, ids: dict[str, int], rounds: int) -> None:
    run.start("stored markup; regulator writes", "markup escaped; 403 for the regulator")
    with TestClient(run.app) as c:
        h = run.headers(c, "inv1")
        r = run.send(c, "POST", f"/api/patients/{ids['p1']}/adverse-events", headers=h,
                     json={"term": "<script>alert(1)</script>", "onset_on": "2026-02-01",
                           "serious": False, "outcome": "recovered"})
        run.expect(r.status_code == 201, f"the adverse event answered {r.status_code}")
        page = run.send(c, "GET", f"/patients/{ids['p1']}").text
        run.expect("<script>alert(1)" not in page, "markup rendered unescaped")
        h = run.headers(c, "reg")
        for _ in range(rounds):
            r = run.send(c, "POST", f"/api/patients/{ids['p1']}/assessments", headers=h,
                         json={"endpoint": "ais_grade", "visit": "day49"})
            run.expect(r.status_code in (403, 422), f"regulator write answered {r.status_code}")
            r = run.send(c, "POST", "/api/users", headers=h, json={
                "username": "evil", "role": "admin", "password": "a long enough one"})
            run.expect(r.status_code == 403, f"regulator user creation {r.status_code}")


def _serve_check(run: _Run) -> None:
    run.start("serve --check in an empty folder", "refused, and no file created")
    with tempfile.TemporaryDirectory() as folder:
        env = {k: v for k, v in os.environ.items() if k != "REGMED_DATABASE_URL"}
        env["REGMED_WEB_SECRET_KEY"] = "attack-secret-0123456789"
        src = str(Path(__file__).resolve().parents[2] / "src")
        env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
        p = subprocess.run([sys.executable, "-m", "regmed", "serve", "--check"], cwd=folder,
                           env=env, capture_output=True, text=True, timeout=120)
        assert run.current is not None
        run.current.statuses[f"exit {p.returncode}"] += 1
        run.expect(p.returncode != 0 and "Traceback" not in p.stderr
                   and "regmed init" in p.stderr, p.stderr[-200:])
        run.expect(list(Path(folder).iterdir()) == [], "a file was created")


#: The attacks in the order they run (the login attacks last: they fill the throttle).
ATTACKS: tuple[Callable[..., None], ...] = (
    _stolen_cookie, _csrf, _site_isolation, _lot_leak, _wrong_lot, _non_finite, _blinded,
    _escaping_and_read_only)


def run_attacks(app: Any, *, rounds: int = 1, cli: bool = False) -> list[Outcome]:
    """Run every attack ``rounds`` times against ``app`` (seeded as ``conftest.seed``).

    ``cli`` also runs ``regmed serve --check`` in an empty folder (a subprocess).
    """
    run = _Run(app)
    ids = _ids(app)
    for attack in ATTACKS:
        attack(run, ids, rounds)
    _openapi(run, rounds)
    _headers(run, rounds)
    _spraying(run, rounds)
    _lockout(run, rounds)
    if cli:
        _serve_check(run)
    return list(run.outcomes.values())
