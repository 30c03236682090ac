"""regmed.evidence — see DESIGN.md."""

__all__: list[str] = []

# --- effects helper: effect estimation, survival, sensitivity, sites, verdicts ---
from regmed.evidence.cox import CoxFit, fit_cox
from regmed.evidence.effects import Effect, estimate_effect
from regmed.evidence.heterogeneity import (
    CalendarTrend,
    Heterogeneity,
    MantelHaenszel,
    PeriodCoverage,
    calendar_trend,
    cochran_q,
    mantel_haenszel,
    period_coverage,
    site_effects,
    site_heterogeneity,
)
from regmed.evidence.judge import Criterion, Verdict, judge
from regmed.evidence.sensitivity import (
    EValue,
    TippingPoint,
    e_value,
    e_value_rd,
    tipping_point,
)
from regmed.evidence.survival import KaplanMeier, SurvivalEffect, kaplan_meier

__all__ += [
    "CalendarTrend",
    "CoxFit",
    "Criterion",
    "EValue",
    "Effect",
    "Heterogeneity",
    "KaplanMeier",
    "MantelHaenszel",
    "PeriodCoverage",
    "SurvivalEffect",
    "TippingPoint",
    "Verdict",
    "calendar_trend",
    "cochran_q",
    "e_value",
    "e_value_rd",
    "estimate_effect",
    "fit_cox",
    "judge",
    "kaplan_meier",
    "mantel_haenszel",
    "period_coverage",
    "site_effects",
    "site_heterogeneity",
    "tipping_point",
]
# --- end effects helper ---
