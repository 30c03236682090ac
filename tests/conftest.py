"""Shared test configuration.

Registry tests run on SQLite and on PostgreSQL (``REGMED_TEST_POSTGRES_URL``, default the
local server on 127.0.0.1:5432, database ``test``); `make test` makes sure that server answers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REFERENCE = Path(__file__).parent / "reference"
SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The folder of stored reference values (R scripts and their outputs)."""
    return REFERENCE


@pytest.fixture(autouse=True)
def audit_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """A fixed audit key in the environment (tests of key handling unset or change it)."""
    key = "audit-test-key-0123456789"
    monkeypatch.setenv("REGMED_AUDIT_KEY", key)
    monkeypatch.delenv("REGMED_AUDIT_KEY_FILE", raising=False)
    return key
