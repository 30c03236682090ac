"""regmed.plan — the evaluation plan as a checked, locked file.

The plan (YAML) follows the MHLW evaluation index for MSC products, section 6 items
(1)–(7): :func:`load_plan` validates it (one :class:`~regmed.errors.PlanError` listing every
problem with its key path), :func:`check_plan` tests it against every item and sub-point of
the index (and re-runs against :class:`DataFacts` from the data), :func:`plan_sha256` /
:func:`verify_lock` / :func:`require_locked` tie analyses to the locked text, and
:func:`render_plan` writes the bilingual plan document.

``regmed.plan`` imports ``regmed.errors`` and ``regmed.results``; it calls ``regmed.design``
(inside :func:`regmed.plan.checks_core.design_calculator` only) to recompute the stated
sample size — a deliberate, documented crossing.
"""

from __future__ import annotations

from pathlib import Path

from regmed.plan.check import check_plan
from regmed.plan.checks_core import RequiredSize, design_calculator
from regmed.plan.findings import FAILING, STATUSES, Checklist, DataFacts, Finding
from regmed.plan.load import key_path, load_plan, plan_to_yaml
from regmed.plan.lock import LockRecord, LockStatus, plan_sha256, require_locked, verify_lock
from regmed.plan.model import Plan
from regmed.plan.render import html_to_pdf, render_plan, write_plan_document
from regmed.plan.spec import AnalysisSpec, compile_specs, spec_problems
from regmed.plan.spec_rules import InterimSpec

__all__ = [
    "Plan",
    "AnalysisSpec",
    "InterimSpec",
    "compile_specs",
    "spec_problems",
    "load_plan",
    "plan_to_yaml",
    "key_path",
    "check_plan",
    "Checklist",
    "Finding",
    "DataFacts",
    "STATUSES",
    "FAILING",
    "RequiredSize",
    "design_calculator",
    "plan_sha256",
    "verify_lock",
    "require_locked",
    "LockRecord",
    "LockStatus",
    "render_plan",
    "write_plan_document",
    "html_to_pdf",
    "example_path",
]

_EXAMPLES = Path(__file__).parent / "examples"


def example_path(name: str = "sci_example") -> Path:
    """Path of a bundled example plan (``sci_example``, ``sci_extended``)."""
    path = _EXAMPLES / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in _EXAMPLES.glob("*.yaml"))
        from regmed.errors import PlanError

        raise PlanError(f"No example plan {name!r}; known: {', '.join(known)}")
    return path
