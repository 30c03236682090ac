"""Fixtures of the plan tests: the example plan, a way to plant defects, the calculator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from regmed.plan import Checklist, DataFacts, check_plan, example_path, load_plan
from regmed.plan.checks_core import design_calculator

from .refcalc import rates_calculator


def _design_ready() -> bool:
    try:
        from regmed import design
    except ImportError:
        return False
    return hasattr(design, "sample_size_rates")


#: The real regmed.design once merged; until then the rpact-checked stand-in.
CALCULATOR = design_calculator if _design_ready() else rates_calculator


@pytest.fixture
def calculator():
    return CALCULATOR


@pytest.fixture
def use_calculator(monkeypatch):
    """Make the default calculator (used by the CLI) the one above."""
    import regmed.plan.check as check_module

    monkeypatch.setattr(check_module, "design_calculator", CALCULATOR)


@pytest.fixture
def example_text() -> str:
    return example_path("sci_example").read_text(encoding="utf-8")


@pytest.fixture
def example_data(example_text) -> dict[str, Any]:
    from regmed.plan.load import _PlanLoader

    return yaml.load(example_text, Loader=_PlanLoader)  # noqa: S506


@pytest.fixture
def run_check(example_data) -> Callable[..., Checklist]:
    """``run_check(mutate, facts=None)``: plant a defect in a copy of the example, check it."""
    import copy

    def run(mutate: Callable[[dict[str, Any]], Any] | None = None, facts: DataFacts | None = None):
        data = copy.deepcopy(example_data)
        if mutate is not None:
            mutate(data)
        plan = load_plan(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
        return check_plan(plan, facts, sample_size_calculator=CALCULATOR)

    return run


@pytest.fixture
def write_plan(tmp_path) -> Callable[[str], Path]:
    def write(text: str, name: str = "plan.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
