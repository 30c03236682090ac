"""Fixtures: every web test runs on SQLite and on PostgreSQL.

Each backend gets one migrated registry per test session (PostgreSQL: a schema of its own on
``REGMED_TEST_POSTGRES_URL``, dropped at the end), seeded with two sites, a product, users of
every role and one patient per site. Each test gets an app bound to a connection whose outer
transaction is rolled back afterwards, so tests do not see each other's writes.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text

import regmed.registry as reg
from regmed.web import WebSettings, create_app
from regmed.web.adjudication import assign

PG_URL = os.environ.get(
    "REGMED_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
KEY = b"web-test-key-0123456789"
PASSWORD = "correct horse battery"
USERS = {
    "admin": ("admin", None),
    "stat": ("statistician", None),
    "inv1": ("investigator", "S01"),
    "inv2": ("investigator", "S02"),
    "adj1": ("adjudicator", None),
    "adj2": ("adjudicator", None),
    "adj3": ("adjudicator", None),
    "reg": ("regulator", None),
    "mon": ("monitor", None),
}
#: Words that must never reach an adjudicator (cohort, product, lot, site, treating physician).
SECRETS = ("treated", "concurrent_control", "PROD-X", "Stemcell", "LOT-0", "S01", "S02",
           "Hokkaido", "Kyushu", "Dr. Treating", "treating_physician",
           # and their labels on the pages (English, Japanese)
           "concurrent control", "treating physician", "治療群", "同時対照", "主治医")


class Clock:
    """A settable clock (seconds)."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 3, 1, tzinfo=dt.UTC).timestamp()

    def __call__(self) -> float:
        return self.now


def seed(engine: Engine) -> None:
    """Sites, product, lot, users and one treated / one control patient with assessments."""
    t = {
        "sites": [{"site_code": "S01", "name": "Hokkaido Univ"},
                  {"site_code": "S02", "name": "Kyushu Univ"}],
        "products": [{"product_code": "PROD-X", "name": "Stemcell", "type": "autologous",
                      "approval_kind": "conditional"}],
        "indications": [{"indication_code": "SCI", "product_code": "PROD-X",
                         "name": "spinal cord injury"}],
        "donors": [{"donor_code": d} for d in ("D-P1", "D-Q1", "D-P9")],
        "lots": [{"lot_code": code, "product_code": "PROD-X", "donor_code": donor,
                  "process_version": "v1", "manufactured_on": "2025-12-01",
                  "released_on": released, "status": status}
                 for code, donor, released, status in [
                     ("LOT-001", "D-P1", "2025-12-10", "released"),
                     ("LOT-002", "D-P1", "2026-01-20", "released_oos"),
                     ("LOT-003", "D-P1", None, "quarantined"),
                     ("LOT-004", "D-Q1", "2025-12-14", "released"),  # Q1's, at S02
                     ("LOT-005", "D-P9", "2025-12-12", "released"),  # another S01 donor's
                     ("LOT-007", "D-P1", "2025-12-15", "released")]],  # P1's, sent to S02
        # custody: every lot but LOT-007 reaches its donor's site (LOT-007 went to S02)
        "shipments": [{"shipment_code": f"SH-{code}", "lot_code": code, "site_code": site,
                       "shipped_on": on, "received_on": on}
                      for code, site, on in [
                          ("LOT-001", "S01", "2025-12-11"), ("LOT-002", "S01", "2026-01-20"),
                          ("LOT-003", "S01", "2025-12-02"), ("LOT-004", "S02", "2025-12-16"),
                          ("LOT-005", "S01", "2025-12-13"), ("LOT-007", "S02", "2025-12-16")]],
        "patients": [{"site_code": "S01", "patient_ref": "P1", "sex": "F", "birth_year": 1970,
                      "donor_code": "D-P1"},
                     {"site_code": "S02", "patient_ref": "Q1", "sex": "M", "birth_year": 1980,
                      "donor_code": "D-Q1"}],
        "enrollments": [
            {"site_code": "S01", "patient_ref": "P1", "indication_code": "SCI",
             "cohort": "treated", "direction": "prospective", "index_on": "2026-01-01",
             "enrolled_on": "2026-01-05"},
            {"site_code": "S02", "patient_ref": "Q1", "indication_code": "SCI",
             "cohort": "concurrent_control", "direction": "prospective",
             "index_on": "2026-01-02", "enrolled_on": "2026-01-06"}],
        "administrations": [{"site_code": "S01", "patient_ref": "P1", "lot_code": "LOT-001",
                             "administered_on": "2026-01-06", "dose": 1.0, "dose_unit": "1e8",
                             "route": "intravenous"}],
        "assessments": [
            {"assessment_ref": "S01-P1-d49", "site_code": "S01", "patient_ref": "P1",
             "endpoint": "ais_grade", "visit": "day49", "assessed_on": "2026-02-19",
             "value_text": "C", "assessor": "Dr. Treating", "assessor_role":
             "treating_physician", "blinded": False},
            {"assessment_ref": "S02-Q1-d49", "site_code": "S02", "patient_ref": "Q1",
             "endpoint": "ais_grade", "visit": "day49", "assessed_on": "2026-02-20",
             "value_text": "B", "assessor": "Dr. Treating", "assessor_role":
             "treating_physician", "blinded": False}],
    }
    with reg.session_scope(engine) as s:
        reg.import_tables(s, {k: pd.DataFrame(v) for k, v in t.items()}, actor="seed", key=KEY)
        for name, (role, site) in USERS.items():
            reg.add_user(name, role, session=s, actor="seed", site_code=site, password=PASSWORD)
        admin = s.execute(select(reg.User).where(reg.User.username == "admin")).scalar_one()
        for ref, reviewers in (("S01-P1-d49", ["adj1", "adj2"]), ("S02-Q1-d49", ["adj2", "adj3"])):
            a = s.execute(select(reg.Assessment).where(reg.Assessment.assessment_ref == ref))
            assign(s, admin, a.scalar_one().id, reviewers)


