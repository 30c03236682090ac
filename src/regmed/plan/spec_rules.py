"""The missing-data rule and the interim design of a plan, as the engine runs them.

Part of the typed analysis contract (:mod:`regmed.plan.spec`): :func:`missing_rule` reads
``missing_data`` (the rule, and for multiple imputation the number of imputations, the seed and
the iterations), :func:`interim_design` reads ``sample_size.interim`` into a frozen
:class:`InterimSpec`. Each returns the problems it finds, with their key paths, so that
``regmed plan check`` / ``plan lock`` refuse what the engine would not run exactly.

The interim design is run at analysis as rpact's ``getAnalysisResults`` does (see
:mod:`regmed.evaluate.interim`): Lan-DeMets alpha spending (rpact's ``typeOfDesign = "asOF"`` or
``"asP"``), with optional non-binding beta-spending futility bounds (``bsOF``, ``bsP``). The
classical boundaries (``OF``, ``P``, ``WT``), Kim-DeMets and Hwang-Shih-DeCani spending (no
parameter in the plan) and ``noEarlyEfficacy`` are refused. A sample-size re-estimation is
accepted when the final analysis may use the conventional statistic with the planned
boundaries: ``promising_zone`` (Mehta and Pocock 2011: increases only in the promising zone do
not inflate the type I error) and ``blinded_variance`` (Kieser and Friede 2003); an
unblinded ``conditional_power`` rule or ``other`` would need a weighted (Cui-Hung-Wang)
statistic, which the engine does not run.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from regmed.errors import Problem
from regmed.plan.model import Plan

__all__ = ["InterimSpec", "MISSING_RULES", "interim_design", "missing_rule"]

#: ``missing_data.primary`` values the engine runs, and the endpoint kinds each applies to.
MISSING_RULES: dict[str, frozenset[str]] = {
    "complete_case": frozenset({"binary", "continuous", "survival"}),
    "non_responder": frozenset({"binary"}),
    "worst_case": frozenset({"binary"}),
    "multiple_imputation": frozenset({"binary", "continuous"}),
}

#: rpact ``typeOfDesign`` codes the engine runs → the spending family of ``regmed.design``.
SPENDING = {"asOF": "OF", "asP": "P"}
#: ``futility`` codes (rpact ``typeBetaSpending``) → the beta-spending family.
FUTILITY = {"bsOF": "OF", "bsP": "P"}
#: Re-estimation rules after which the conventional final analysis is valid.
REESTIMATION_OK = frozenset({"promising_zone", "blinded_variance"})


class InterimSpec(BaseModel):
    """The planned group-sequential design, as the evaluation applies it.

    Attributes
    ----------
    endpoint : str
        The endpoint the sample size (and so the interim design) is planned for.
    information_rates : tuple of float
        The planned information fractions of the looks (the last is 1).
    spending : str
        The plan's code as written (``asOF`` or ``asP``); ``design_spending`` the family passed
        to :func:`regmed.design.group_sequential` (``OF``, ``P``).
    futility : str or None
        The beta-spending family of non-binding futility bounds (``OF``, ``P``) or none.
    alpha, beta : float
        Total type I error and type II error (1 − power) of the sample-size assumptions.
    sided : int
        1 or 2.
    planned : int
        The planned maximum information: treated patients (binary, continuous endpoints) or
        events (survival); ``planned_unit`` says which.
    reestimation : str or None
        The re-estimation rule, when one is planned (the analysis is the conventional one).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    endpoint: str
    information_rates: tuple[float, ...]
    spending: str
    design_spending: Literal["OF", "P"]
    futility: Literal["OF", "P"] | None = None
    alpha: float
    beta: float
    sided: int
    planned: int
    planned_unit: Literal["treated_patients", "events"]
    reestimation: str | None = None

    @property
    def k_max(self) -> int:
        """The planned number of looks."""
        return len(self.information_rates)

    def look_sizes(self) -> list[int]:
        """The information (treated patients or events) at each planned interim look."""
        return [math.ceil(t * self.planned - 1e-9) for t in self.information_rates]


