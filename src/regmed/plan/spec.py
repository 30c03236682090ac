"""The typed analysis contract: a locked plan compiled into frozen analysis specifications.

:func:`compile_specs` turns a :class:`~regmed.plan.model.Plan` into one
:class:`AnalysisSpec` per analysed endpoint × control source (each control the plan lists,
and all of them pooled when there are several; a single-arm spec when there is no control).
The enums below list **only what the engine runs**; every plan value outside them is refused
with its key path (``controls[1].adjustment.method``), so a plan that passes
``regmed plan check`` / ``regmed plan lock`` is analysed exactly as written. The evaluation
takes these specs, never the plan, and stores each one beside its result.

Enabling a method later is one entry in the engine's dispatch table
(``regmed.evaluate.comparison.RUNNERS``) plus removing it from :data:`NOT_IMPLEMENTED`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from regmed.errors import PlanError, Problem
from regmed.plan.checks_controls import effective_adjustment
from regmed.plan.model import Adjustment, Plan

__all__ = [
    "AnalysisSpec",
    "Method",
    "Estimand",
    "MissingRule",
    "Measure",
    "ControlSource",
    "NOT_IMPLEMENTED",
    "COHORT_OF_CONTROL",
    "compile_specs",
    "spec_problems",
]

#: The enrollment cohort that holds each kind of control named in a plan.
COHORT_OF_CONTROL = {
    "concurrent": "concurrent_control",
    "external": "external_control",
    "historical": "historical_control",
}


class Method(StrEnum):
    """Adjustment methods the engine runs (``none``: the plan names no adjustment)."""

    propensity_matching = "propensity_matching"
    propensity_weighting = "propensity_weighting"
    none = "none"


class Estimand(StrEnum):
    ATT = "ATT"
    ATE = "ATE"
    ATO = "ATO"


class MissingRule(StrEnum):
    """``missing_data.primary`` rules the engine runs."""

    complete_case = "complete_case"
    non_responder = "non_responder"


class Measure(StrEnum):
    """Effect measures the engine estimates and judges."""

    risk_difference = "risk_difference"
    risk_ratio = "risk_ratio"
    odds_ratio = "odds_ratio"
    mean_difference = "mean_difference"
    hazard_ratio = "hazard_ratio"
    rmst_difference = "rmst_difference"


class ControlSource(StrEnum):
    concurrent = "concurrent"
    external = "external"
    historical = "historical"
    pooled = "pooled"
    none = "none"


#: Plan values that the schema accepts but the engine does not run yet, by kind.
NOT_IMPLEMENTED: dict[str, frozenset[str]] = {
    "method": frozenset({"exact_matching", "propensity_stratification", "propensity_covariate",
                         "covariate_adjustment"}),
    "missing_data": frozenset({"multiple_imputation", "worst_case", "ipcw", "other"}),
    "measure": frozenset({"proportion", "mean", "median_survival"}),
}

#: Measures an endpoint kind's effect provides; the first is the default.
MEASURES_OF_KIND: dict[str, tuple[Measure, ...]] = {
    "binary": (Measure.risk_difference, Measure.risk_ratio, Measure.odds_ratio),
    "continuous": (Measure.mean_difference,),
    "survival": (Measure.hazard_ratio, Measure.rmst_difference),
}

#: Estimands each method estimates.
ESTIMANDS_OF_METHOD: dict[Method, frozenset[Estimand]] = {
    Method.propensity_matching: frozenset({Estimand.ATT}),
    Method.propensity_weighting: frozenset({Estimand.ATT, Estimand.ATE, Estimand.ATO}),
    Method.none: frozenset({Estimand.ATE}),
}


class AnalysisSpec(BaseModel):
    """One analysis exactly as the engine will run it.

    Attributes
    ----------
    endpoint, endpoint_kind, role : str
        The endpoint's id, kind (binary, continuous, survival) and role.
    control_source : ControlSource
        ``concurrent``, ``external``, ``historical``, ``pooled`` or ``none`` (single arm).
    control_cohorts : tuple of str
        The enrollment cohorts that form the control group.
    method : Method
        The plan's adjustment method as written (``none`` when the plan names none).
    estimand : Estimand
        ATT for matching; ATT, ATE or ATO for weighting (ATE for an unadjusted comparison).
    confidence_level : float
        From the endpoint's achievement criterion (0.95 without one).
    missing_data : MissingRule
        The plan's ``missing_data.primary`` for primary endpoints (complete case when the plan
        says nothing); secondary endpoints are analysed as complete cases.
    covariates : tuple of str
        The propensity-model covariates, exactly as entered in the model.
    caliper, caliper_scale, ratio, replace : matching options (MatchIt's meanings).
    n_subclasses : int or None
        Propensity stratification only (none is run today).
    interim : dict or None
        The planned interim design (none is run today).
    measure : Measure
        The effect measure the verdict uses.
    threshold, direction, ci_lower_above, ci_upper_below : the performance goal.
    source : str
        The key path the adjustment is stated at.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    endpoint: str
    endpoint_kind: str
    role: str
    control_source: ControlSource
    control_cohorts: tuple[str, ...]
    method: Method
    estimand: Estimand
    confidence_level: Annotated[float, Field(gt=0.5, lt=1.0)]
    missing_data: MissingRule
    covariates: tuple[str, ...]
    caliper: float | None = None
    caliper_scale: str = "logit"
    ratio: int = 1
    replace: bool = False
    n_subclasses: int | None = None
    interim: dict[str, Any] | None = None
    measure: Measure
    threshold: float | None = None
    direction: str | None = None
    ci_lower_above: float | None = None
    ci_upper_below: float | None = None
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (stored as ``spec`` in every analysis of the document)."""
        return self.model_dump(mode="json")

    @property
    def label(self) -> str:
        """``<endpoint>__<control_source>``: the analysis' file name stem."""
        return f"{self.endpoint}__{self.control_source.value}"


def _effective(plan: Plan, index: int) -> tuple[Adjustment | None, str]:
    adj, where = effective_adjustment(plan, index)
    return adj, where.replace(" (shared)", "")


def _adjustment_problems(adj: Adjustment, path: str) -> list[Problem]:
    out: list[Problem] = []
    if adj.method in NOT_IMPLEMENTED["method"]:
        out.append(Problem(f"{adj.method!r} is not implemented in the engine yet; use "
                           "propensity_matching or propensity_weighting",
                           field=f"{path}.method"))
        return out
    method = Method(adj.method)
    estimand = Estimand(adj.estimand or "ATT")
    if estimand not in ESTIMANDS_OF_METHOD[method]:
        allowed = ", ".join(sorted(e.value for e in ESTIMANDS_OF_METHOD[method]))
        out.append(Problem(f"{method.value} estimates {allowed}, not {estimand.value}",
                           field=f"{path}.estimand"))
    if not adj.covariates:
        out.append(Problem(f"{method.value} needs at least one covariate for the propensity "
                           "model", field=f"{path}.covariates"))
    if method is Method.propensity_weighting:
        for key in ("caliper", "ratio"):
            if getattr(adj, key) is not None:
                out.append(Problem(f"{key} is a matching option; propensity_weighting does "
                                   "not use it", field=f"{path}.{key}"))
    return out


def _criteria(plan: Plan, endpoint_id: str, kind: str) -> tuple[list[Problem], dict[str, Any]]:
    """The performance goal of an endpoint (its first criterion) and the problems found."""
    out: list[Problem] = []
    goal: dict[str, Any] = {"measure": MEASURES_OF_KIND[kind][0], "confidence_level": 0.95}
    seen_level: float | None = None
    first = True
    for j, c in enumerate(plan.achievement_criteria):
        if c.endpoint != endpoint_id:
            continue
        path = f"achievement_criteria[{j}]"
        if c.measure in NOT_IMPLEMENTED["measure"]:
            out.append(Problem(f"the single-arm measure {c.measure!r} is not implemented in "
                               "the engine yet", field=f"{path}.measure"))
            continue
        if Measure(c.measure) not in MEASURES_OF_KIND[kind]:
            allowed = ", ".join(m.value for m in MEASURES_OF_KIND[kind])
            out.append(Problem(f"a {kind} endpoint gives {allowed}, not {c.measure}",
                               field=f"{path}.measure"))
            continue
        if seen_level is not None and c.confidence_level != seen_level:
            out.append(Problem(f"confidence level {c.confidence_level} differs from the "
                               f"{seen_level} of this endpoint's first criterion",
                               field=f"{path}.confidence_level"))
        seen_level = c.confidence_level if seen_level is None else seen_level
        if first:
            goal = {"measure": Measure(c.measure), "confidence_level": c.confidence_level,
                    "threshold": c.threshold, "direction": c.direction,
                    "ci_lower_above": c.ci_lower_above, "ci_upper_below": c.ci_upper_below}
            first = False
    return out, goal


def _sources(plan: Plan) -> list[tuple[ControlSource, tuple[str, ...], int | None]]:
    sources: list[tuple[ControlSource, tuple[str, ...], int | None]] = [
        (ControlSource(c.kind), (COHORT_OF_CONTROL[c.kind],), i)
        for i, c in enumerate(plan.controls)]
    if len(plan.controls) > 1:
        sources.append((ControlSource.pooled,
                        tuple(sorted({COHORT_OF_CONTROL[c.kind] for c in plan.controls})), 0))
    return sources


def _compile(plan: Plan) -> tuple[list[AnalysisSpec], list[Problem]]:
    problems: list[Problem] = []
    missing = MissingRule.complete_case
    if plan.missing_data is not None:
        if plan.missing_data.primary in NOT_IMPLEMENTED["missing_data"]:
            problems.append(Problem(f"{plan.missing_data.primary!r} is not implemented in the "
                                    "engine yet; use complete_case or non_responder",
                                    field="missing_data.primary"))
        else:
            missing = MissingRule(plan.missing_data.primary)
    if plan.sample_size is not None and plan.sample_size.interim is not None:
        problems.append(Problem("interim (group-sequential) analyses are not implemented in "
                                "the engine yet; the evaluation would use the fixed-design "
                                "interval", field="sample_size.interim"))
    checked: set[str] = set()
    for i in range(len(plan.controls)):
        adj, where = _effective(plan, i)
        if adj is not None and where not in checked:
            checked.add(where)
            problems += _adjustment_problems(adj, where)
    specs: list[AnalysisSpec] = []
    for k, endpoint in enumerate(plan.endpoints):
        if endpoint.role == "exploratory":
            continue
        found, goal = _criteria(plan, endpoint.id, endpoint.kind)
        problems += found
        rule = missing if endpoint.role == "primary" else MissingRule.complete_case
        if rule is MissingRule.non_responder and endpoint.kind != "binary":
            problems.append(Problem(f"non_responder imputation needs a binary endpoint; "
                                    f"endpoints[{k}] ({endpoint.id}) is {endpoint.kind}",
                                    field="missing_data.primary"))
        if not plan.controls:
            problems.append(Problem(f"endpoint {endpoint.id}: a single-arm analysis needs a "
                                    "single-arm measure (proportion, mean, median_survival), "
                                    "which the engine does not implement yet", field="controls"))
            continue
        for source, cohorts, index in _sources(plan):
            adj, where = _effective(plan, index or 0)
            if adj is not None and adj.method in NOT_IMPLEMENTED["method"]:
                continue  # refused above
            if adj is None:
                method, estimand = Method.none, Estimand.ATE
            else:
                method = Method(adj.method)
                estimand = Estimand(adj.estimand or "ATT")
            specs.append(AnalysisSpec(
                endpoint=endpoint.id, endpoint_kind=endpoint.kind, role=endpoint.role,
                control_source=source, control_cohorts=cohorts, method=method,
                estimand=estimand if method is not Method.none else Estimand.ATE,
                confidence_level=goal["confidence_level"], missing_data=rule,
                covariates=tuple(adj.covariates) if adj is not None else (),
                caliper=adj.caliper if adj is not None else None,
                ratio=(adj.ratio or 1) if adj is not None else 1,
                measure=goal["measure"], threshold=goal.get("threshold"),
                direction=goal.get("direction"), ci_lower_above=goal.get("ci_lower_above"),
                ci_upper_below=goal.get("ci_upper_below"), source=where,
            ))
    return specs, problems


def spec_problems(plan: Plan) -> list[Problem]:
    """Every plan value the engine would not run exactly, each with its key path."""
    return _compile(plan)[1]


def compile_specs(plan: Plan, *, file: str | None = None) -> tuple[AnalysisSpec, ...]:
    """Compile a plan into its analysis specifications, or refuse it.

    Parameters
    ----------
    plan : Plan
        A validated plan.
    file : str, optional
        Named in the problems.

    Returns
    -------
    tuple of AnalysisSpec
        One per primary/secondary endpoint × control source (the plan's order; pooled last).

    Raises
    ------
    PlanError
        Listing every value the engine does not run, with its key path.

    Examples
    --------
    >>> from regmed.plan import example_path, load_plan
    >>> specs = compile_specs(load_plan(example_path("sci_example")))  # doctest: +SKIP
    >>> specs[0].method  # doctest: +SKIP
    <Method.propensity_matching: 'propensity_matching'>
    """
    specs, problems = _compile(plan)
    if problems:
        if file:
            problems = [Problem(p.message, file=file, field=p.field) for p in problems]
        raise PlanError("the plan asks for analyses the engine does not run exactly",
                        problems)
    return tuple(specs)
