"""Checks for items (6) control group and direction (A–E, D ①–⑧) and (7) of the index.

A control without its own ``adjustment`` is analysed with the adjustment stated for the
other controls (the first control that states one); the findings say so. This lets a
historical cohort that is pooled with concurrent controls (the example plan) share their
propensity-score model, with its era handled by ``era_adjustment``.

References
----------
MHLW (2024). Evaluation index for MSC products (``seeds/000``), section 6 (6) and (7).
"""

from __future__ import annotations

import datetime as dt

from regmed.plan.findings import DataFacts, Finding
from regmed.plan.model import PROPENSITY_METHODS, Adjustment, Control, Plan

__all__ = ["check_items_6_and_7", "effective_adjustment"]

#: Exact matching is acceptable for at most this many factors (index 6 (6) D-⑦).
MAX_EXACT_FACTORS = 3


def _f(item: str, point: str, status: str, message: str, ref: str, source: str = "plan"):
    return Finding(item, point, status, message, ref, source)  # type: ignore[arg-type]


def effective_adjustment(plan: Plan, index: int) -> tuple[Adjustment | None, str]:
    """The adjustment used for ``plan.controls[index]`` and where it is stated."""
    own = plan.controls[index].adjustment
    if own is not None:
        return own, f"controls[{index}].adjustment"
    for j, c in enumerate(plan.controls):
        if c.adjustment is not None:
            return c.adjustment, f"controls[{j}].adjustment (shared)"
    return None, ""


def _label(i: int, c: Control) -> str:
    return f"controls[{i}] ({c.kind}, {c.direction})"


def _is_prospective_concurrent(c: Control) -> bool:
    return c.kind == "concurrent" and c.direction == "prospective"


def _other_sites(c: Control) -> bool:
    return c.sites in ("other", "same_and_other")


def _covers(period: tuple[dt.date, dt.date], treated: tuple[dt.date, dt.date]) -> bool:
    return period[0] <= treated[0] and period[1] >= treated[1]


def _check_a_to_c(plan: Plan) -> list[Finding]:
    out: list[Finding] = []
    if plan.controls:
        msg = f"{len(plan.controls)} control cohort(s) set"
        out.append(_f("6", "A", "met", msg, "6 (6) A"))
    elif plan.control_justification:
        msg = "no control group; justified"
        out.append(_f("6", "A", "justified", msg, "6 (6) A"))
    else:
        msg = "no control group and control_justification is empty"
        out.append(_f("6", "A", "missing", msg, "6 (6) A"))

    preferred = [
        i
        for i, c in enumerate(plan.controls)
        if _is_prospective_concurrent(c) and c.sites in ("same", "equivalent", "same_and_other")
    ]
    if preferred:
        msg = f"concurrent prospective control at the same/equivalent sites: controls{preferred}"
        out.append(_f("6", "B", "met", msg, "6 (6) B"))
    elif plan.control_justification:
        msg = "no concurrent prospective control at the same sites; justified"
        out.append(_f("6", "B", "justified", msg, "6 (6) B"))
    else:
        msg = (
            "no concurrent prospective control at the same or equivalent sites and "
            "control_justification is empty"
        )
        out.append(_f("6", "B", "missing", msg, "6 (6) B"))

    same_only = [(i, c) for i, c in enumerate(plan.controls) if c.sites == "same"]
    if not same_only:
        msg = "no control drawn from the treating sites alone"
        out.append(_f("6", "C", "met", msg, "6 (6) C"))
    for i, c in same_only:
        if c.justification:
            msg = f"{_label(i, c)}: same-site controls; selection bias addressed"
            out.append(_f("6", "C", "justified", msg, "6 (6) C"))
        else:
            msg = (
                f"{_label(i, c)}: same-site controls tend to be patients who could not get the "
                "product; justification is empty"
            )
            out.append(_f("6", "C", "missing", msg, "6 (6) C"))
    return out


