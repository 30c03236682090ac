"""regmed.evidence — see DESIGN.md."""

# --- adjustment (matching helper): propensity, matching, weighting, balance ---
from regmed.evidence.balance import Balance, balance
from regmed.evidence.matching import Matching, match
from regmed.evidence.propensity import PropensityScore, fit_propensity
from regmed.evidence.sample import AdjustedSample
from regmed.evidence.weighting import Weighting, weight

# --- end adjustment ---

__all__ = [
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
