"""The evaluation document: the stored JSON that ``regmed.evaluate`` writes and the report reads.

The report renders *only* from this document and computes no statistics, so every number in
an HTML or PDF report is one the registry stores. The typed models below (TypedDicts, so the
document stays plain JSON) are the contract; pydantic validates a document against them in
strict mode (:func:`validate_document`: keys, types and allowed values), so the documentation
and the check cannot drift apart.

Conventions
-----------
* Numbers that could not be computed are ``null`` (``regmed.results.to_jsonable`` turns NaN
  into ``None``); the report shows them as a dash.
* Proportions (rates, power, propensity scores) are on the 0–1 scale, never in percent.
* Keys marked ``NotRequired`` may be absent; every other key must be present (its value may
  be ``null`` where the type says ``| None``). Keys the schema does not know are allowed and
  ignored, so that the workflow can add information without breaking older reports.
* Effect measures and their null value: ``risk_difference`` and ``mean_difference`` (null 0,
  linear scale); ``risk_ratio``, ``odds_ratio`` and ``hazard_ratio`` (null 1, drawn on a log
  scale). Other names are shown as they are, with null 0.

Example
-------
>>> from regmed.document import validate_document
>>> validate_document({"meta": {"seed": 1}, "warnings": []})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
regmed.errors.DataError: The evaluation document is incomplete or malformed (12 problems):
  - meta.evaluation_id: missing key
  - meta.created_at: missing key
...
  - verdict: missing key
...
"""

# No ``from __future__ import annotations`` here: Python 3.11 needs real annotation objects
# to record which TypedDict keys are NotRequired.

import functools
import json
import os
import types
import typing
from typing import Any, Literal, NotRequired

import typing_extensions
from pydantic import TypeAdapter, ValidationError
from typing_extensions import TypedDict

from regmed.document.distribution import check_distribution
from regmed.document.sequential import Imputation, Interim, InterimSpecEntry
from regmed.errors import DataError, Problem

__all__ = [
    "EvaluationDocument",
    "Meta",
    "PlanInfo",
    "Verdict",
    "Criterion",
    "Power",
    "ChecklistItem",
    "AttritionRow",
    "Analysis",
    "AnalysisSpecEntry",
    "SubclassRow",
    "Propensity",
    "PsDistribution",
    "BalanceRow",
    "Effect",
    "EstimateRow",
    "SiteRow",
    "SubgroupRow",
    "Heterogeneity",
    "KmRow",
    "SensitivityRow",
    "EValue",
    "Quality",
    "QualityRow",
    "Specifications",
    "CqaRow",
    "ComparabilityRow",
    "VarianceRow",
    "LotPoint",
    "validate_document",
    "read_document",
    "RATIO_MEASURES",
    "null_value",
]

Number = int | float

#: Effect measures that are ratios (null value 1, log scale in figures).
RATIO_MEASURES = frozenset({"risk_ratio", "odds_ratio", "hazard_ratio"})


def null_value(measure: str) -> float:
    """Return the value of ``measure`` that means "no effect" (1 for ratios, else 0)."""
    return 1.0 if measure in RATIO_MEASURES else 0.0


class PlanInfo(TypedDict):
    """The locked evaluation plan the evaluation ran under.

    ``sha256`` is the lock hash of the plan file; ``locked_at`` an ISO 8601 time; ``signer``
    the person who locked it (printed name), ``signed_as`` the registry user who signed and
    ``signature_meaning`` what the signature means (``approved``). ``objective``, ``design``
    and ``endpoints`` are free text for the plan summary (one line each), written by the
    workflow from the plan.
    """

    name: str
    version: str | int
    sha256: str
    locked_at: str | None
    signer: str | None
    product: str
    indication: str
    signed_as: NotRequired[str | None]
    signature_meaning: NotRequired[str]
    objective: NotRequired[str]
    design: NotRequired[str]
    endpoints: NotRequired[list[str]]


