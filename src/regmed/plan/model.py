"""The evaluation plan as a validated model (stored as YAML).

Every block follows the items of the MHLW evaluation index for MSC products (section 6,
items (1)–(7)). The blocks the index *requires* are optional here on purpose: a plan that
leaves one out still loads, and :func:`regmed.plan.check_plan` reports it as ``missing``
with the index section, which is more useful to the author than a parse error. Types,
enumerations and unknown keys, on the other hand, are enforced when loading
(``extra="forbid"`` everywhere).

References
----------
MHLW (2024). Evaluation index for conditional and time-limited approval of human MSC-processed
products and the subsequent efficacy evaluation plan (``seeds/000``), section 6 (1)–(7).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    Strict,
    field_validator,
    model_validator,
)

__all__ = [
    "Plan",
    "Product",
    "Approval",
    "Endpoint",
    "NaturalHistory",
    "EventDefinition",
    "Visit",
    "Measurement",
    "AchievementCriterion",
    "SampleSize",
    "RatesSampleSize",
    "MeansSampleSize",
    "SurvivalSampleSize",
    "SingleArmSampleSize",
    "RatesAssumptions",
    "MeansAssumptions",
    "SurvivalAssumptions",
    "SingleArmAssumptions",
    "Interim",
    "Reestimation",
    "Sites",
    "Randomization",
    "Blinding",
    "AdjudicationPlan",
    "Period",
    "Adjustment",
    "Control",
    "UseResultsSurveyJustification",
    "QualityAnalysis",
    "QualityUnderstanding",
    "ManagementPlan",
    "SubgroupAnalysis",
    "MissingData",
    "SensitivityAnalysis",
    "ADJUSTMENT_METHODS",
    "PROPENSITY_METHODS",
]

Text = Annotated[str, Field(min_length=1)]
Probability = Annotated[float, Field(gt=0.0, lt=1.0)]
Rate = Annotated[float, Field(ge=0.0, le=1.0)]

#: Adjustment methods a control may name; the propensity-score ones satisfy 6 (6) D-⑦.
ADJUSTMENT_METHODS = (
    "propensity_matching",
    "propensity_weighting",
    "propensity_stratification",
    "propensity_covariate",
    "covariate_adjustment",
    "exact_matching",
)
PROPENSITY_METHODS = frozenset(m for m in ADJUSTMENT_METHODS if m.startswith("propensity"))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# --- product and approval -------------------------------------------------------------------


class Product(_Model):
    """The product: name, origin, and whether giving it needs surgery (index 5.2.2, 6 (4))."""

    name: Text
    type: Literal["autologous", "allogeneic"]
    surgery: bool = False
    route: str | None = None


class Approval(_Model):
    """The approval the plan belongs to; a conditional term is at most 7 years (Art. 23-26)."""

    kind: Literal["conditional", "full"]
    date: dt.date
    term_years: Annotated[int, Strict(), Field(ge=1, le=7)] | None = None


# --- endpoints ------------------------------------------------------------------------------


class NaturalHistory(_Model):
    """What happens without the product (natural recovery), with its source (index 6 (3))."""

    rate: Rate | None = None
    mean: float | None = None
    median_time: Annotated[float, Field(gt=0)] | None = None
    source: Text


class EventDefinition(_Model):
    """The event of a time-to-event endpoint: what counts, from when, and censoring."""

    definition: Text
    time_origin: Text
    censoring: str | None = None
    time_unit: Literal["days", "weeks", "months", "years"] = "days"


class Visit(_Model):
    """A scheduled visit: its name, target day and the window (± days)."""

    name: Text
    day: Annotated[int, Strict(), Field(ge=0)]
    window: Annotated[int, Strict(), Field(ge=0)] = 0


class Measurement(_Model):
    """How an endpoint is derived from assessments (used by the registry's extraction)."""

    variable: Text
    baseline_visit: Visit | None = None
    outcome_visit: Visit | None = None
    derivation: Literal["ais_improvement", "change", "change_at_least", "value", "time_to_death"]
    threshold: float | None = None
    assessor_roles: list[
        Literal["blinded_central", "blinded_independent", "treating_physician"]
    ] = Field(default_factory=list)


class Endpoint(_Model):
    """One endpoint (index 6 (3) objectivity, 6 (5) assessor)."""

    id: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
    role: Literal["primary", "secondary", "exploratory"]
    kind: Literal["binary", "continuous", "survival"]
    definition: Text
    objective: bool
    objective_justification: str | None = None
    assessor: Literal["blinded_central", "blinded_independent", "treating_physician"]
    assessor_justification: str | None = None
    standardization: str | None = None
    natural_history: NaturalHistory | None = None
    better: Literal["higher", "lower"] = "higher"
    unit: str | None = None
    event: EventDefinition | None = None
    measurement: Measurement | None = None


class AchievementCriterion(_Model):
    """A pre-set criterion: the estimate must reach ``threshold`` and its CI clear a bound.

    The keys mean what they mean in :func:`regmed.evidence.judge` (``direction`` "greater"
    or "less"; by default "less" for hazard ratios and "greater" otherwise), so a criterion
    can be passed to it as it is. ``proportion``, ``mean`` and ``median_survival`` are
    absolute measures for a single arm against natural history.
    """

    endpoint: Text
    measure: Literal[
        "risk_difference",
        "risk_ratio",
        "odds_ratio",
        "mean_difference",
        "hazard_ratio",
        "rmst_difference",
        "proportion",
        "mean",
        "median_survival",
    ]
    threshold: float | None = None
    ci_lower_above: float | None = None
    ci_upper_below: float | None = None
    confidence_level: Annotated[float, Field(gt=0.5, lt=1.0)] = 0.95
    direction: Literal["greater", "less"] | None = None


# --- sample size (index 6 (1)) -------------------------------------------------------------


class RatesAssumptions(_Model):
    """Inputs of ``regmed.design.sample_size_rates`` (rpact's getSampleSizeRates)."""

    p_treated: Probability
    p_control: Probability
    alpha: Probability
    power: Probability
    sided: Literal[1, 2] = 1
    allocation_ratio: Annotated[float, Field(gt=0)] = 1.0


class MeansAssumptions(_Model):
    """Inputs of ``regmed.design.sample_size_means``."""

    difference: float
    sd: Annotated[float, Field(gt=0)]
    alpha: Probability
    power: Probability
    sided: Literal[1, 2] = 1
    allocation_ratio: Annotated[float, Field(gt=0)] = 1.0


class SurvivalAssumptions(_Model):
    """Inputs of ``regmed.design.sample_size_survival`` (give ``median_control`` or the
    control hazard ``lambda_control``)."""

    hazard_ratio: Annotated[float, Field(gt=0)]
    median_control: Annotated[float, Field(gt=0)] | None = None
    lambda_control: Annotated[float, Field(gt=0)] | None = None
    accrual_time: Annotated[float, Field(gt=0)]
    follow_up_time: Annotated[float, Field(ge=0)]
    dropout_rate: Annotated[float, Field(ge=0, lt=1)] = 0.0
    dropout_time: Annotated[float, Field(gt=0)] = 12.0
    alpha: Probability = 0.025
    power: Probability = 0.8
    sided: Literal[1, 2] = 1
    allocation_ratio: Annotated[float, Field(gt=0)] = 1.0


class SingleArmAssumptions(_Model):
    """Inputs of ``regmed.design.sample_size_single_arm`` (exact binomial)."""

    p0: Probability
    p1: Probability
    alpha: Probability
    power: Probability


class Reestimation(_Model):
    """A sample-size re-estimation at an interim look; must be fully pre-specified."""

    rule: Literal["promising_zone", "conditional_power", "blinded_variance", "other"]
    max_n_treated: Annotated[int, Strict(), Field(ge=1)] | None = None
    max_n_control: Annotated[int, Strict(), Field(ge=1)] | None = None
    at_information_rate: Annotated[float, Field(gt=0, lt=1)] | None = None
    conditional_power_target: Probability | None = None
    description: str | None = None


class Interim(_Model):
    """Interim analyses: information rates, alpha spending (rpact's typeOfDesign codes)."""

    information_rates: list[Annotated[float, Field(gt=0, le=1)]]
    spending: Literal["OF", "P", "WT", "asOF", "asP", "asKD", "asHSD", "noEarlyEfficacy"]
    futility: str | None = None
    reestimation: Reestimation | None = None


class _SampleSizeBase(_Model):
    endpoint: str | None = None
    n_treated: Annotated[int, Strict(), Field(ge=1)]
    n_control: Annotated[int, Strict(), Field(ge=1)] | None = None
    events: Annotated[int, Strict(), Field(ge=1)] | None = None
    interim: Interim | None = None
    justification: str | None = None


class RatesSampleSize(_SampleSizeBase):
    method: Literal["rates"]
    assumptions: RatesAssumptions


class MeansSampleSize(_SampleSizeBase):
    method: Literal["means"]
    assumptions: MeansAssumptions


class SurvivalSampleSize(_SampleSizeBase):
    method: Literal["survival"]
    assumptions: SurvivalAssumptions


class SingleArmSampleSize(_SampleSizeBase):
    method: Literal["single_arm"]
    assumptions: SingleArmAssumptions


SampleSize = Annotated[
    RatesSampleSize | MeansSampleSize | SurvivalSampleSize | SingleArmSampleSize,
    Field(discriminator="method"),
]


# --- sites, randomization, blinding (index 6 (2), (4), (5)) ------------------------------


class Sites(_Model):
    """Number of evaluating sites; a single site needs a justification (index 6 (2))."""

    count: Annotated[int, Strict(), Field(ge=1)]
    justification: str | None = None
    names: list[str] = Field(default_factory=list)


class Randomization(_Model):
    """Whether patients are randomized; if not, why (index 6 (4))."""

    feasible: bool
    justification: str | None = None
    method: str | None = None
    placebo_effect_handling: str | None = None


class Blinding(_Model):
    """Assessor blinding and central adjudication; what is not done needs a reason (6 (5))."""

    assessor_blinded: bool
    central_committee: bool
    justification: str | None = None
    multiple_assessors: bool | None = None


class AdjudicationPlan(_Model):
    """How central adjudication runs (6 (5)): independent reviewers per event, who settles a
    disagreement (a third adjudicator, or the committee's ``chair``, named by user name), and
    the coded verdicts of categorical endpoints (``categories``: endpoint → verdicts)."""

    reviewers: Annotated[int, Strict(), Field(ge=2, le=9)] = 2
    consensus: Literal["third_adjudicator", "chair"] = "third_adjudicator"
    chair: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    categories: dict[str, list[Text]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _chair_named(self) -> AdjudicationPlan:
        if self.consensus == "chair" and not (self.chair or "").strip():
            raise ValueError("consensus by the chair needs adjudication.chair (a user name)")
        return self


# --- controls (index 6 (6)) ----------------------------------------------------------------


class Period(_Model):
    """A data-collection period (inclusive dates)."""

    start: dt.date
    end: dt.date


class Adjustment(_Model):
    """How controls are made comparable: method, prognostic covariates, matching options.

    ``caliper`` and ``ratio`` are options of ``propensity_matching``; ``subclasses`` (the
    number of propensity-score subclasses, default 5, MatchIt's ``subclass =``) is the option
    of ``propensity_stratification``.
    """

    method: Literal[
        "propensity_matching",
        "propensity_weighting",
        "propensity_stratification",
        "propensity_covariate",
        "covariate_adjustment",
        "exact_matching",
    ]
    covariates: list[Text] = Field(default_factory=list)
    caliper: Annotated[float, Field(gt=0)] | None = None
    ratio: Annotated[int, Strict(), Field(ge=1)] | None = None
    estimand: Literal["ATT", "ATE", "ATO"] | None = None
    subclasses: Annotated[int, Strict(), Field(ge=2)] | None = None


class Control(_Model):
    """One control cohort: kind, direction, where and when from, and how it is adjusted."""

    kind: Literal["concurrent", "external", "historical"]
    direction: Literal["prospective", "retrospective"]
    sites: Literal["same", "other", "same_and_other", "equivalent"] | None = None
    source: str | None = None
    validated_registry: bool | None = None
    period: Period | None = None
    period_justification: str | None = None
    adjustment: Adjustment | None = None
    data_availability_confirmed: bool | None = None
    era_adjustment: str | None = None
    feasibility: str | None = None
    justification: str | None = None


# --- item (7) and analysis extensions ------------------------------------------------------


class UseResultsSurveyJustification(_Model):
    """Why a use-results survey suffices: severity, patient count, QOL, alternatives (7-A)."""

    severity: str | None = None
    patient_count: str | None = None
    qol: str | None = None
    alternatives: str | None = None


class QualityAnalysis(_Model):
    """A planned quality↔efficacy analysis (index 6 (7) B ①–⑥)."""

    id: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
    attribute: str | None = None
    endpoint: str | None = None
    purpose: list[
        Literal["mechanism", "verify_cqa", "new_cqa", "biodistribution", "responders", "technique"]
    ] = Field(default_factory=list)
    #: Scale the attribute enters the CQA analysis on: ``log`` for multiplicative assays
    #: (potency, cytokine secretion), whose effect is then per SD of the log value.
    scale: Literal["linear", "log"] = "linear"
    #: Patient covariates the association is adjusted for (columns of the study data).
    adjust: list[str] = Field(default_factory=list)
    #: Patient columns whose groups the responder-stratification view compares.
    strata: list[str] = Field(default_factory=list)


class QualityUnderstanding(_Model):
    """What the applicant will clarify before the full approval (index 5.3): the
    heterogeneity of the cell population, the main mechanism and the CQAs tied to efficacy,
    and the spread of quality between donors (5.1.1–5.1.3)."""

    heterogeneity: str | None = None
    mechanism_cqa: str | None = None
    donor_variability: str | None = None


class ManagementPlan(_Model):
    """The efficacy-evaluation management plan: risks and their management (7-C)."""

    risks: list[Text] = Field(default_factory=list)
    mitigations: list[Text] = Field(default_factory=list)


class SubgroupAnalysis(_Model):
    """A pre-specified subgroup / stratified analysis (index 6 (7) B-⑤)."""

    id: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
    variable: Text
    levels: list[str] = Field(default_factory=list)
    endpoint: str | None = None
    rationale: str | None = None


class MissingData(_Model):
    """How missing outcomes are handled in the primary analysis, and its sensitivity check.

    ``multiple_imputation`` needs the number of ``imputations`` and the ``seed`` (chained
    equations with ``iterations`` cycles, mice's ``maxit``, default 10)."""

    primary: Literal[
        "complete_case", "non_responder", "multiple_imputation", "worst_case", "ipcw", "other"
    ]
    description: str | None = None
    sensitivity: list[str] = Field(default_factory=list)
    imputations: Annotated[int, Strict(), Field(ge=2, le=500)] | None = None
    seed: Annotated[int, Strict(), Field(ge=0)] | None = None
    iterations: Annotated[int, Strict(), Field(ge=1, le=100)] = 10


class SensitivityAnalysis(_Model):
    """A pre-specified sensitivity analysis."""

    id: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
    description: Text
    endpoint: str | None = None


# --- the plan ------------------------------------------------------------------------------


class Plan(_Model):
    """The post-marketing efficacy evaluation plan (index section 6, items (1)–(7)).

    Loaded with :func:`regmed.plan.load_plan`, which keeps the exact source text (for the
    lock hash) in the private ``source_text``.
    """

    title: str | None = None
    product: Product
    indication: Text
    approval: Approval | None = None
    study_type: Literal["use_results_survey", "post_marketing_trial"] = "use_results_survey"
    endpoints: list[Endpoint]
    achievement_criteria: list[AchievementCriterion] = Field(default_factory=list)
    sample_size: SampleSize | None = None
    sites: Sites | None = None
    randomization: Randomization | None = None
    blinding: Blinding | None = None
    adjudication: AdjudicationPlan | None = None
    controls: list[Control] = Field(default_factory=list)
    control_justification: str | None = None
    treated_period: Period | None = None
    use_results_survey_justification: UseResultsSurveyJustification | None = None
    quality_efficacy_analyses: list[QualityAnalysis] = Field(default_factory=list)
    quality_understanding: QualityUnderstanding | None = None
    management_plan: ManagementPlan | None = None
    subgroup_analyses: list[SubgroupAnalysis] = Field(default_factory=list)
    missing_data: MissingData | None = None
    sensitivity_analyses: list[SensitivityAnalysis] = Field(default_factory=list)

    _source_text: str | None = PrivateAttr(default=None)

    @field_validator("quality_efficacy_analyses", mode="before")
    @classmethod
    def _names_to_objects(cls, value: object) -> object:
        # ``[potency_vs_response, ...]`` is shorthand for ``[{id: potency_vs_response}, ...]``
        if isinstance(value, list):
            return [{"id": v} if isinstance(v, str) else v for v in value]
        return value

    @property
    def source_text(self) -> str | None:
        """The exact text the plan was loaded from, or ``None`` if built in code."""
        return self._source_text

    def endpoint(self, endpoint_id: str) -> Endpoint | None:
        """Return the endpoint with this id, or ``None``."""
        return next((e for e in self.endpoints if e.id == endpoint_id), None)

    @property
    def primary_endpoints(self) -> list[Endpoint]:
        """The endpoints whose role is ``primary``."""
        return [e for e in self.endpoints if e.role == "primary"]