def _check_d(plan: Plan, facts: DataFacts | None) -> list[Finding]:
    out: list[Finding] = []
    pros = [(i, c) for i, c in enumerate(plan.controls) if c.direction == "prospective"]

    # D-1: other-site prospective controls differ in background → adjustment
    d1 = [(i, c) for i, c in pros if _other_sites(c)]
    if not d1:
        msg = "no prospective control from other sites"
        out.append(_f("6", "D1", "met", msg, "6 (6) D-1, C"))
    for i, c in d1:
        adj, where = effective_adjustment(plan, i)
        if adj is not None and adj.covariates:
            msg = f"{_label(i, c)}: site differences adjusted by {adj.method} ({where})"
            out.append(_f("6", "D1", "met", msg, "6 (6) D-1, C"))
        else:
            msg = f"{_label(i, c)}: controls from other sites but no adjustment with covariates"
            out.append(_f("6", "D1", "missing", msg, "6 (6) D-1, C"))

    # D-2: special restrictions on sites (supply region, Cartagena Act) — recorded, not scored
    msg = "informational: restrictions on sites belong in sites.justification"
    if plan.sites is not None and plan.sites.justification:
        msg = "site restrictions stated: " + plan.sites.justification
    out.append(_f("6", "D2", "met", msg, "6 (6) D-2"))

    # D-3: widely distributed (allogeneic) products make prospective non-user data hard
    conc = [(i, c) for i, c in pros if c.kind == "concurrent"]
    if plan.product.type != "allogeneic" or not conc:
        msg = "not applicable (not an allogeneic product with a concurrent prospective control)"
        out.append(_f("6", "D3", "met", msg, "6 (6) D-3"))
    for i, c in conc if plan.product.type == "allogeneic" else []:
        if c.feasibility:
            msg = f"{_label(i, c)}: recruitment of non-users addressed"
            out.append(_f("6", "D3", "justified", msg, "6 (6) D-3"))
        else:
            msg = (
                f"{_label(i, c)}: allogeneic product; feasibility of recruiting non-users is "
                "not stated"
            )
            out.append(_f("6", "D3", "missing", msg, "6 (6) D-3"))

    # D-4: surgery → Hawthorne and placebo effects (also index 6 (4))
    r = plan.randomization
    if not plan.product.surgery:
        msg = "not applicable (no surgery with administration)"
        out.append(_f("6", "D4", "met", msg, "6 (6) D-4, 6 (4)"))
    elif r is not None and r.placebo_effect_handling:
        msg = "surgery: Hawthorne/placebo effects addressed"
        out.append(_f("6", "D4", "justified", msg, "6 (6) D-4, 6 (4)"))
    else:
        msg = "surgery with administration; randomization.placebo_effect_handling is empty"
        out.append(_f("6", "D4", "missing", msg, "6 (6) D-4, 6 (4)"))

    # D-5: all sites must assess in the standardized way
    if not d1:
        msg = "no prospective control from other sites"
        out.append(_f("6", "D5", "met", msg, "6 (6) D-5"))
    else:
        unstd = [e.id for e in plan.primary_endpoints if not e.standardization]
        if unstd:
            msg = f"control sites assess {unstd} without a stated standardization"
            out.append(_f("6", "D5", "missing", msg, "6 (6) D-5"))
        else:
            msg = "primary endpoints assessed in a standardized way at every site"
            out.append(_f("6", "D5", "met", msg, "6 (6) D-5"))

    out.extend(_check_d6(plan, facts))
    out.extend(_check_d7_d8(plan))
    return out


#: In the data, controls whose first (last) enrolment falls at most this many days after
#: (before) the first (last) treated patient's still cover the treated period: enrolment is
#: staggered, and a few weeks at either end do not change the era (index 6 (6) D-6).
DATA_GAP_TOLERANCE_DAYS = 60