class Meta(TypedDict):
    """Provenance: enough to reproduce every number and to re-render the report.

    ``evaluation_id`` is the registry id (``null`` before storing); ``created_at`` ISO 8601;
    ``data_hash`` the hash of the extracted StudyData; ``seed`` the seed every random step
    used; ``exploratory`` true when the run is not the pre-registered confirmatory one (the
    report then carries an EXPLORATORY banner on every page).
    """

    evaluation_id: int | None
    created_at: str
    regmed_version: str
    seed: int | None
    data_hash: str
    exploratory: bool
    plan: PlanInfo


class Criterion(TypedDict):
    """One pre-set achievement criterion and whether the data meet it.

    ``threshold`` is on the scale of ``measure`` (``null`` when the criterion states only a
    confidence bound); ``direction`` says whether larger
    (``"greater"``) or smaller (``"less"``) values favour the product, and the point estimate
    must reach ``threshold``; ``ci_lower_above`` (a number or null) additionally requires the
    lower confidence limit above it, ``ci_upper_below`` the upper limit below it. ``reason`` is
    the one-sentence justification of ``met``. ``control_source``
    names the comparison the criterion is judged on.
    """

    endpoint: str
    measure: str
    threshold: Number | None
    direction: Literal["greater", "less"]
    ci_lower_above: Number | None
    ci_upper_below: NotRequired[Number | None]
    estimate: Number | None
    ci_lower: Number | None
    ci_upper: Number | None
    met: bool
    reason: str
    control_source: NotRequired[Literal["concurrent", "external", "historical", "pooled",
                                        "none"]]
    group_sequential: NotRequired[Literal["reject", "accept", "continue"]]


class Verdict(TypedDict):
    """The overall verdict, its sentence, and the criterion-by-criterion judgement."""

    overall: Literal["met", "not_met", "inconclusive"]
    statement: str
    criteria: list[Criterion]


class Power(TypedDict):
    """Planned against achieved sample size and power (for the primary endpoint).

    ``shortfall`` is true when the achieved numbers fall short of the plan so that the
    criteria cannot be met with the planned certainty; ``message`` says so in a sentence.
    """

    planned_n_treated: int
    planned_n_control: int
    n_treated: int
    n_control: int
    planned_power: Number
    achieved_power: Number | None
    shortfall: bool
    message: str


class ChecklistItem(TypedDict):
    """One item of the MHLW evaluation-index checklist, re-run on the plan or on the data.

    ``point`` is the index point (e.g. ``"6"`` for control group and direction); ``status``
    ``"met"``, ``"justified"``, ``"missing"`` or ``"not_met"`` (as ``regmed.plan``);
    ``reference`` where the
    requirement is written (document and section).
    """

    item: str
    point: str | int
    status: Literal["met", "justified", "missing", "not_met"]
    message: str
    reference: str
    source: Literal["plan", "data"]


class AttritionRow(TypedDict):
    """One exclusion step for one cohort, in the order applied.

    ``cohort`` is ``"treated"``, ``"concurrent"`` or ``"historical"`` (``"external"`` also
    allowed); ``n_after = n_before - n_excluded``. The flow diagram draws one column per
    cohort, the steps in document order.
    """

    step: str
    cohort: str
    n_before: int
    n_after: int
    n_excluded: int
    reason: str


class PsDistribution(TypedDict):
    """Propensity scores of one group at one stage (before or after matching/weighting).

    ``counts`` are the patients per bin of the analysis's ``propensity.bins`` (equal-width
    bins of the score on [0, 1]); for a weighting analysis after adjustment ``weights`` holds
    the sum of the weights per bin. Documents written before the histogram was stored hold one
    score per patient in ``ps`` (and, for weighting, one weight per patient in ``weights``);
    the report draws either. A row has ``counts`` or ``ps``.
    """

    group: Literal["treated", "control"]
    stage: Literal["before", "after"]
    counts: NotRequired[list[int]]
    ps: NotRequired[list[Number]]
    weights: NotRequired[list[Number]]


class Propensity(TypedDict):
    """Propensity model diagnostics: c-statistic (``auc``), equipoise (share of patients with
    preference score in 0.3–0.7), the numbers modelled, the edges of the score's bins
    (``bins``, increasing, one more than each row's ``counts``) and the score distributions."""

    auc: Number | None
    equipoise: Number | None
    n_treated: int
    n_control: int
    bins: NotRequired[list[Number]]
    distribution: list[PsDistribution]


