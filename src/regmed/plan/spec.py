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
A plan without controls compiles to single-arm specs (``control_source`` ``none``) judged
with the single-arm measure of the endpoint's kind against the performance goal.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from regmed.errors import PlanError, Problem
from regmed.plan.checks_controls import effective_adjustment
from regmed.plan.model import Adjustment, Plan
from regmed.plan.spec_rules import MISSING_RULES, InterimSpec, interim_design, missing_rule

__all__ = [
    "AnalysisSpec",
    "InterimSpec",
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
    exact_matching = "exact_matching"
    propensity_stratification = "propensity_stratification"
    propensity_covariate = "propensity_covariate"
    covariate_adjustment = "covariate_adjustment"
    none = "none"


class Estimand(StrEnum):
    ATT = "ATT"
    ATE = "ATE"
    ATO = "ATO"


class MissingRule(StrEnum):
    """``missing_data.primary`` rules the engine runs."""

    complete_case = "complete_case"
    non_responder = "non_responder"
    worst_case = "worst_case"
    multiple_imputation = "multiple_imputation"


class Measure(StrEnum):
    """Effect measures the engine estimates and judges."""

    risk_difference = "risk_difference"
    risk_ratio = "risk_ratio"
    odds_ratio = "odds_ratio"
    mean_difference = "mean_difference"
    hazard_ratio = "hazard_ratio"
    rmst_difference = "rmst_difference"
    proportion = "proportion"
    mean = "mean"
    median_survival = "median_survival"


class ControlSource(StrEnum):
    concurrent = "concurrent"
    external = "external"
    historical = "historical"
    pooled = "pooled"
    none = "none"


#: Plan values that the schema accepts but the engine does not run yet, by kind.
NOT_IMPLEMENTED: dict[str, frozenset[str]] = {
    "method": frozenset(),
    "missing_data": frozenset({"ipcw", "other"}),
    "measure": frozenset(),
}

#: Measures an endpoint kind's effect provides; the first is the default.
MEASURES_OF_KIND: dict[str, tuple[Measure, ...]] = {
    "binary": (Measure.risk_difference, Measure.risk_ratio, Measure.odds_ratio),
    "continuous": (Measure.mean_difference,),
    "survival": (Measure.hazard_ratio, Measure.rmst_difference),
}

#: The single-arm measure of each endpoint kind (a plan without controls).
SINGLE_ARM_MEASURE: dict[str, Measure] = {
    "binary": Measure.proportion,
    "continuous": Measure.mean,
    "survival": Measure.median_survival,
}

#: Estimands each method estimates (MatchIt's subclass weights for exact matching and
#: stratification; g-computation over the treated or everyone for the regression methods).
ESTIMANDS_OF_METHOD: dict[Method, frozenset[Estimand]] = {
    Method.propensity_matching: frozenset({Estimand.ATT}),
    Method.propensity_weighting: frozenset({Estimand.ATT, Estimand.ATE, Estimand.ATO}),
    Method.exact_matching: frozenset({Estimand.ATT, Estimand.ATE}),
    Method.propensity_stratification: frozenset({Estimand.ATT, Estimand.ATE}),
    Method.propensity_covariate: frozenset({Estimand.ATT, Estimand.ATE}),
    Method.covariate_adjustment: frozenset({Estimand.ATT, Estimand.ATE}),
    Method.none: frozenset({Estimand.ATE}),
}

#: The options (keys of ``controls[i].adjustment``) each method uses; any other is refused.
OPTIONS_OF_METHOD: dict[Method, frozenset[str]] = {
    Method.propensity_matching: frozenset({"caliper", "ratio"}),
    Method.propensity_stratification: frozenset({"subclasses"}),
}

#: Regression methods: the marginal effect by g-computation, built for these endpoint kinds
#: (a marginal hazard ratio or RMST difference by g-computation is not built).
GCOMP_METHODS = frozenset({Method.propensity_covariate, Method.covariate_adjustment})
GCOMP_KINDS = frozenset({"binary", "continuous"})

#: Default number of propensity-score subclasses (MatchIt's ``subclass = 5``).
DEFAULT_SUBCLASSES = 5


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
    estimand : Estimand or None
        ATT for nearest-neighbour matching; ATT, ATE or ATO for weighting; ATT or ATE for
        exact matching, stratification and the regression methods (ATE for an unadjusted
        comparison; ``None`` for a single arm).
    confidence_level : float
        From the endpoint's achievement criterion (0.95 without one).
    missing_data : MissingRule
        The plan's ``missing_data.primary`` for primary endpoints (complete case when the plan
        says nothing); secondary endpoints are analysed as complete cases.
    imputations, imputation_seed, imputation_iterations : int or None
        Multiple imputation only: the number of imputed data sets, their seed and the cycles
        of the chained equations (``missing_data.imputations``, ``seed``, ``iterations``).
    covariates : tuple of str
        The propensity-model covariates, exactly as entered in the model.
    caliper, caliper_scale, ratio, replace : matching options (MatchIt's meanings).
    n_subclasses : int or None
        Propensity stratification only: the plan's ``subclasses`` (default 5).
    interim : InterimSpec or None
        The planned group-sequential design, on the specs of the endpoint it is planned for
        (primary role); the evaluation applies it with the stage-wise data of each look.
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
    estimand: Estimand | None
    confidence_level: Annotated[float, Field(gt=0.5, lt=1.0)]
    missing_data: MissingRule
    imputations: int | None = None
    imputation_seed: int | None = None
    imputation_iterations: int | None = None
    covariates: tuple[str, ...]
    caliper: float | None = None
    caliper_scale: str = "logit"
    ratio: int = 1
    replace: bool = False
    n_subclasses: int | None = None
    interim: InterimSpec | None = None
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
        out.append(Problem(f"{adj.method!r} is not implemented in the engine yet",
                           field=f"{path}.method"))
        return out
    method = Method(adj.method)
    estimand = Estimand(adj.estimand or "ATT")
    if estimand not in ESTIMANDS_OF_METHOD[method]:
        allowed = ", ".join(sorted(e.value for e in ESTIMANDS_OF_METHOD[method]))
        out.append(Problem(f"{method.value} estimates {allowed}, not {estimand.value}",
                           field=f"{path}.estimand"))
    if not adj.covariates:
        model = {Method.exact_matching: "to match on exactly",
                 Method.covariate_adjustment: "for the outcome model"}.get(
            method, "for the propensity model")
        out.append(Problem(f"{method.value} needs at least one covariate {model}",
                           field=f"{path}.covariates"))
    used = OPTIONS_OF_METHOD.get(method, frozenset())
    for key in ("caliper", "ratio", "subclasses"):
        if getattr(adj, key) is not None and key not in used:
            owner = "propensity_stratification" if key == "subclasses" else \
                "propensity_matching"
            out.append(Problem(f"{key} is an option of {owner}; {method.value} does not use "
                               "it", field=f"{path}.{key}"))
    return out


def _gcomp_problems(plan: Plan) -> list[Problem]:
    """Regression methods on endpoints whose marginal effect by g-computation is not built."""
    out: list[Problem] = []
    kinds = {e.id: e.kind for e in plan.endpoints if e.role != "exploratory"}
    seen: set[str] = set()
    for i in range(len(plan.controls)):
        adj, where = _effective(plan, i)
        if adj is None or where in seen or adj.method not in GCOMP_METHODS:
            continue
        seen.add(where)
        for endpoint, kind in kinds.items():
            if kind not in GCOMP_KINDS:
                out.append(Problem(
                    f"{adj.method} gives the marginal effect by g-computation, which is built "
                    f"for binary and continuous endpoints only; {endpoint} is {kind} (a "
                    "marginal hazard ratio or RMST difference is not built)",
                    field=f"{where}.method"))
    return out


def _criteria(plan: Plan, endpoint_id: str, kind: str) -> tuple[list[Problem], dict[str, Any]]:
    """The performance goal of an endpoint (its first criterion) and the problems found.

    With controls the measure is a comparative one of the endpoint's kind; without controls
    it is the kind's single-arm measure (proportion, mean, median survival).
    """
    out: list[Problem] = []
    single = not plan.controls
    allowed_measures = (SINGLE_ARM_MEASURE[kind],) if single else MEASURES_OF_KIND[kind]
    goal: dict[str, Any] = {"measure": allowed_measures[0], "confidence_level": 0.95}
    seen_level: float | None = None
    first = True
    for j, c in enumerate(plan.achievement_criteria):
        if c.endpoint != endpoint_id:
            continue
        path = f"achievement_criteria[{j}]"
        if c.measure in NOT_IMPLEMENTED["measure"]:
            out.append(Problem(f"the measure {c.measure!r} is not implemented in the engine "
                               "yet", field=f"{path}.measure"))
            continue
        if Measure(c.measure) not in allowed_measures:
            allowed = ", ".join(m.value for m in allowed_measures)
            design = ("a single-arm" if single else "a controlled") + f" {kind} endpoint"
            out.append(Problem(f"{design} gives {allowed}, not {c.measure}",
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
    rule_name, mi_options, found = missing_rule(plan)
    problems += found
    missing = MissingRule(rule_name)
    interim, found = interim_design(plan)
    problems += found
    checked: set[str] = set()
    for i in range(len(plan.controls)):
        adj, where = _effective(plan, i)
        if adj is not None and where not in checked:
            checked.add(where)
            problems += _adjustment_problems(adj, where)
    problems += _gcomp_problems(plan)
    specs: list[AnalysisSpec] = []
    for k, endpoint in enumerate(plan.endpoints):
        if endpoint.role == "exploratory":
            continue
        found, goal = _criteria(plan, endpoint.id, endpoint.kind)
        problems += found
        rule = missing if endpoint.role == "primary" else MissingRule.complete_case
        if endpoint.kind not in MISSING_RULES[rule.value]:
            kinds = " or ".join(sorted(MISSING_RULES[rule.value]))
            problems.append(Problem(f"{rule.value} needs a {kinds} endpoint; "
                                    f"endpoints[{k}] ({endpoint.id}) is {endpoint.kind}",
                                    field="missing_data.primary"))
        extra: dict[str, Any] = mi_options if rule is MissingRule.multiple_imputation else {}
        planned = (interim if interim is not None and interim.endpoint == endpoint.id
                   and endpoint.role == "primary" else None)
        if not plan.controls:
            problems += _single_arm_problems(endpoint.id, rule, planned)
            specs.append(_single_arm_spec(endpoint.id, endpoint.kind, endpoint.role, rule,
                                          goal))
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
            if rule is MissingRule.multiple_imputation and method not in MI_METHODS:
                problems.append(Problem(
                    f"multiple imputation runs within propensity matching or weighting (as "
                    f"MatchThem); {where}.method is {method.value}", field="missing_data.primary"))
            specs.append(AnalysisSpec(
                endpoint=endpoint.id, endpoint_kind=endpoint.kind, role=endpoint.role,
                control_source=source, control_cohorts=cohorts, method=method,
                estimand=estimand if method is not Method.none else Estimand.ATE,
                confidence_level=goal["confidence_level"], missing_data=rule, **extra,
                interim=planned,
                covariates=tuple(adj.covariates) if adj is not None else (),
                caliper=adj.caliper if adj is not None else None,
                ratio=(adj.ratio or 1) if adj is not None else 1,
                n_subclasses=((adj.subclasses or DEFAULT_SUBCLASSES) if adj is not None
                              and method is Method.propensity_stratification else None),
                measure=goal["measure"], threshold=goal.get("threshold"),
                direction=goal.get("direction"), ci_lower_above=goal.get("ci_lower_above"),
                ci_upper_below=goal.get("ci_upper_below"), source=where,
            ))
    return specs, problems


#: Adjustment methods that multiple imputation runs within (checked against R's MatchThem).
MI_METHODS = frozenset({Method.propensity_matching, Method.propensity_weighting})


def _single_arm_problems(endpoint: str, rule: MissingRule, planned: Any) -> list[Problem]:
    """What a single-arm analysis does not run: imputation and the interim design."""
    found = []
    if rule is MissingRule.multiple_imputation:
        found.append(Problem(f"endpoint {endpoint}: multiple imputation runs within a "
                             "comparison with controls, not in a single-arm analysis",
                             field="missing_data.primary"))
    if planned is not None:
        found.append(Problem(f"endpoint {endpoint}: the interim design is applied to a "
                             "comparison with controls, not to a single-arm analysis",
                             field="sample_size.interim"))
    return found


def _single_arm_spec(endpoint: str, kind: str, role: str, rule: MissingRule,
                     goal: dict[str, Any]) -> AnalysisSpec:
    """The treated arm against the plan's performance goal (a plan without controls)."""
    return AnalysisSpec(
        endpoint=endpoint, endpoint_kind=kind, role=role, control_source=ControlSource.none,
        control_cohorts=(), method=Method.none, estimand=None,
        confidence_level=goal["confidence_level"], missing_data=rule, covariates=(),
        measure=goal["measure"], threshold=goal.get("threshold"),
        direction=goal.get("direction"), ci_lower_above=goal.get("ci_lower_above"),
        ci_upper_below=goal.get("ci_upper_below"), source="controls",
    )


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
