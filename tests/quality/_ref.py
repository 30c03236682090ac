"""Paths of the stored R reference values for regmed.quality."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REF = Path(__file__).parents[1] / "reference" / "quality"


def load(name: str) -> Any:
    return json.loads((REF / name).read_text())