class BalanceRow(TypedDict):
    """Covariate balance before and after adjustment.

    SMDs are standardized mean differences (treated − control); variance ratios treated /
    control (``null`` for binary covariates). The optional means (proportions for binary
    covariates, flagged by ``binary``) fill the baseline table.
    """

    covariate: str
    smd_before: Number | None
    smd_after: Number | None
    var_ratio_before: Number | None
    var_ratio_after: Number | None
    binary: NotRequired[bool]
    mean_treated_before: NotRequired[Number | None]
    mean_control_before: NotRequired[Number | None]
    mean_treated_after: NotRequired[Number | None]
    mean_control_after: NotRequired[Number | None]


class EstimateRow(TypedDict):
    """A row of the tidy estimates table (DESIGN.md convention 1)."""

    term: str
    estimate: Number | None
    std_error: Number | None
    ci_lower: Number | None
    ci_upper: Number | None
    statistic: Number | None
    p_value: Number | None


class Effect(TypedDict):
    """The adjusted effect: ``measure`` (see module notes), estimate with CI, and the full
    tidy table. ``ci_level`` defaults to 0.95."""

    measure: str
    estimate: Number | None
    std_error: Number | None
    ci_lower: Number | None
    ci_upper: Number | None
    p_value: Number | None
    estimates: list[EstimateRow]
    ci_level: NotRequired[Number]


class SiteRow(TypedDict):
    """The effect at one site (same measure as the analysis)."""

    site: str
    n_treated: int
    n_control: int
    estimate: Number | None
    ci_lower: Number | None
    ci_upper: Number | None


class SubgroupRow(TypedDict):
    """The effect in one level of a pre-specified subgroup."""

    subgroup: str
    level: str
    n: int
    estimate: Number | None
    ci_lower: Number | None
    ci_upper: Number | None


class Heterogeneity(TypedDict):
    """Between-site heterogeneity: Cochran's Q, its df and p-value, and I² (0–1)."""

    q: Number | None
    df: int | None
    p_value: Number | None
    i2: Number | None


class KmRow(TypedDict):
    """One step of a Kaplan–Meier curve: survival ``surv`` just after ``time``, with its
    pointwise confidence limits. Each group's rows are in time order and start at time 0."""

    group: Literal["treated", "control"]
    time: Number
    surv: Number
    lower: Number | None
    upper: Number | None


class SensitivityRow(TypedDict):
    """One sensitivity analysis of the effect (same measure): e.g. without historical
    controls, calendar-time adjustment, site as random effect."""

    analysis: str
    estimate: Number | None
    ci_lower: Number | None
    ci_upper: Number | None
    note: str


class EValue(TypedDict):
    """E-values of the estimate (``point``) and of the CI limit nearer the null (``ci``)."""

    point: Number | None
    ci: Number | None


class AnalysisSpecEntry(TypedDict):
    """The analysis specification the engine ran (``regmed.plan.AnalysisSpec.to_dict()``):
    the plan's method as written, estimand, confidence level, missing-data rule, covariates
    exactly as entered in the propensity model, matching options, the imputation options,
    the interim design (``regmed.plan.InterimSpec``) and the measure and performance goal
    the verdict uses."""

    endpoint: str
    endpoint_kind: Literal["binary", "continuous", "survival"]
    role: Literal["primary", "secondary"]
    control_source: Literal["concurrent", "external", "historical", "pooled", "none"]
    control_cohorts: list[str]
    method: Literal["propensity_matching", "propensity_weighting", "exact_matching",
                    "propensity_stratification", "propensity_covariate",
                    "covariate_adjustment", "none"]
    estimand: Literal["ATT", "ATE", "ATO"] | None
    confidence_level: Number
    missing_data: Literal["complete_case", "non_responder", "worst_case", "multiple_imputation"]
    imputations: NotRequired[int | None]
    imputation_seed: NotRequired[int | None]
    imputation_iterations: NotRequired[int | None]
    covariates: list[str]
    caliper: Number | None
    caliper_scale: str
    ratio: int
    replace: bool
    n_subclasses: int | None
    interim: InterimSpecEntry | None
    measure: str
    threshold: Number | None
    direction: str | None
    ci_lower_above: Number | None
    ci_upper_below: Number | None
    source: str


