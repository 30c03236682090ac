"""The rooms of DESIGN.md and who may import whom (as scanpy's package-structure test keeps
its own): every ``import regmed.X`` of every module, at any depth (a lazy import inside a
function counts), is checked against the table."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "regmed"
BASE = {"errors", "results"}
SCIENCE = {"design", "evidence", "quality", "singlecell"}
#: DESIGN.md's table: the regmed packages each package may import (besides itself and BASE).
MAY_IMPORT: dict[str, set[str]] = {
    "plan": {"design"},  # plan check recomputes a sample size (checks_core.py, deliberate)
    "design": set(),
    "evidence": {"design"},
    "quality": {"evidence"},
    "singlecell": set(),
    "study": set(),
    "registry": {"plan", "study"},
    "document": set(),
    "evaluate": SCIENCE | {"plan", "document"},
    "report": {"document"} | SCIENCE,  # the science packages' result types
    "demo": set(),
    "app": SCIENCE | {"plan", "study", "registry", "document", "evaluate", "report", "demo"},
    "web": {"app", "registry", "study", "report"},
    "cli": SCIENCE | {"app", "plan", "study", "registry", "document", "evaluate", "report",
                      "demo", "web"},
}


def _type_only(tree: ast.AST) -> set[int]:
    """The ids of the nodes under ``if TYPE_CHECKING:`` (annotations, not dependencies)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            out |= {id(n) for b in node.body for n in ast.walk(b)}
    return out


def _imports(path: Path) -> set[str]:
    found = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_only(tree)
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "regmed" and len(parts) > 1 and (SRC / parts[1]).is_dir():
                found.add(parts[1])
    return found


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_a_package_imports_only_what_design_allows(package: str) -> None:
    allowed = MAY_IMPORT[package] | BASE | {package}
    bad = {}
    for path in sorted((SRC / package).rglob("*.py")):
        extra = _imports(path) - allowed
        if extra:
            bad[str(path.relative_to(SRC))] = sorted(extra)
    assert bad == {}


def test_every_package_is_in_the_table() -> None:
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages == set(MAY_IMPORT)
