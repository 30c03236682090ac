"""The document blocks of an imputed analysis and of a group-sequential (interim) analysis.

``Analysis.imputation`` (multiple imputation: the number of imputed data sets, the seed, the
fraction of missing information of the verdict's term and mice's pooling components) and
``Analysis.interim`` (the planned design, each look with its boundary, repeated confidence
interval and repeated p-value, and at the final stage the stage-wise-ordering p-value, median
unbiased estimate and interval; see ``regmed.evaluate.interim``).
"""

# No ``from __future__ import annotations``: the TypedDicts' NotRequired keys need real
# annotation objects (see regmed.document.schema).

from typing import Any, Literal, NotRequired

from typing_extensions import TypedDict

Number = int | float

__all__ = ["Imputation", "PoolingRow", "Interim", "InterimDesign", "InterimLook",
           "InterimFinal", "InterimSpecEntry"]


class InterimSpecEntry(TypedDict):
    """The interim design of an analysis specification (``regmed.plan.InterimSpec``)."""

    endpoint: str
    information_rates: list[Number]
    spending: str
    design_spending: Literal["OF", "P"]
    futility: Literal["OF", "P"] | None
    alpha: Number
    beta: Number
    sided: int
    planned: int
    planned_unit: Literal["treated_patients", "events"]
    reestimation: str | None


class PoolingRow(TypedDict):
    """mice::pool's components of one term: Q-bar, U-bar, B, T, df, riv, lambda, fmi."""

    term: str
    m: int
    estimate: Number
    ubar: Number
    b: Number
    t: Number
    dfcom: Number
    df: Number
    riv: Number | None
    fmi: Number | None


class Imputation(TypedDict):
    """Multiple imputation of the analysis: ``m`` data sets from ``seed``; ``fmi`` and ``df``
    are those of ``term`` (the verdict's measure, log scale for ratios); ``imputed_data``
    names the exported imputed data sets (stacked, ``imputation`` 1..m)."""

    m: int
    seed: int | None
    iterations: int | None
    method: str
    columns: list[str]
    n_missing: dict[str, int]
    term: str
    fmi: Number | None
    df: Number | None
    pooling: list[PoolingRow]
    per_imputation: list[dict[str, Any]]
    imputed_data: NotRequired[str]
    shown: str


class InterimDesign(TypedDict):
    """The planned group-sequential design (rpact's typeOfDesign code in ``spending``)."""

    information_rates: list[Number]
    spending: str
    alpha: Number
    sided: int
    critical_values: list[Number]
    planned: int
    planned_unit: Literal["treated_patients", "events"]


class InterimLook(TypedDict):
    """One look: its data cut (``null`` for all data), the analysis' estimate and SE on the
    analysis scale, the z statistic against ``theta_h0``, the boundary, rpact's decision and
    the repeated confidence interval (natural scale) and p-value."""

    stage: int
    information_rate: Number
    cut_date: str | None
    n_treated: int
    n_control: int
    estimate: Number
    std_error: Number
    z: Number
    critical_value: Number
    decision: str
    rci_lower: Number | None
    rci_upper: Number | None
    repeated_p_value: Number | None


class InterimFinal(TypedDict):
    """Final inference at ``stage`` (stage-wise ordering)."""

    stage: int
    p_value: Number | None
    median_unbiased: Number | None
    ci_lower: Number | None
    ci_upper: Number | None


class Interim(TypedDict):
    """The group-sequential analysis of the plan's interim design."""

    design: InterimDesign
    stage: int
    k_max: int
    measure: str
    direction: Literal["greater", "less"]
    theta_h0: Number
    confidence_level: Number
    looks: list[InterimLook]
    rejected: bool
    decision: Literal["reject", "accept", "continue"]
    final: InterimFinal | None
    stage_data: dict[str, Any]
