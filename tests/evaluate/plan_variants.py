"""Plan variants of the demo plans for the plan-variant test matrix (issue 13).

One variant changes the adjustment method, estimand, confidence level and missing-data rule
of a demo plan; everything else stays as the demo writes it. Shared by the matrix test and
by the export that wrote the analysis data sets R read (tests/reference/evaluate/methods/).
"""

from __future__ import annotations

import re

#: The seeded registries the references were made on.
SCI = {"scenario": "sci", "seed": 5,
       "params": {"n_treated": 220, "n_concurrent": 440, "n_historical": 100}}
HEART = {"scenario": "heart_failure_shortfall", "seed": 5,
         "params": {"n_treated": 120, "n_control": 240}}

METHODS = ("exact_matching", "propensity_stratification", "propensity_covariate",
           "covariate_adjustment")
ESTIMANDS = ("ATT", "ATE")
LEVELS = (0.80, 0.95)
#: Covariates matched on exactly (the categorical prognostic factors).
EXACT = {"sci": ["sex", "ais_grade", "injury_level"],
         "heart_failure_shortfall": ["sex", "nyha_class"]}
#: Propensity stratification: the plan names 6 subclasses (not MatchIt's default 5).
SUBCLASSES = 6
GCOMP = ("propensity_covariate", "covariate_adjustment")


def _controls_concurrent(text: str) -> str:
    start = text.index("controls:\n")
    end = text.index("treated_period:")
    block = text[start:end].split("  - kind: historical")[0]
    return text[:start] + block + text[end:]


def _adjustment(text: str, method: str, estimand: str, scenario: str) -> str:
    found = re.search(r"adjustment: \{method: propensity_matching, covariates: (\[[^]]*\]), "
                      r"caliper: 0.2, ratio: 2\}", text)
    assert found is not None
    covariates = found.group(1).replace(", injury_year", "")  # the covariates R's data hold
    if method == "exact_matching":
        covariates = "[" + ", ".join(EXACT[scenario]) + "]"
    extra = f", subclasses: {SUBCLASSES}" if method == "propensity_stratification" else ""
    new = f"adjustment: {{method: {method}, covariates: {covariates}, estimand: {estimand}{extra}}}"
    return text.replace(found.group(0), new)


def sci_variant(text: str, method: str, estimand: str, level: float, missing: str) -> str:
    """The sci plan with concurrent controls only, the method, estimand, level and rule.

    The survival endpoint stays (with a hazard-ratio criterion at the same level) for the
    methods that build a sample; the regression methods refuse it, so it is left out there.
    """
    text = _adjustment(_controls_concurrent(text), method, estimand, "sci")
    text = text.replace("    ci_lower_above: 0.0\n",
                        f"    ci_lower_above: 0.0\n    confidence_level: {level}\n", 1)
    if method in GCOMP:
        start = text.index("  - id: overall_survival")
        text = text[:start] + text[text.index("achievement_criteria:"):]
    else:
        text = text.replace("achievement_criteria:\n", "achievement_criteria:\n"
                            "  - endpoint: overall_survival\n    measure: hazard_ratio\n"
                            f"    ci_upper_below: 1.0\n    confidence_level: {level}\n", 1)
    return text.replace("achievement_criteria:\n",
                        f"missing_data: {{primary: {missing}}}\nachievement_criteria:\n", 1)


def heart_variant(text: str, method: str, estimand: str, level: float) -> str:
    """The heart plan with the LVEF change (continuous, primary) as its endpoint."""
    text = _adjustment(text, method, estimand, "heart_failure_shortfall")
    text = text.replace("  - id: lvef_improvement\n    role: primary\n    kind: binary\n",
                        "  - id: lvef_change\n    role: primary\n    kind: continuous\n", 1)
    text = text.replace("      derivation: change_at_least\n      threshold: 5\n",
                        "      derivation: change\n", 1)
    return re.sub(r"  - endpoint: lvef_improvement\n    measure: risk_difference\n"
                  r"    threshold: 0.10\n",
                  f"  - endpoint: lvef_change\n    measure: mean_difference\n"
                  f"    threshold: 2.0\n    confidence_level: {level}\n", text, count=1)


def variants() -> list[tuple[str, str, str, float, str]]:
    """Every (scenario, method, estimand, level, missing rule) of the matrix."""
    out = []
    for method in METHODS:
        for estimand in ESTIMANDS:
            for level in LEVELS:
                for missing in ("complete_case", "non_responder"):
                    out.append(("sci", method, estimand, level, missing))
                out.append(("heart_failure_shortfall", method, estimand, level, "complete_case"))
    return out


def variant_text(scenario: str, text: str, method: str, estimand: str, level: float,
                 missing: str) -> str:
    if scenario == "sci":
        return sci_variant(text, method, estimand, level, missing)
    return heart_variant(text, method, estimand, level)


def key(scenario: str, method: str, estimand: str, level: float, missing: str) -> str:
    """The variant's name in the reference JSON."""
    return f"{scenario}|{method}|{estimand}|{level:.2f}|{missing}"