class SubclassRow(TypedDict):
    """One subclass of exact matching or propensity stratification: its patients and the
    estimand's subclass weight of each group (MatchIt's ``get_weights_from_subclass``)."""

    subclass: int
    n_treated: int
    n_control: int
    weight_treated: Number | None
    weight_control: Number | None


class Analysis(TypedDict):
    """One endpoint against one control source, with everything the report shows about it.

    ``n_treated`` / ``n_control`` are the numbers analysed (after matching or trimming).
    ``km`` is empty unless ``kind`` is ``"survival"``. ``propensity`` is ``null`` (and
    ``balance`` empty) for an unadjusted comparison (``method`` ``"none"``) and a single arm
    (``method`` ``"single_arm"``, ``control_source`` ``"none"``, ``n_control`` 0, the effect a
    proportion, mean or median survival); exact matching and covariate adjustment have no
    propensity model but a balance table. ``evalue`` is
    ``null`` where an E-value is not defined. ``analysis_data`` names the exported analysis
    data set (relative to the output folder).
    """

    endpoint: str
    role: Literal["primary", "secondary"]
    kind: Literal["binary", "continuous", "survival"]
    control_source: Literal["concurrent", "external", "historical", "pooled", "none"]
    method: Literal["matching", "weighting", "exact_matching", "stratification",
                    "ps_covariate", "regression", "none", "single_arm"]
    spec: NotRequired[AnalysisSpecEntry]
    subclasses: NotRequired[list[SubclassRow]]
    n_treated: int
    n_control: int
    propensity: Propensity | None
    balance: list[BalanceRow]
    effect: Effect
    by_site: list[SiteRow]
    subgroups: list[SubgroupRow]
    heterogeneity: Heterogeneity
    km: list[KmRow]
    sensitivity: list[SensitivityRow]
    evalue: EValue | None
    analysis_data: NotRequired[str]
    imputation: NotRequired[Imputation]
    interim: NotRequired[Interim]


class QualityRow(TypedDict):
    """Response rate in one tertile of one lot quality attribute (e.g. potency, viability).

    ``range`` is the attribute's range in the tertile as text with its unit."""

    attribute: str
    tertile: int
    range: str
    n: int
    responders: int
    rate: Number | None
    ci_lower: Number | None
    ci_upper: Number | None


class SpecResult(TypedDict):
    """One out-of-specification release result (``category`` for a category test)."""

    lot: str
    attribute: str
    value: Number | None
    value_text: NotRequired[str | None]
    lower: Number | None
    upper: Number | None
    category: NotRequired[str | None]
    unit: str | None
    oos: bool


class Exposure(TypedDict):
    """An administration of an OOS lot; ``flagged`` when no supply request is on file."""

    site_code: str
    patient_ref: str
    lot: str
    oos_request_documented: bool
    flagged: bool


class Specifications(TypedDict):
    """OOS lots, their failed results, and the administrations of OOS lots."""

    oos_lots: list[str]
    oos_results: list[SpecResult]
    n_lots: int
    exposures: list[Exposure]


class FlaggedPatient(TypedDict):
    """A treated patient who received an OOS lot (flagged in every analysis)."""

    patient_id: str
    lot: str
    failed: str
    oos_request_documented: bool | None
    outcome: Number | None


class CqaRow(TypedDict):
    """Association of one lot attribute with the patients' outcome (per SD of the attribute,
    log odds / log hazard / mean difference as ``Cqa.options.scale`` says)."""

    attribute: str
    estimate: Number | None
    std_error: Number | None
    ci_lower: Number | None
    ci_upper: Number | None
    p_value: Number | None
    q_value: Number | None
    n_patients: int
    n_lots: int
    planned: NotRequired[bool]


class Cqa(TypedDict):
    """The CQA screen: one row per numeric attribute, BH q-values across them."""

    estimates: list[CqaRow]
    options: dict[str, Any]


