"""Checks for items (1)–(5) of section 6 of the evaluation index.

Sample size (1), sites (2), objective endpoints and achievement criteria (3), randomization
(4), blinding and central adjudication (5). Each function returns a list of findings.

References
----------
MHLW (2024). Evaluation index for MSC products (``seeds/000``), section 6 (1)–(5).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from regmed.plan.findings import DataFacts, Finding
from regmed.plan.model import Endpoint, Plan

__all__ = ["RequiredSize", "design_calculator", "check_items_1_to_5", "criterion_direction"]


@dataclass(frozen=True)
class RequiredSize:
    """Sample size required by the stated assumptions (unrounded, as the design returns it)."""

    n_treated: float
    n_control: float | None = None
    events: float | None = None


SampleSizeCalculator = Callable[[str, dict[str, Any]], RequiredSize]


def _first(obj: Any, *names: str) -> float | None:
    for name in names:
        value = getattr(obj, name, None)
        if value is not None:
            return float(value)
    return None


def design_calculator(method: str, assumptions: dict[str, Any]) -> RequiredSize:
    """Recompute a sample size with :mod:`regmed.design`.

    The plan package imports ``regmed.design`` here, inside the function, on purpose: it is
    the one crossing from ``plan`` into a science package (DESIGN.md lists only ``errors``
    for ``plan``), needed so that the check recomputes the stated numbers with the same code
    the analyses use.

    Parameters
    ----------
    method : {"rates", "means", "survival", "single_arm"}
        Selects ``regmed.design.sample_size_<method>``.
    assumptions : dict
        Keyword arguments for that function (the plan's ``sample_size.assumptions``).

    Raises
    ------
    LookupError
        When ``regmed.design`` does not (yet) provide the function.

    References
    ----------
    Wassmer G, Brannath W (2016). Group Sequential and Confirmatory Adaptive Designs in
    Clinical Trials. Springer (the formulas rpact implements).
    """
    from regmed import design  # deliberate crossing, see the docstring

    fn = getattr(design, f"sample_size_{method}", None)
    if fn is None:
        raise LookupError(f"regmed.design.sample_size_{method} is not available")
    result = fn(**assumptions)
    n_treated = _first(result, "n_treated", "n")
    if n_treated is None:
        raise LookupError(f"regmed.design.sample_size_{method} returned no n_treated")
    return RequiredSize(
        n_treated=n_treated,
        n_control=_first(result, "n_control"),
        events=_first(result, "events", "n_events", "required_events"),
    )


def _ceil(x: float) -> int:
    return math.ceil(x - 1e-9)


def _f(item: str, point: str, status: str, message: str, ref: str, source: str = "plan"):
    return Finding(item, point, status, message, ref, source)  # type: ignore[arg-type]


# --- (1) sample size -----------------------------------------------------------------------


def _check_sample_size(
    plan: Plan, facts: DataFacts | None, calc: SampleSizeCalculator
) -> list[Finding]:
    ref = "6 (1)"
    ss = plan.sample_size
    if ss is None:
        return [_f("1", "size", "missing", "no sample_size block: the plan states no size", ref)]
    out: list[Finding] = []
    try:
        try:
            req = calc(ss.method, ss.assumptions.model_dump())
        except TypeError:
            # the design function may not take every option; retry with what the plan states
            req = calc(ss.method, ss.assumptions.model_dump(exclude_unset=True))
    except TypeError as exc:
        out.append(_f("1", "size", "missing", f"cannot recompute the sample size: {exc}", ref))
        req = None
    except LookupError as exc:
        out.append(_f("1", "size", "missing", f"cannot recompute the sample size: {exc}", ref))
        req = None
    except (ValueError, ArithmeticError) as exc:
        msg = f"the stated assumptions give no sample size: {exc}"
        out.append(_f("1", "size", "not_met", msg, ref))
        req = None
    if req is not None:
        need_t = _ceil(req.n_treated)
        need_c = _ceil(req.n_control) if req.n_control is not None else None
        short = []
        if ss.n_treated < need_t:
            short.append(f"n_treated {ss.n_treated} < {need_t}")
        if need_c is not None and (ss.n_control or 0) < need_c:
            short.append(f"n_control {ss.n_control} < {need_c}")
        need_e = _ceil(req.events) if req.events is not None else None
        if need_e is not None and ss.events is not None and ss.events < need_e:
            short.append(f"events {ss.events} < {need_e}")
        needed = f"n_treated {need_t}" + (f", n_control {need_c}" if need_c else "")
        if need_e is not None:
            needed += f", events {need_e}"
        if short:
            msg = (
                f"the stated size does not follow from the {ss.method} assumptions "
                f"(required {needed}): " + "; ".join(short)
            )
            out.append(_f("1", "size", "not_met", msg, ref))
        else:
            msg = f"stated size covers the {ss.method} assumptions (required {needed})"
            out.append(_f("1", "size", "met", msg, ref))

    out.append(_sample_size_endpoint(plan))
    out.append(_control_size(plan))
    out.append(_assumed_control_rate(plan))
    out.append(_interim(plan))
    if facts is not None and facts.n_by_cohort:
        n_t = facts.n_by_cohort.get("treated")
        n_c = sum(v for k, v in facts.n_by_cohort.items() if k != "treated")
        short = []
        if n_t is not None and n_t < ss.n_treated:
            short.append(f"treated {n_t} of {ss.n_treated}")
        if ss.n_control is not None and n_c < ss.n_control:
            short.append(f"control {n_c} of {ss.n_control}")
        if short:
            msg = "enrolment falls short of the plan: " + "; ".join(short)
            out.append(_f("1", "enrolment", "not_met", msg, ref, "data"))
        else:
            msg = f"enrolment reaches the plan (treated {n_t}, control {n_c})"
            out.append(_f("1", "enrolment", "met", msg, ref, "data"))
    return out


_METHOD_KIND = {
    "rates": "binary",
    "single_arm": "binary",
    "means": "continuous",
    "survival": "survival",
}


def _sample_size_endpoint(plan: Plan) -> Finding:
    ref = "6 (1)"
    ss = plan.sample_size
    assert ss is not None
    primaries = plan.primary_endpoints
    if ss.endpoint is None:
        if len(primaries) != 1:
            msg = "sample_size.endpoint is not given and there is not exactly one primary endpoint"
            return _f("1", "endpoint", "missing", msg, ref)
        ep = primaries[0]
    else:
        found = plan.endpoint(ss.endpoint)
        assert found is not None  # references are checked when loading
        ep = found
    if ep.role != "primary":
        msg = f"the sample size is based on {ep.id!r}, which is not a primary endpoint"
        return _f("1", "endpoint", "not_met", msg, ref)
    if _METHOD_KIND[ss.method] != ep.kind:
        msg = f"method {ss.method!r} does not fit the {ep.kind} endpoint {ep.id!r}"
        return _f("1", "endpoint", "not_met", msg, ref)
    return _f("1", "endpoint", "met", f"sized on the primary endpoint {ep.id!r}", ref)


def _control_size(plan: Plan) -> Finding:
    ref = "6 (1)"
    ss = plan.sample_size
    assert ss is not None
    if ss.method == "single_arm" or ss.n_control is None:
        if ss.justification:
            msg = "no control group in the sample size; justified: " + ss.justification
            return _f("1", "control_size", "justified", msg, ref)
        msg = "the sample size has no control group; the index stresses the control group's size"
        return _f("1", "control_size", "missing", msg, ref)
    if ss.n_control >= ss.n_treated:
        msg = f"control group ({ss.n_control}) at least as large as treated ({ss.n_treated})"
        return _f("1", "control_size", "met", msg, ref)
    if ss.justification:
        msg = f"control group ({ss.n_control}) smaller than treated ({ss.n_treated}); justified"
        return _f("1", "control_size", "justified", msg, ref)
    msg = (
        f"control group ({ss.n_control}) is the smaller side (treated {ss.n_treated}) and "
        "sample_size.justification is empty"
    )
    return _f("1", "control_size", "not_met", msg, ref)


def _assumed_control_rate(plan: Plan) -> Finding:
    """The assumed control outcome should be the stated natural history (index 6 (3))."""
    ref = "6 (1), 6 (3)"
    ss = plan.sample_size
    assert ss is not None
    assumed = getattr(ss.assumptions, "p_control", None)
    if assumed is None:
        assumed = getattr(ss.assumptions, "p0", None)
    ep = plan.endpoint(ss.endpoint) if ss.endpoint else None
    if ep is None and len(plan.primary_endpoints) == 1:
        ep = plan.primary_endpoints[0]
    nh = ep.natural_history.rate if ep is not None and ep.natural_history else None
    if assumed is None or nh is None:
        msg = "no control rate to compare with a natural-history rate"
        return _f("1", "assumptions", "met", msg, ref)
    if abs(assumed - nh) <= 0.05 + 1e-12:
        msg = f"assumed control rate {assumed:g} agrees with natural history {nh:g}"
        return _f("1", "assumptions", "met", msg, ref)
    msg = f"assumed control rate {assumed:g} differs from the natural-history rate {nh:g}"
    if ss.justification:
        return _f("1", "assumptions", "justified", msg + "; justified", ref)
    return _f("1", "assumptions", "not_met", msg + " and sample_size.justification is empty", ref)


def _interim(plan: Plan) -> Finding:
    ref = "6 (1)"
    ss = plan.sample_size
    assert ss is not None
    if ss.interim is None or ss.interim.reestimation is None:
        return _f("1", "interim", "met", "no sample-size re-estimation planned", ref)
    re_ = ss.interim.reestimation
    gaps = []
    if len(ss.interim.information_rates) < 2:
        gaps.append("no interim look in interim.information_rates")
    if re_.max_n_treated is None:
        gaps.append("no maximum (reestimation.max_n_treated)")
    elif re_.max_n_treated <= ss.n_treated:
        gaps.append(f"max_n_treated {re_.max_n_treated} is not above n_treated {ss.n_treated}")
    if re_.max_n_control is not None and ss.n_control and re_.max_n_control <= ss.n_control:
        gaps.append(f"max_n_control {re_.max_n_control} is not above n_control {ss.n_control}")
    if re_.rule == "conditional_power" and re_.conditional_power_target is None:
        gaps.append("rule conditional_power without conditional_power_target")
    if re_.rule == "other" and not re_.description:
        gaps.append("rule 'other' without a description")
    if gaps:
        msg = "sample-size re-estimation not fully pre-specified: " + "; ".join(gaps)
        return _f("1", "interim", "not_met", msg, ref)
    msg = f"re-estimation rule {re_.rule!r} with maximum n_treated {re_.max_n_treated}"
    return _f("1", "interim", "met", msg, ref)


# --- (2) sites -----------------------------------------------------------------------------


def _check_sites(plan: Plan, facts: DataFacts | None) -> list[Finding]:
    ref = "6 (2)"
    out: list[Finding] = []
    s = plan.sites
    if s is None:
        out.append(_f("2", "count", "missing", "no sites block", ref))
    elif s.count >= 2:
        out.append(_f("2", "count", "met", f"{s.count} sites", ref))
    elif s.justification:
        out.append(_f("2", "count", "justified", "a single site; justified", ref))
    else:
        msg = "a single site and sites.justification is empty"
        out.append(_f("2", "count", "missing", msg, ref))
    if facts is not None and facts.site_count is not None:
        if facts.site_count >= 2 or (s is not None and s.count == 1 and s.justification):
            msg = f"{facts.site_count} site(s) contributed patients"
            out.append(_f("2", "count", "met", msg, ref, "data"))
        else:
            msg = f"only {facts.site_count} site contributed patients"
            out.append(_f("2", "count", "not_met", msg, ref, "data"))
    return out


# --- (3) endpoints and achievement criteria ------------------------------------------------


def criterion_direction(measure: str, endpoint: Endpoint, explicit: str | None) -> str:
    """Which side is better for a criterion: ``"greater"`` or ``"less"``.

    Explicit if given; else ``"less"`` for hazard ratios (as :func:`regmed.evidence.judge`),
    else from the endpoint's ``better``.
    """
    if explicit is not None:
        return explicit
    if measure == "hazard_ratio":
        return "less"
    return "greater" if endpoint.better == "higher" else "less"


def _null_value(measure: str, endpoint: Endpoint) -> tuple[float | None, str]:
    """The value the criterion must beat: no effect, or natural recovery for absolute ones."""
    if measure in ("risk_difference", "mean_difference", "rmst_difference"):
        return 0.0, "no difference"
    if measure in ("risk_ratio", "odds_ratio", "hazard_ratio"):
        return 1.0, "a ratio of 1"
    nh = endpoint.natural_history
    if nh is None:
        return None, "natural history (not stated)"
    value = {"proportion": nh.rate, "mean": nh.mean, "median_survival": nh.median_time}[measure]
    return value, f"natural history {value:g}" if value is not None else "natural history"


def _check_endpoints(plan: Plan) -> list[Finding]:
    ref = "6 (3)"
    out: list[Finding] = []
    primaries = plan.primary_endpoints
    if not primaries:
        out.append(_f("3", "primary", "missing", "no endpoint has role primary", ref))
    for e in plan.endpoints:
        if e.role == "exploratory":
            continue
        if e.objective:
            out.append(_f("3", "objective", "met", f"{e.id}: objective endpoint", ref))
        elif e.objective_justification:
            msg = f"{e.id}: not objective; justified"
            out.append(_f("3", "objective", "justified", msg, ref))
        else:
            msg = f"{e.id}: not objective and objective_justification is empty"
            out.append(_f("3", "objective", "missing", msg, ref))
    for e in primaries:
        if e.natural_history is None:
            msg = f"{e.id}: natural recovery (natural_history) is not stated"
            out.append(_f("3", "natural_history", "missing", msg, ref))
        else:
            msg = f"{e.id}: natural history from {e.natural_history.source}"
            out.append(_f("3", "natural_history", "met", msg, ref))
        if e.standardization:
            msg = f"{e.id}: assessment standardized"
            out.append(_f("3", "standardization", "met", msg, ref))
        else:
            msg = f"{e.id}: no standardization of the assessment across assessors and sites"
            out.append(_f("3", "standardization", "missing", msg, ref))
        if e.kind == "survival":
            if e.event is None:
                msg = f"{e.id}: survival endpoint without an event definition (event)"
                out.append(_f("3", "event", "missing", msg, ref))
            else:
                out.append(_f("3", "event", "met", f"{e.id}: event defined", ref))
        out.extend(_criteria_for(plan, e))
    return out


def _criteria_for(plan: Plan, e: Endpoint) -> list[Finding]:
    ref = "6 (3)"
    crits = [c for c in plan.achievement_criteria if c.endpoint == e.id]
    if not crits:
        msg = f"{e.id}: no achievement criterion for this primary endpoint"
        return [_f("3", "criteria", "missing", msg, ref)]
    out = [_f("3", "criteria", "met", f"{e.id}: {len(crits)} achievement criterion(s)", ref)]
    for c in crits:
        greater = criterion_direction(c.measure, e, c.direction) == "greater"
        null, what = _null_value(c.measure, e)
        problems = []
        if null is None:
            problems.append(f"the {c.measure} criterion cannot be compared with {what}")
        else:
            if c.threshold is not None:
                beyond = c.threshold > null if greater else c.threshold < null
                if not beyond:
                    problems.append(f"threshold {c.threshold:g} does not exceed {what}")
            bound = c.ci_lower_above if greater else c.ci_upper_below
            name = "ci_lower_above" if greater else "ci_upper_below"
            if bound is None:
                problems.append(f"no confidence bound ({name})")
            elif (bound < null) if greater else (bound > null):
                problems.append(f"{name} {bound:g} lies on the wrong side of {what}")
        if problems:
            msg = f"{e.id}: {c.measure} criterion: " + "; ".join(problems)
            out.append(_f("3", "criteria_level", "not_met", msg, ref))
        else:
            level = f"{c.threshold:g}" if c.threshold is not None else "(CI bound only)"
            msg = f"{e.id}: {c.measure} criterion {level} lies beyond {what}"
            out.append(_f("3", "criteria_level", "met", msg, ref))
    return out


# --- (4) randomization ---------------------------------------------------------------------


def _check_randomization(plan: Plan) -> list[Finding]:
    ref = "6 (4)"
    r = plan.randomization
    if r is None:
        return [_f("4", "randomization", "missing", "no randomization block", ref)]
    if r.feasible:
        return [_f("4", "randomization", "met", "patients are randomized", ref)]
    if r.justification:
        msg = "not randomized; reason given: " + r.justification
        return [_f("4", "randomization", "justified", msg, ref)]
    msg = "not randomized and randomization.justification is empty"
    return [_f("4", "randomization", "missing", msg, ref)]


# --- (5) blinding and central adjudication -------------------------------------------------


def _check_blinding(plan: Plan, facts: DataFacts | None) -> list[Finding]:
    ref = "6 (5)"
    out: list[Finding] = []
    b = plan.blinding
    if b is None:
        out.append(_f("5", "assessor", "missing", "no blinding block", ref))
        out.append(_f("5", "committee", "missing", "no blinding block", ref))
    else:
        if b.assessor_blinded:
            out.append(_f("5", "assessor", "met", "assessors are blinded", ref))
        elif b.justification:
            out.append(_f("5", "assessor", "justified", "assessors not blinded; justified", ref))
        else:
            msg = "assessors not blinded and blinding.justification is empty"
            out.append(_f("5", "assessor", "missing", msg, ref))
        if b.central_committee:
            out.append(_f("5", "committee", "met", "a central adjudication committee", ref))
        elif b.justification:
            msg = "no central adjudication committee; reason given"
            out.append(_f("5", "committee", "justified", msg, ref))
        else:
            msg = "no central adjudication committee and blinding.justification is empty"
            out.append(_f("5", "committee", "missing", msg, ref))
    for e in plan.endpoints:
        if e.role == "exploratory":
            continue
        if e.assessor == "treating_physician":
            if e.assessor_justification:
                msg = f"{e.id}: assessed by the treating physician; justified"
                out.append(_f("5", "physician", "justified", msg, ref))
            else:
                msg = f"{e.id}: assessed by the treating physician; assessor_justification empty"
                out.append(_f("5", "physician", "missing", msg, ref))
        else:
            msg = f"{e.id}: assessed by {e.assessor.replace('_', ' ')} assessors"
            out.append(_f("5", "physician", "met", msg, ref))
    ss = plan.sample_size
    for e in plan.primary_endpoints:
        if e.kind != "survival":
            continue
        if ss is not None and (ss.events is not None or ss.method == "survival"):
            msg = f"{e.id}: sized on event counts"
            out.append(_f("5", "events", "met", msg, ref))
        else:
            msg = f"{e.id}: time-to-event endpoint but the plan states no event count"
            out.append(_f("5", "events", "missing", msg, ref))
    if facts is not None and b is not None:
        for share, promised, name in (
            (facts.blinded_share, b.assessor_blinded, "blinded"),
            (facts.adjudicated_share, b.central_committee, "centrally adjudicated"),
        ):
            if share is None or not promised:
                continue
            point = "assessor" if name == "blinded" else "committee"
            status = "met" if share >= facts.min_share else "not_met"
            msg = f"{share:.0%} of primary assessments {name} (needed {facts.min_share:.0%})"
            out.append(_f("5", point, status, msg, ref, "data"))
    return out


def check_items_1_to_5(
    plan: Plan, facts: DataFacts | None, calc: SampleSizeCalculator
) -> list[Finding]:
    """Findings for items (1)–(5), in index order."""
    return [
        *_check_sample_size(plan, facts, calc),
        *_check_sites(plan, facts),
        *_check_endpoints(plan),
        *_check_randomization(plan),
        *_check_blinding(plan, facts),
    ]
