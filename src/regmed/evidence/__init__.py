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
    site_heterogeneity,
)
from regmed.evidence.judge import Criterion, Verdict, judge
from regmed.evidence.sensitivity import EValue, TippingPoint, e_value, tipping_point
from regmed.evidence.survival import KaplanMeier, SurvivalEffect, kaplan_meier

__all__ += [
    "CalendarTrend", "CoxFit", "Criterion", "EValue", "Effect", "Heterogeneity", "KaplanMeier",
    "MantelHaenszel", "PeriodCoverage", "SurvivalEffect", "TippingPoint", "Verdict",
    "calendar_trend", "cochran_q", "e_value", "estimate_effect", "fit_cox", "judge",
    "kaplan_meier", "mantel_haenszel", "period_coverage", "site_heterogeneity", "tipping_point",
]
# --- end effects helper ---

# --- adjustment (matching helper): propensity, matching, weighting, balance ---
from regmed.evidence.balance import Balance, balance
from regmed.evidence.matching import Matching, match
from regmed.evidence.propensity import PropensityScore, fit_propensity
from regmed.evidence.sample import AdjustedSample
from regmed.evidence.weighting import Weighting, weight

# --- end adjustment ---

__all__ += [
    "AdjustedSample",
    # adjustment
    "Balance",
    "Matching",
    "PropensityScore",
    "Weighting",
    "balance",
    "fit_propensity",
    "match",
    "weight",
]
