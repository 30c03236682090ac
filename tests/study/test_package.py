"""regmed.study imports only regmed.errors (DESIGN.md), and is reachable as regmed.study."""

from __future__ import annotations

import ast
from pathlib import Path

import regmed

STUDY = Path(regmed.__file__).parent / "study"


def test_study_imports_only_errors() -> None:
    seen = set()
    for path in STUDY.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                seen.add(node.module)
            elif isinstance(node, ast.Import):
                seen.update(a.name for a in node.names)
    ours = {m for m in seen if m == "regmed" or m.startswith("regmed.")}
    assert ours and all(m == "regmed.errors" or m.startswith("regmed.study") for m in ours), ours
    assert not {m for m in seen if m.split(".")[0] in ("sqlalchemy", "pandas", "numpy")}


def test_study_is_a_subpackage() -> None:
    assert regmed.study.validate_record is not None