class PotencyRow(TypedDict):
    """Lot-level regression of potency on one attribute (per SD of the attribute)."""

    attribute: str
    estimate: Number | None
    ci_lower: Number | None
    ci_upper: Number | None
    p_value: Number | None
    q_value: Number | None
    n_lots: int


class Potency(TypedDict):
    """Attribute → potency: the first link of the chain attribute → potency → response."""

    estimates: list[PotencyRow]
    options: dict[str, Any]


class StratumRow(TypedDict):
    """Response rate in one patient group (responder stratification)."""

    variable: str
    level: str
    n: int
    responders: int
    rate: Number | None
    ci_lower: Number | None
    ci_upper: Number | None


class ResponderStrata(TypedDict):
    """Response by patient group, with Wilson intervals."""

    strata: list[StratumRow]


class VarianceRow(TypedDict):
    """One variance component (donor, lot, residual, total) of one attribute."""

    attribute: str
    component: str
    variance: Number | None
    sd: Number | None
    share: Number | None


class ChartSignal(TypedDict):
    """A point of an individuals chart that fires a run rule."""

    order: int
    date: str | None
    value: Number | None
    rules: str


class ControlChartEntry(TypedDict):
    """Individuals / moving-range chart limits and the signals of one attribute."""

    center: Number | None
    lcl: Number | None
    ucl: Number | None
    signals: list[ChartSignal]


class ComparabilityRow(TypedDict):
    """Candidate minus reference process for one attribute, with the verdict."""

    attribute: str
    difference: Number | None
    ci_lower: Number | None
    ci_upper: Number | None
    margin: Number | None
    equivalent: bool | None
    method: str


class ComparabilityTable(TypedDict):
    """Comparability of two process versions (reference → candidate)."""

    reference: str
    candidate: str
    estimates: list[ComparabilityRow]


class LotPoint(TypedDict):
    """One release result of one lot, for the attribute-over-time figure."""

    attribute: str
    lot: str
    manufactured_on: str | None
    process_version: str | None
    value: Number | None
    value_text: NotRequired[str | None]
    lower: NotRequired[Number | None]
    upper: NotRequired[Number | None]
    oos: bool


class PlannedQualityAnalysis(TypedDict):
    """A quality↔efficacy analysis as the plan states it."""

    id: str
    attribute: str | None
    endpoint: str | None
    scale: str


class SinglecellAssociationRow(TypedDict):
    """One cluster's share across lots against the lot covariate (potency)."""

    cluster: str
    estimate: Number | None
    p_value: Number | None
    q_value: Number | None
    stable: bool


class SinglecellAssociation(TypedDict):
    """Composition ↔ covariate (see :func:`regmed.singlecell.associate_composition`)."""

    rows: list[SinglecellAssociationRow]
    method: str
    covariate: str
    min_detectable_r: Number | None
    top: str | None
    lot_values: NotRequired[dict[str, Number]]


class SinglecellCompositionRow(TypedDict):
    """Share of one cluster in one lot."""

    lot: str
    cluster: str
    n_cells: int
    proportion: Number


class SinglecellDeviationRow(TypedDict):
    """A lot's Aitchison distance from the reference composition."""

    lot: str
    n_cells: int
    distance: Number | None
    outlier: bool


class SinglecellDeviation(TypedDict):
    """Each lot's deviation and the outlier threshold."""

    rows: list[SinglecellDeviationRow]
    threshold: Number | None


class Singlecell(TypedDict):
    """Single-cell heterogeneity of lots (:func:`regmed.singlecell.singlecell_section`)."""

    n_cells: int
    n_genes: int
    n_lots: int
    clusters: list[str]
    composition: list[SinglecellCompositionRow]
    deviation: SinglecellDeviation
    association: SinglecellAssociation
    markers: dict[str, list[str]]
    notes: list[str]
    warnings: list[str]