def _check_d6(plan: Plan, facts: DataFacts | None) -> list[Finding]:
    ref = "6 (6) D-6"
    out: list[Finding] = []
    pros = [(i, c) for i, c in enumerate(plan.controls) if c.direction == "prospective"]
    tp = plan.treated_period
    treated = (tp.start, tp.end) if tp is not None else None
    if not pros:
        msg = "no prospectively collected control"
        out.append(_f("6", "D6", "met", msg, ref))
    for i, c in pros:
        if treated is None:
            msg = f"{_label(i, c)}: treated_period is not stated"
            out.append(_f("6", "D6", "missing", msg, ref))
        elif c.period is None:
            msg = f"{_label(i, c)}: period is not stated"
            out.append(_f("6", "D6", "missing", msg, ref))
        elif _covers((c.period.start, c.period.end), treated):
            msg = f"{_label(i, c)}: {c.period.start}–{c.period.end} covers the treated period"
            out.append(_f("6", "D6", "met", msg, ref))
        else:
            msg = (
                f"{_label(i, c)}: {c.period.start}–{c.period.end} does not cover the treated "
                f"period {treated[0]}–{treated[1]}"
            )
            if c.period_justification:
                out.append(_f("6", "D6", "justified", msg + "; justified", ref))
            else:
                out.append(_f("6", "D6", "not_met", msg, ref))
    if facts is not None:
        actual_t = facts.treated_period or treated
        for i, period in sorted(facts.control_periods.items()):
            if i >= len(plan.controls) or plan.controls[i].direction != "prospective":
                continue
            if actual_t is None:
                continue
            c = plan.controls[i]
            span = f"{period[0]}–{period[1]}"
            t_span = f"{actual_t[0]}–{actual_t[1]}"
            gap_start = max(0, (period[0] - actual_t[0]).days)
            gap_end = max(0, (actual_t[1] - period[1]).days)
            if _covers(period, actual_t):
                msg = f"{_label(i, c)}: data collected {span} cover the treated data {t_span}"
                out.append(_f("6", "D6", "met", msg, ref, "data"))
            elif max(gap_start, gap_end) <= DATA_GAP_TOLERANCE_DAYS:
                msg = (f"{_label(i, c)}: data collected {span} cover the treated data {t_span} "
                       f"up to the staggered first/last enrolment ({gap_start} and {gap_end} "
                       f"days, within the {DATA_GAP_TOLERANCE_DAYS}-day tolerance)")
                out.append(_f("6", "D6", "met", msg, ref, "data"))
            else:
                msg = f"{_label(i, c)}: data collected {span} do not cover the treated {t_span}"
                status = "justified" if c.period_justification else "not_met"
                out.append(_f("6", "D6", status, msg, ref, "data"))
    return out


def _check_d7_d8(plan: Plan) -> list[Finding]:
    out: list[Finding] = []
    ext = [(i, c) for i, c in enumerate(plan.controls) if c.kind in ("external", "historical")]
    if not ext:
        out.append(_f("6", "D7", "met", "no external or historical control", "6 (6) D-7"))
        out.append(_f("6", "D8", "met", "no external or historical control", "6 (6) D-8, E"))
    for i, c in ext:
        adj, where = effective_adjustment(plan, i)
        if adj is None:
            msg = f"{_label(i, c)}: no adjustment method for prognostic factors"
            out.append(_f("6", "D7", "missing", msg, "6 (6) D-7"))
        elif not adj.covariates:
            msg = f"{_label(i, c)}: {adj.method} ({where}) names no prognostic covariates"
            out.append(_f("6", "D7", "missing", msg, "6 (6) D-7"))
        elif adj.method not in PROPENSITY_METHODS and len(adj.covariates) > MAX_EXACT_FACTORS:
            msg = (
                f"{_label(i, c)}: {adj.method} on {len(adj.covariates)} prognostic factors; "
                "beyond a few factors the index asks for propensity-score adjustment"
            )
            out.append(_f("6", "D7", "not_met", msg, "6 (6) D-7"))
        else:
            msg = f"{_label(i, c)}: {adj.method} on {', '.join(adj.covariates)} ({where})"
            out.append(_f("6", "D7", "met", msg, "6 (6) D-7"))
        if not c.source:
            msg = f"{_label(i, c)}: the data source (registry or records) is not named"
            out.append(_f("6", "D8", "missing", msg, "6 (6) D-8, E"))
        elif c.validated_registry is False:
            msg = f"{_label(i, c)}: source {c.source!r} is not a validated database"
            status = "justified" if c.justification else "not_met"
            out.append(_f("6", "D8", status, msg, "6 (6) D-8, E"))
        else:
            msg = f"{_label(i, c)}: source {c.source!r}"
            out.append(_f("6", "D8", "met", msg, "6 (6) D-8, E"))
    return out


