"""Fuzz run of the OpenAPI document with schemathesis: no operation answers a server error,
for any role. schemathesis is not part of the default environment, so this test is skipped
unless it is importable (run: PYTHONPATH=src:<dir with schemathesis> pytest -m slow ...)."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from .conftest import PASSWORD

with warnings.catch_warnings():  # schemathesis 3.x imports deprecated jsonschema names
    warnings.simplefilter("ignore", DeprecationWarning)
    schemathesis = pytest.importorskip("schemathesis")
hypothesis = pytest.importorskip("hypothesis")

pytestmark = [pytest.mark.slow,
              pytest.mark.filterwarnings("ignore::DeprecationWarning:schemathesis"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning:jsonschema"),
              # schemathesis' ASGI test client leaves anyio memory streams unclosed
              pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
              pytest.mark.filterwarnings("ignore::ResourceWarning")]


@pytest.mark.parametrize("role", ["anon", "inv1", "stat", "adj1", "reg", "admin"])
def test_no_server_error(app: Any, role: str) -> None:
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        headers: dict[str, str] = {}
        if role != "anon":
            r = c.post("/api/login", json={"username": role, "password": PASSWORD})
            headers = {"X-CSRF-Token": r.json()["csrf_token"]}
        cookie = c.cookies.get("regmed_session")
    schemathesis.experimental.OPEN_API_3_1.enable()  # FastAPI writes OpenAPI 3.1
    schema = schemathesis.from_asgi("/openapi.json", app)
    errors: list[str] = []
    for result in schema.get_all_operations():
        op = result.ok()
        if op.path in ("/api/logout", "/api/login"):
            continue

        @hypothesis.settings(max_examples=25, deadline=None, database=None,
                             suppress_health_check=list(hypothesis.HealthCheck))
        @hypothesis.given(case=op.as_strategy())
        def run(case: Any) -> None:
            cookies = {"regmed_session": cookie} if cookie else None
            response = case.call(headers={**(case.headers or {}), **headers}, cookies=cookies)
            if response.status_code >= 500:
                errors.append(f"{case.method} {case.formatted_path}: {response.status_code} "
                              f"{case.body!r} {response.text[:200]}")

        run()
    assert not errors, "\n".join(errors[:10])
