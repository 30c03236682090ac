"""regmed.evidence — propensity scores, matching, weighting, balance, effects, sensitivity.

Pure functions on pandas DataFrames; options mean what they mean in R's MatchIt, cobalt,
survival and sandwich, and the numbers are checked against them (``tests/reference``).
"""

# adjustment: propensity, matching, weighting, balance
# models: weighted GLMs with sandwich variances (also used by regmed.quality)
from regmed.evidence._glm import GlmFit, fit_glm
from regmed.evidence.balance import Balance, balance

# estimation: effects, survival, sensitivity, sites, verdicts
from regmed.evidence.cox import CoxFit, fit_cox
from regmed.evidence.effects import Effect, estimate_effect
from regmed.evidence.exact import match_exact
from regmed.evidence.gcomp import gcomputation
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
from regmed.evidence.imputation import ImputedData, impute
from regmed.evidence.judge import Criterion, Verdict, judge
from regmed.evidence.matching import Matching, match
from regmed.evidence.pooling import PooledEffect, analyze_imputed, pool
from regmed.evidence.propensity import PropensityScore, fit_propensity
from regmed.evidence.sample import AdjustedSample
from regmed.evidence.sensitivity import EValue, TippingPoint, e_value, e_value_rd, tipping_point
from regmed.evidence.single_arm import SingleArm, single_arm
from regmed.evidence.subclass import Subclassification, stratify
from regmed.evidence.survival import KaplanMeier, SurvivalEffect, kaplan_meier
from regmed.evidence.weighting import Weighting, weight

__all__ = [
    "AdjustedSample", "Balance", "Matching", "PropensityScore", "Weighting",
    "balance", "fit_propensity", "match", "weight",
    "CalendarTrend", "CoxFit", "Criterion", "EValue", "Effect", "Heterogeneity", "KaplanMeier",
    "MantelHaenszel", "PeriodCoverage", "SurvivalEffect", "TippingPoint", "Verdict",
    "calendar_trend", "cochran_q", "e_value", "estimate_effect", "fit_cox", "judge",
    "kaplan_meier", "mantel_haenszel", "period_coverage", "site_heterogeneity", "tipping_point",
    "site_effects", "e_value_rd", "GlmFit", "fit_glm",
    "SingleArm", "Subclassification", "gcomputation", "match_exact", "single_arm", "stratify",
    "ImputedData", "PooledEffect", "analyze_imputed", "impute", "pool",
]