class Quality(TypedDict):
    """The quality section: the descriptive tertile tables with their note, and — when the
    registry holds lot data — specifications and OOS (with the flagged patients), the CQA
    screen, attribute → potency, responder strata, variance components, control charts,
    comparability of process versions and the per-lot series for the figure.

    Further sub-sections (e.g. single-cell composition) are added as further
    ``NotRequired`` keys and a block of :data:`regmed.report.render.QUALITY_BLOCKS`.
    """

    tables: list[QualityRow]
    note: str
    endpoint: NotRequired[str]
    planned: NotRequired[list[PlannedQualityAnalysis]]
    specifications: NotRequired[Specifications]
    flagged_patients: NotRequired[list[FlaggedPatient]]
    cqa: NotRequired[Cqa]
    potency: NotRequired[Potency]
    responder_strata: NotRequired[ResponderStrata]
    variance_components: NotRequired[list[VarianceRow]]
    control_charts: NotRequired[dict[str, ControlChartEntry]]
    comparability: NotRequired[ComparabilityTable]
    lot_series: NotRequired[list[LotPoint]]
    singlecell: NotRequired[Singlecell]
    notes: NotRequired[list[str]]
    warnings: NotRequired[list[str]]


class EvaluationDocument(TypedDict):
    """The whole stored evaluation (see the module docstring)."""

    meta: Meta
    verdict: Verdict
    power: Power
    checklist: list[ChecklistItem]
    attrition: list[AttritionRow]
    analyses: list[Analysis]
    quality: Quality
    warnings: list[str]


# --------------------------------------------------------------------------- validation

_MAX_PROBLEMS = 200


def _type_name(tp: Any) -> str:
    if tp is type(None):
        return "null"
    if tp in (int, float):
        return "number" if tp is float else "integer"
    if tp is str:
        return "string"
    if tp is bool:
        return "boolean"
    origin = typing.get_origin(tp)
    if origin is list:
        return "list"
    if typing_extensions.is_typeddict(tp):
        return "object"
    if origin is Literal:
        return " or ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(dict.fromkeys(_type_name(a) for a in typing.get_args(tp)))
    return getattr(tp, "__name__", str(tp))


@functools.cache
def _adapter(tp: Any) -> TypeAdapter[Any]:
    """pydantic's validator of a document type (built once per process, on first use)."""
    return TypeAdapter(tp)


def _members(tp: Any) -> tuple[Any, ...]:
    """The members of a union other than ``None`` (``(tp,)`` for a non-union)."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return tuple(a for a in typing.get_args(tp) if a is not type(None))
    return (tp,)


def _structured(tp: Any, want_list: bool) -> bool:
    origin = typing.get_origin(tp)
    if want_list:
        return origin is list
    return typing_extensions.is_typeddict(tp) or origin is dict


def _walk(root: Any, loc: tuple[Any, ...]) -> tuple[str, Any]:
    """Follow pydantic's error location through the schema's types.

    Returns the key path (``analyses[0].effect.ci_lower``) and the declared type at its end.
    pydantic names the member of a union it tried (``('n', 'int')``); those tags are not
    part of the path.
    """
    tp: Any = root
    path = ""
    items = list(loc)
    while items:
        members = _members(tp)
        if len(members) > 1:
            items.pop(0)
            if not items:
                return path, tp
            want_list = isinstance(items[0], int)
            tp = next((m for m in members if _structured(m, want_list)), Any)
            continue
        tp = members[0]
        key = items.pop(0)
        if isinstance(key, int):
            path = f"{path}[{key}]"
            tp = typing.get_args(tp)[0] if typing.get_origin(tp) is list else Any
            continue
        path = f"{path}.{key}" if path else str(key)
        if typing_extensions.is_typeddict(tp):
            tp = typing_extensions.get_type_hints(tp).get(key, Any)
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        else:
            tp = Any
    return path, tp


def _message(error: Any, tp: Any) -> str:
    """One pydantic error in the document's own words."""
    value = error.get("input")
    if error["type"] == "missing":
        return "missing key"
    declared = _members(tp)
    if len(declared) == 1 and _structured(declared[0], want_list=False):
        return f"expected an object, got {type(value).__name__}"
    if len(declared) == 1 and _structured(declared[0], want_list=True):
        return f"expected a list, got {type(value).__name__}"
    return f"expected {_type_name(tp)}, got {value!r}"


def _inside(path: str, parent: str) -> bool:
    return path.startswith(parent + ".") or path.startswith(parent + "[") or (
        parent == "" and path != "")


