"""``check_plan``: the plan against every item and sub-point of the evaluation index.

References
----------
MHLW (2024). Evaluation index for conditional and time-limited approval of human MSC-processed
products and the subsequent efficacy evaluation plan (``seeds/000``), section 6 (1)–(7).
"""

from __future__ import annotations

from regmed.plan.checks_controls import check_items_6_and_7
from regmed.plan.checks_core import SampleSizeCalculator, check_items_1_to_5, design_calculator
from regmed.plan.findings import Checklist, DataFacts
from regmed.plan.model import Plan

__all__ = ["check_plan"]


def check_plan(
    plan: Plan,
    facts: DataFacts | None = None,
    *,
    sample_size_calculator: SampleSizeCalculator | None = None,
) -> Checklist:
    """Check an evaluation plan (and optionally the collected data) against the index.

    Parameters
    ----------
    plan : Plan
        A validated plan (:func:`regmed.plan.load_plan`).
    facts : DataFacts, optional
        What the collected data show (actual control periods, counts per cohort, share of
        blinded assessments, …). The checks that can use them run again and add findings
        with ``source="data"``.
    sample_size_calculator : callable, optional
        ``f(method, assumptions) -> RequiredSize`` used to recompute the stated sample size.
        Defaults to :func:`regmed.plan.checks_core.design_calculator`, which calls
        ``regmed.design.sample_size_<method>``.

    Returns
    -------
    Checklist
        Frozen; ``checklist.ok`` is true when nothing is ``missing`` or ``not_met``.

    Examples
    --------
    >>> from regmed.plan import check_plan, load_plan, example_path
    >>> checklist = check_plan(load_plan(example_path("sci_example")))  # doctest: +SKIP
    >>> checklist.ok  # doctest: +SKIP
    True

    References
    ----------
    MHLW (2024). Evaluation index for MSC products, section 6 (1)–(7).
    """
    calc = sample_size_calculator or design_calculator
    findings = [*check_items_1_to_5(plan, facts, calc), *check_items_6_and_7(plan, facts)]
    findings.sort(key=lambda f: (f.item, f.source == "data"))  # stable: index order kept
    from regmed.plan.lock import plan_sha256

    options = {
        "plan_sha256": plan_sha256(plan),
        "facts": facts is not None,
        "sample_size_calculator": getattr(calc, "__qualname__", type(calc).__name__),
    }
    return Checklist(findings=tuple(findings), options=options)
