"""Fixtures of the report tests: the hand-written sample evaluation document."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from report_pagecheck import SAMPLE


@pytest.fixture(scope="session")
def _sample_doc() -> dict[str, Any]:
    with SAMPLE.open(encoding="utf-8") as fh:
        return json.load(fh)


@pytest.fixture
def sample_doc(_sample_doc: dict[str, Any]) -> dict[str, Any]:
    """A fresh deep copy of the sample document (tests may change it)."""
    return copy.deepcopy(_sample_doc)
