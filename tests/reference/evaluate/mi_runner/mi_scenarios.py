"""The analysis specifications of the MatchThem reference scenarios (shared by the input
script and the test)."""

from __future__ import annotations

from typing import Any

from regmed.plan.spec import AnalysisSpec

_BASE: dict[str, Any] = {
    "role": "primary", "control_source": "concurrent", "control_cohorts": ("concurrent_control",),
    "missing_data": "multiple_imputation", "imputations": 5, "imputation_seed": 4242,
    "imputation_iterations": 10, "covariates": ("age", "sex", "severity"),
}

#: name -> AnalysisSpec fields beyond the base
SCENARIOS: dict[str, dict[str, Any]] = {
    "match_binary_rd": {"endpoint": "response", "endpoint_kind": "binary",
                        "method": "propensity_matching", "estimand": "ATT", "caliper": 0.2,
                        "ratio": 1, "measure": "risk_difference", "confidence_level": 0.95},
    "match_binary_or": {"endpoint": "response", "endpoint_kind": "binary",
                        "method": "propensity_matching", "estimand": "ATT", "caliper": None,
                        "ratio": 1, "measure": "odds_ratio", "confidence_level": 0.90},
    "match_continuous": {"endpoint": "score", "endpoint_kind": "continuous",
                         "method": "propensity_matching", "estimand": "ATT", "caliper": 0.2,
                         "ratio": 1, "measure": "mean_difference", "confidence_level": 0.95},
    "weight_att_continuous": {"endpoint": "score", "endpoint_kind": "continuous",
                              "method": "propensity_weighting", "estimand": "ATT",
                              "measure": "mean_difference", "confidence_level": 0.95},
    "weight_ate_binary": {"endpoint": "response", "endpoint_kind": "binary",
                          "method": "propensity_weighting", "estimand": "ATE",
                          "measure": "risk_ratio", "confidence_level": 0.95},
}


def spec_of(name: str) -> AnalysisSpec:
    """The AnalysisSpec of scenario ``name``."""
    return AnalysisSpec(**_BASE, **SCENARIOS[name])
