"""Planned against achieved sample size, and the power the achieved sample gives."""

from __future__ import annotations

from typing import Any

from regmed import design
from regmed.plan import Plan
from regmed.studydata import StudyData

__all__ = ["power_entry"]

_CONTROL_COHORTS = ("concurrent_control", "external_control", "historical_control")
_KIND_COHORT = {"concurrent": "concurrent_control", "external": "external_control",
                "historical": "historical_control"}


def _power(method: str, a: Any, n_treated: float, n_control: float) -> float | None:
    if n_treated < 2 or n_control < 2:
        return 0.0
    if method == "rates":
        return float(design.power_rates(
            p_treated=a.p_treated, p_control=a.p_control, n_treated=n_treated,
            n_control=n_control, alpha=a.alpha, sided=a.sided, method="normal").power)
    if method == "means":
        return float(design.power_means(
            difference=a.difference, sd=a.sd, n_treated=n_treated, n_control=n_control,
            alpha=a.alpha, sided=a.sided).power)
    return None


def power_entry(plan: Plan, data: StudyData) -> dict[str, Any] | None:
    """Compare the plan's sample size with the patients enrolled, and the power they give.

    The achieved power is computed under the plan's own assumptions (the planned effect) with
    the enrolled numbers of treated patients and of controls of the primary control source —
    as ``rpact::getPowerRates`` / ``getPowerMeans`` for a fixed design.

    References
    ----------
    .. [1] Wassmer G, Brannath W (2016). Group Sequential and Confirmatory Adaptive Designs in
       Clinical Trials. Springer.
    """
    ss = plan.sample_size
    if ss is None:
        return None
    cohorts = data.facts.get("cohorts", {})
    n_treated = int(cohorts.get("treated", {}).get("n", 0))
    primary_cohort = _KIND_COHORT[plan.controls[0].kind] if plan.controls else None
    n_control = int(cohorts.get(primary_cohort, {}).get("n", 0)) if primary_cohort else 0
    planned_t = int(ss.n_treated)
    planned_c = int(ss.n_control or 0)
    assumptions = ss.assumptions
    planned_power = float(getattr(assumptions, "power", float("nan")))
    achieved = _power(ss.method, assumptions, n_treated, n_control)
    shortfall = n_treated < planned_t or n_control < planned_c
    if shortfall:
        pw = "" if achieved is None else (
            f"; with them the power to show the planned effect is {achieved:.0%} "
            f"(planned {planned_power:.0%})")
        message = (f"Enrollment fell short of the plan: {n_treated} treated and {n_control} "
                   f"controls against {planned_t} and {planned_c}{pw}"
                   + (", so the achievement criteria cannot be expected to be met."
                      if achieved is not None and achieved < 0.5 else "."))
    else:
        message = (f"Enrollment reached the plan: {n_treated} treated and {n_control} controls "
                   f"against {planned_t} and {planned_c}.")
    return {"planned_n_treated": planned_t, "planned_n_control": planned_c,
            "n_treated": n_treated, "n_control": n_control, "planned_power": planned_power,
            "achieved_power": achieved, "shortfall": bool(shortfall), "message": message}