class _Backends:
    def __init__(self, tmp: pytest.TempPathFactory) -> None:
        self.tmp = tmp
        self.engines: dict[str, Engine] = {}
        self.schemas: list[str] = []
        self.admin: Engine | None = None

    def engine(self, backend: str) -> Engine:
        if backend not in self.engines:
            if backend == "sqlite":
                url = f"sqlite:///{self.tmp.mktemp('web') / 'web.sqlite'}"
            else:
                self.admin = self.admin or reg.make_engine(PG_URL)
                schema = f"regmed_test_{uuid.uuid4().hex[:12]}"
                with self.admin.begin() as conn:
                    conn.execute(text(f'CREATE SCHEMA "{schema}"'))
                self.schemas.append(schema)
                sep = "&" if "?" in PG_URL else "?"
                url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
            engine = reg.make_engine(url)
            reg.upgrade(engine)
            seed(engine)
            self.engines[backend] = engine
        return self.engines[backend]

    def close(self) -> None:
        for e in self.engines.values():
            e.dispose()
        if self.admin is not None:
            for schema in self.schemas:
                with self.admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            self.admin.dispose()


@pytest.fixture
def screenshots(request: pytest.FixtureRequest) -> Any:
    """Folder for a browser test's screenshots, kept after the run as test artifacts:
    ``$REGMED_TEST_ARTIFACTS`` (default ``test-artifacts/`` in the repository) / web / test."""
    from pathlib import Path

    root = Path(os.environ.get("REGMED_TEST_ARTIFACTS")
                or Path(__file__).resolve().parents[2] / "test-artifacts")
    folder = root / "web" / request.node.name
    if folder.exists():
        for old in folder.glob("*.png"):
            old.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Backends]:
    b = _Backends(tmp_path_factory)
    try:
        yield b
    finally:
        b.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(clock: Clock) -> WebSettings:
    return WebSettings(
        secret_key="web-test-secret-0123456789", secure_cookies=False, pseudonym_key=KEY,
        clock=clock, enrollment_targets={("S01", "treated"): 10, ("S02", "concurrent_control"): 10},
    )


@pytest.fixture
def app(backends: _Backends, backend: str, settings: WebSettings) -> Iterator[Any]:
    """The app on a connection whose transaction is rolled back after the test."""
    conn = backends.engine(backend).connect()
    outer = conn.begin()
    try:
        yield create_app(settings, engine=conn)
    finally:
        outer.rollback()
        conn.close()


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    """A client that prefers English (the app's default is Japanese; see test_i18n.py)."""
    with TestClient(app, headers={"Accept-Language": "en"}) as c:
        yield c


def login(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Log in through the API; returns the headers (CSRF token) for writes."""
    r = client.post("/api/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"X-CSRF-Token": r.json()["csrf_token"]}


def patient_id(client: TestClient, site: str, headers: dict[str, str]) -> int:
    """The id of the seeded patient of ``site`` (seen as the statistician sees it)."""
    ids = [p["id"] for p in client.get("/api/patients").json() if p["site_code"] == site]
    assert len(ids) == 1
    return int(ids[0])


def lockable_example_text() -> str:
    """The extended example plan as shipped (the engine runs all of it, its interim too)."""
    from regmed.plan import example_path

    return example_path("sci_extended").read_text(encoding="utf-8")