def _check_e(plan: Plan, facts: DataFacts | None) -> list[Finding]:
    ref = "6 (6) E"
    out: list[Finding] = []
    retro = [(i, c) for i, c in enumerate(plan.controls) if c.direction == "retrospective"]
    if not retro:
        out.append(_f("6", "E-data", "met", "no retrospective control", ref))
        out.append(_f("6", "E-era", "met", "no retrospective control", ref))
    for i, c in retro:
        if c.data_availability_confirmed is True:
            msg = f"{_label(i, c)}: availability of the needed data confirmed"
            out.append(_f("6", "E-data", "met", msg, ref))
        elif c.data_availability_confirmed is False:
            msg = f"{_label(i, c)}: the needed data are not available (confirmed false)"
            out.append(_f("6", "E-data", "not_met", msg, ref))
        else:
            msg = f"{_label(i, c)}: data_availability_confirmed is not stated"
            out.append(_f("6", "E-data", "missing", msg, ref))
        if c.era_adjustment:
            msg = f"{_label(i, c)}: era handled: {c.era_adjustment}"
            out.append(_f("6", "E-era", "met", msg, ref))
        else:
            msg = f"{_label(i, c)}: era differences (care, rehabilitation) not addressed"
            out.append(_f("6", "E-era", "missing", msg, ref))
        if facts is not None and i in facts.control_covariates:
            adj, _ = effective_adjustment(plan, i)
            needed = set(adj.covariates) if adj is not None else set()
            lacking = sorted(needed - set(facts.control_covariates[i]))
            if lacking:
                msg = f"{_label(i, c)}: the data lack covariates {lacking}"
                out.append(_f("6", "E-data", "not_met", msg, ref, "data"))
            else:
                msg = f"{_label(i, c)}: the data hold every adjustment covariate"
                out.append(_f("6", "E-data", "met", msg, ref, "data"))
    return out


def _check_7(plan: Plan, facts: DataFacts | None) -> list[Finding]:
    out: list[Finding] = []
    if plan.study_type != "use_results_survey":
        msg = "not applicable (a post-marketing clinical trial)"
        out.append(_f("7", "A", "met", msg, "6 (7) A"))
    else:
        j = plan.use_results_survey_justification
        parts = ("severity", "patient_count", "qol", "alternatives")
        absent = [p for p in parts if j is None or not (getattr(j, p) or "").strip()]
        if absent:
            msg = "use_results_survey_justification does not cover: " + ", ".join(absent)
            out.append(_f("7", "A", "missing", msg, "6 (7) A"))
        else:
            msg = "severity, patient count, QOL and alternatives are addressed"
            out.append(_f("7", "A", "met", msg, "6 (7) A"))

    qa = plan.quality_efficacy_analyses
    if qa:
        msg = f"{len(qa)} quality–efficacy analyses: " + ", ".join(q.id for q in qa)
        out.append(_f("7", "B", "met", msg, "6 (7) B"))
    else:
        msg = "quality_efficacy_analyses is empty (quality data are to be linked to efficacy)"
        out.append(_f("7", "B", "missing", msg, "6 (7) B"))
    if facts is not None and facts.lot_linked_share is not None:
        share = facts.lot_linked_share
        status = "met" if share >= facts.min_share else "not_met"
        msg = f"{share:.0%} of treated patients linked to a lot with quality data"
        out.append(_f("7", "B", status, msg, "6 (7) B", "data"))

    m = plan.management_plan
    if m is not None and m.risks and m.mitigations:
        msg = f"{len(m.risks)} risks, {len(m.mitigations)} mitigations"
        out.append(_f("7", "C", "met", msg, "6 (7) C"))
    else:
        what = "no management_plan" if m is None else "management_plan lacks risks or mitigations"
        out.append(_f("7", "C", "missing", what, "6 (7) C"))
    return out


def check_items_6_and_7(plan: Plan, facts: DataFacts | None) -> list[Finding]:
    """Findings for items (6) A–E and (7) A–C, in index order."""
    return [
        *_check_a_to_c(plan),
        *_check_d(plan, facts),
        *_check_e(plan, facts),
        *_check_7(plan, facts),
    ]