def missing_rule(plan: Plan) -> tuple[str, dict[str, Any], list[Problem]]:
    """The primary missing-data rule, its options and the problems found.

    Returns
    -------
    rule : str
        One of :data:`MISSING_RULES` (``complete_case`` when the plan says nothing).
    options : dict
        ``imputations``, ``imputation_seed``, ``imputation_iterations`` for multiple
        imputation (else empty).
    problems : list of Problem
    """
    md = plan.missing_data
    if md is None:
        return "complete_case", {}, []
    problems: list[Problem] = []
    if md.primary not in MISSING_RULES:
        what = ("inverse probability of censoring weighting is not run by the engine"
                if md.primary == "ipcw" else "an unspecified ('other') rule cannot be run")
        problems.append(Problem(f"{md.primary!r}: {what}; use complete_case, non_responder, "
                                "worst_case or multiple_imputation", field="missing_data.primary"))
        return "complete_case", {}, problems
    options: dict[str, Any] = {}
    if md.primary == "multiple_imputation":
        if md.imputations is None:
            problems.append(Problem("multiple_imputation needs the number of imputations",
                                    field="missing_data.imputations"))
        if md.seed is None:
            problems.append(Problem("multiple_imputation needs the seed of the imputations",
                                    field="missing_data.seed"))
        options = {"imputations": md.imputations, "imputation_seed": md.seed,
                   "imputation_iterations": md.iterations}
    else:
        for key in ("imputations", "seed"):
            if getattr(md, key) is not None:
                problems.append(Problem(f"{key} is an option of multiple_imputation; the rule "
                                        f"is {md.primary}", field=f"missing_data.{key}"))
    return md.primary, options, problems


def _planned(plan: Plan, kind: str) -> tuple[int | None, str, str]:
    ss = plan.sample_size
    assert ss is not None
    if kind == "survival":
        return ss.events, "events", "sample_size.events"
    return ss.n_treated, "treated_patients", "sample_size.n_treated"


def interim_design(plan: Plan) -> tuple[InterimSpec | None, list[Problem]]:
    """The plan's interim design as an :class:`InterimSpec`, or the problems that refuse it."""
    ss = plan.sample_size
    if ss is None or ss.interim is None:
        return None, []
    it = ss.interim
    problems: list[Problem] = []
    path = "sample_size.interim"
    if it.spending not in SPENDING:
        problems.append(Problem(
            f"spending {it.spending!r} is not run by the engine; use asOF (Lan-DeMets "
            "O'Brien-Fleming-type spending) or asP (Pocock-type spending)",
            field=f"{path}.spending"))
    if it.futility is not None and it.futility not in FUTILITY:
        problems.append(Problem(f"futility {it.futility!r} is not run by the engine; use bsOF "
                                "or bsP (non-binding beta spending) or none",
                                field=f"{path}.futility"))
    if it.reestimation is not None and it.reestimation.rule not in REESTIMATION_OK:
        problems.append(Problem(
            f"re-estimation rule {it.reestimation.rule!r} needs a weighted (Cui-Hung-Wang) "
            "final statistic, which the engine does not run; promising_zone and "
            "blinded_variance are analysed conventionally", field=f"{path}.reestimation.rule"))
    endpoint_id = ss.endpoint or next((e.id for e in plan.endpoints if e.role == "primary"), None)
    endpoint = next((e for e in plan.endpoints if e.id == endpoint_id), None)
    if endpoint is None:
        problems.append(Problem("the interim design needs the endpoint it is planned for",
                                field="sample_size.endpoint"))
        return None, problems
    planned, unit, where = _planned(plan, endpoint.kind)
    if planned is None:
        problems.append(Problem(f"an interim design for the {endpoint.kind} endpoint "
                                f"{endpoint.id} needs the planned number of events", field=where))
    a = ss.assumptions
    sided = int(getattr(a, "sided", 1) or 1)
    if it.futility is not None and sided == 2:
        problems.append(Problem("futility bounds are available for one-sided designs only",
                                field=f"{path}.futility"))
    if problems:
        return None, problems
    assert planned is not None
    return InterimSpec(
        endpoint=endpoint.id, information_rates=tuple(it.information_rates),
        spending=it.spending, design_spending=SPENDING[it.spending],  # type: ignore[arg-type]
        futility=FUTILITY.get(it.futility) if it.futility else None,  # type: ignore[arg-type]
        alpha=float(a.alpha), beta=round(1.0 - float(a.power), 12), sided=sided,
        planned=int(planned),
        planned_unit=unit,  # type: ignore[arg-type]
        reestimation=it.reestimation.rule if it.reestimation is not None else None,
    ), []