def schema_problems(doc: Any, tp: Any) -> list[Problem]:
    """Every departure of ``doc`` from the document type ``tp``, found by pydantic in strict
    mode (no string is read as a number, no boolean as an integer), each with its key path.

    A union reports each member it tried; when the value is of the union's structured member
    (an object or a list), the errors inside it are the ones kept.
    """
    try:
        _adapter(tp).validate_python(doc, strict=True)
    except ValidationError as exc:
        found: dict[str, Problem] = {}
        for error in exc.errors(include_url=False):
            path, declared = _walk(tp, tuple(error["loc"]))
            message = _message(error, declared)
            if message.startswith("expected") and any(_inside(k, path) for k in found):
                continue
            found = {k: v for k, v in found.items()
                     if not (_inside(path, k) and v.message.startswith("expected"))}
            found.setdefault(path, Problem(message, field=path or "$"))
        return list(found.values())[:_MAX_PROBLEMS]
    return []


def validate_document(doc: Any, *, file: str | None = None) -> EvaluationDocument:
    """Check an evaluation document against the schema and return it unchanged.

    Every missing key, wrong type and unknown category value is collected, each named by its
    key path (``analyses[0].effect.ci_lower``), and raised together.

    Parameters
    ----------
    doc : dict
        The evaluation document (parsed JSON).
    file : str, optional
        The file it was read from, named in each problem.

    Returns
    -------
    EvaluationDocument
        ``doc`` itself, now known to follow the schema.

    Raises
    ------
    regmed.errors.DataError
        When anything is missing or malformed; ``error.problems`` lists each with its path in
        ``field``.

    Examples
    --------
    >>> import json, regmed.report as rr
    >>> doc = validate_document(json.load(open("evaluation.json")))  # doctest: +SKIP
    """
    problems: list[Problem] = []
    if not isinstance(doc, dict):
        problems.append(Problem(f"expected an object, got {type(doc).__name__}", field="$"))
    else:
        problems.extend(schema_problems(doc, EvaluationDocument))
        _check_consistency(doc, problems)
    if problems:
        if file is not None:
            problems = [Problem(p.message, file=file, row=p.row, field=p.field) for p in problems]
        raise DataError("The evaluation document is incomplete or malformed", problems)
    return typing.cast(EvaluationDocument, doc)


def read_document(path: str | os.PathLike[str]) -> EvaluationDocument:
    """Read an evaluation document from a JSON file and validate it.

    Raises
    ------
    regmed.errors.DataError
        When the file is missing, is not JSON (with the line of the error), or does not follow
        the schema (each problem with the file and key path).
    """
    name = os.fspath(path)
    try:
        with open(name, encoding="utf-8") as fh:
            doc = json.load(fh)
    except FileNotFoundError:
        raise DataError("The evaluation document was not found",
                        [Problem("no such file", file=name)]) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        row = getattr(exc, "lineno", None)
        raise DataError("The evaluation document is not valid JSON",
                        [Problem(str(exc), file=name, row=row)]) from None
    return validate_document(doc, file=name)


def _check_consistency(doc: dict[str, Any], problems: list[Problem]) -> None:
    """Cross-field checks that a rendering would otherwise get silently wrong."""
    attrition = doc.get("attrition")
    if isinstance(attrition, list):
        for i, row in enumerate(attrition):
            if not isinstance(row, dict):
                continue
            nb, na, nx = row.get("n_before"), row.get("n_after"), row.get("n_excluded")
            if isinstance(nb, int) and isinstance(na, int) and isinstance(nx, int) \
                    and nb - nx != na:
                problems.append(Problem(
                    f"n_before ({nb}) - n_excluded ({nx}) != n_after ({na})",
                    field=f"attrition[{i}]"))
    analyses = doc.get("analyses")
    if isinstance(analyses, list):
        for i, a in enumerate(analyses):
            if isinstance(a, dict) and a.get("kind") != "survival" and a.get("km"):
                problems.append(Problem("km rows given for a non-survival analysis",
                                        field=f"analyses[{i}].km"))
            if isinstance(a, dict) and isinstance(a.get("propensity"), dict):
                check_distribution(a["propensity"], f"analyses[{i}].propensity", problems)
