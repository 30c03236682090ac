"""The evaluation workflow: locked plan + StudyData → Evaluation.

For each primary and secondary endpoint, each control source in the plan is compared with
the treated patients (and all sources pooled when there are several); the verdict uses the
first control source the plan lists (concurrent controls first, as the index prefers) and
the other comparisons are sensitivity analyses. The plan checklist runs again against the
data; the achieved power is set against the planned one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from regmed import __version__, evidence
from regmed.document import validate_document
from regmed.errors import PlanError, Problem, RegmedError
from regmed.evaluate import interim as sequential
from regmed.evaluate.comparison import COHORT_OF_CONTROL, Comparison, _analysis_frame, compare
from regmed.evaluate.power_check import power_entry
from regmed.evaluate.quality_part import quality_entry
from regmed.evaluate.runners_single import compare_single_arm
from regmed.plan import AnalysisSpec, DataFacts, Plan, check_plan, compile_specs
from regmed.plan.spec import ControlSource
from regmed.results import Result, to_jsonable
from regmed.studydata import StudyData

__all__ = ["Evaluation", "evaluate"]

@dataclasses.dataclass(frozen=True)
class Evaluation(Result):
    """The evaluation of a plan on study data.

    Attributes
    ----------
    document : dict
        The JSON-ready evaluation document the report renders, validated against
        ``regmed.document``.
    overall : str
        ``met``, ``not_met`` or ``inconclusive``.
    analysis_data : dict of str to DataFrame
        The analysis data set of each analysis, by ``<endpoint>__<control_source>``: one row
        per analysed patient (pseudonym, treated, covariates, outcome or time/event, ps,
        weight, subclass), as ``regmed evaluate --out`` exports it.
    """

    document: dict[str, Any]
    overall: str
    analysis_data: dict[str, pd.DataFrame] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return self.document

    def summary(self) -> str:
        lines = [f"Verdict: {self.overall} — {self.document['verdict']['statement']}"]
        for c in self.document["verdict"]["criteria"]:
            lines.append(f"  {c['endpoint']} {c['measure']}: {c['reason']}")
        return "\n".join(lines)


def _facts(plan: Plan, data: StudyData) -> DataFacts:
    cohorts = data.facts.get("cohorts", {})

    def period(c: str) -> tuple[dt.date, dt.date] | None:
        p = cohorts.get(c)
        return None if p is None else (dt.date.fromisoformat(p["start"]),
                                       dt.date.fromisoformat(p["end"]))

    control_periods = {}
    for i, control in enumerate(plan.controls):
        p = period(COHORT_OF_CONTROL[control.kind])
        if p is not None:
            control_periods[i] = p
    n_by = {"treated": cohorts.get("treated", {}).get("n", 0)}
    for kind, cohort in COHORT_OF_CONTROL.items():
        n_by[kind] = cohorts.get(cohort, {}).get("n", 0)
    treated = data.patients[data.patients["cohort"] == "treated"]
    q_cols = [c for c in treated.columns if c.startswith("q_")]
    linked = float(treated[q_cols].notna().any(axis=1).mean()) if q_cols and len(treated) else 0.0
    return DataFacts(
        treated_period=period("treated"), control_periods=control_periods, n_by_cohort=n_by,
        site_count=data.facts.get("n_sites"), blinded_share=data.facts.get("blinded_share"),
        lot_linked_share=linked,
    )


def _criterion_entry(criterion: Any, effect: Any, source: str) -> dict[str, Any]:
    verdict = evidence.judge(effect, {
        "measure": criterion.measure, "threshold": criterion.threshold,
        "direction": criterion.direction,
        "ci_lower_above": criterion.ci_lower_above, "ci_upper_below": criterion.ci_upper_below,
    })
    return {
        "endpoint": criterion.endpoint, "measure": criterion.measure,
        "threshold": criterion.threshold, "direction": verdict.direction,
        "ci_lower_above": criterion.ci_lower_above, "ci_upper_below": criterion.ci_upper_below,
        "estimate": _num(verdict.estimate), "ci_lower": _num(verdict.ci_lower),
        "ci_upper": _num(verdict.ci_upper), "met": bool(verdict.met), "reason": verdict.reason,
        "control_source": source,
    }


def _num(x: Any) -> float | None:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _sensitivity(primary: Comparison, others: list[Comparison], patients: pd.DataFrame,
                 endpoint: str, kind: str, measure: str) -> list[dict[str, Any]]:
    rows = []
    e = primary.entry["effect"]
    rows.append({"analysis": f"primary ({primary.entry['control_source']} controls, "
                 f"{primary.entry['method']})", "estimate": e["estimate"],
                 "ci_lower": e["ci_lower"], "ci_upper": e["ci_upper"], "note": measure})
    for other in others:
        o = other.entry["effect"]
        label = {"pooled": "all control sources pooled",
                 "concurrent": "concurrent controls only (without historical controls)",
                 "historical": "historical controls only",
                 "external": "external controls only"}.get(other.entry["control_source"],
                                                           other.entry["control_source"])
        rows.append({"analysis": label, "estimate": o["estimate"], "ci_lower": o["ci_lower"],
                     "ci_upper": o["ci_upper"], "note": f"{other.entry['method']}; "
                     f"{other.entry['n_treated']} treated, {other.entry['n_control']} controls"})
    ev = primary.entry.get("evalue")
    if ev:
        rows.append({"analysis": "E-value (unmeasured confounding)", "estimate": ev["point"],
                     "ci_lower": ev["ci"], "ci_upper": None,
                     "note": "risk-ratio scale; second number is the E-value of the CI limit"})
    if kind == "binary":
        rows += _tipping(patients, endpoint, primary.entry["control_source"])
        hist = patients[patients["cohort"] == "historical_control"]
        if len(hist) and hist[endpoint].notna().sum() > 10 and hist["era"].nunique() > 1:
            try:
                trend = evidence.calendar_trend(hist.dropna(subset=[endpoint]), endpoint, "era")
                r = trend.estimates.iloc[0]
                rows.append({"analysis": "calendar-time trend in historical controls",
                             "estimate": _num(r["estimate"]), "ci_lower": _num(r["ci_lower"]),
                             "ci_upper": _num(r["ci_upper"]),
                             "note": f"log odds ratio per year, p = {float(r['p_value']):.3g}"})
            except RegmedError:
                pass
    return rows


def _run(patients: pd.DataFrame, spec: AnalysisSpec, rng: np.random.Generator,
         stage: int | None) -> Comparison:
    """One analysis: a single arm (``control_source`` none), a comparison with controls, or a
    comparison at each look of the planned interim design up to ``stage``."""
    if spec.control_source is ControlSource.none:
        return compare_single_arm(patients, spec, rng=rng)
    if spec.interim is not None:
        return sequential.run_sequential(patients, spec, stage=stage, compare=compare,
                                         frame_of=_analysis_frame, rng=rng)
    return compare(patients, spec, rng=rng)


def _tipping(patients: pd.DataFrame, endpoint: str, source: str) -> list[dict[str, Any]]:
    cohort = COHORT_OF_CONTROL.get(source)
    status = f"{endpoint}_status"
    if cohort is None or status not in patients:
        return []
    t = patients[patients["cohort"] == "treated"]
    c = patients[patients["cohort"] == cohort]
    mt = int(t[status].isin(["missing", "out_of_window"]).sum())
    mc = int(c[status].isin(["missing", "out_of_window"]).sum())
    if mt + mc == 0:
        return []
    ot, oc = t[endpoint].dropna(), c[endpoint].dropna()
    tp = evidence.tipping_point(int(ot.sum()), int(len(ot)), mt, int(oc.sum()), int(len(oc)), mc)
    worst = tp.grid.sort_values(["responders_missing_treated", "responders_missing_control"],
                                ascending=[True, False]).iloc[0]
    return [{"analysis": "tipping point: missing treated fail, missing controls respond",
             "estimate": _num(worst["risk_difference"]), "ci_lower": _num(worst["ci_lower"]),
             "ci_upper": _num(worst["ci_upper"]),
             "note": f"{mt} treated and {mc} controls with missing outcome (crude); "
             f"significant in the worst case: {bool(tp.significant_worst_case)}"}]


def evaluate(
    plan: Plan,
    data: StudyData,
    *,
    specs: tuple[AnalysisSpec, ...] | None = None,
    plan_info: dict[str, Any] | None = None,
    exploratory: bool = False,
    seed: int = 20260401,
    stage: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> Evaluation:
    """Evaluate a plan on study data and state the verdict.

    Parameters
    ----------
    plan : regmed.plan.Plan
        The (locked) evaluation plan: its checklist, power and quality blocks.
    data : StudyData
        From ``regmed.registry.extract``.
    specs : tuple of AnalysisSpec, optional
        The analyses to run (default: :func:`regmed.plan.compile_specs` of ``plan``, which
        refuses what the engine would not run exactly). Each is stored as ``spec``.
    plan_info : dict, optional
        ``name, version, sha256, locked_at, signer`` of the locked plan version.
    exploratory : bool
        The plan is not locked (or changed since): printed on every output.
    seed : int
        Seed for the random parts (random matching order, ties).
    stage : int, optional
        The look of the plan's interim design to evaluate (default: the final analysis).
        See :mod:`regmed.evaluate.interim` for how the looks are cut from the data.
    progress : callable, optional
        Called with a short label before each step.

    Returns
    -------
    Evaluation
        Its document is validated (``regmed.document.validate_document``) before it is
        returned: a document that would not render is never handed on to be stored.
    """
    say = progress or (lambda _label: None)
    rng = np.random.default_rng(seed)
    if specs is None:
        specs = compile_specs(plan)
    patients = data.patients
    attrition = to_jsonable(data.attrition)
    analyses: list[dict[str, Any]] = []
    criteria: list[dict[str, Any]] = []
    warnings: list[str] = []
    exported: dict[str, pd.DataFrame] = {}
    if not specs:
        raise PlanError("the plan names no analysis the engine runs; nothing to evaluate")
    if stage is not None and not any(s.interim is not None for s in specs):
        raise PlanError("an interim look was asked for, but the plan has no interim design",
                        [Problem(f"stage {stage}: sample_size.interim is not set",
                                 field="stage")])
    by_endpoint: dict[str, list[AnalysisSpec]] = {}
    for spec in specs:
        by_endpoint.setdefault(spec.endpoint, []).append(spec)
    for endpoint_id, endpoint_specs in by_endpoint.items():
        comps: list[Comparison] = []
        used: list[AnalysisSpec] = []
        for spec in endpoint_specs:
            say(f"{endpoint_id}: treated vs {spec.control_source.value} controls")
            try:
                comp = _run(patients, spec, rng, stage)
            except RegmedError as exc:
                warnings.append(f"{endpoint_id} vs {spec.control_source.value} controls not "
                                f"analysed: {exc}")
                continue
            comps.append(comp)
            used.append(spec)
            comp.entry["analysis_data"] = f"analysis-data/{spec.label}.csv"
            exported[spec.label] = comp.data
            exported.update(comp.extra_data)
        if not comps:
            continue
        primary, others = comps[0], comps[1:]
        first = used[0]
        if first.role == "primary":
            attrition += primary.attrition
        primary.entry["sensitivity"] = [] if first.control_source is ControlSource.none else \
            _sensitivity(primary, others, patients, endpoint_id, first.endpoint_kind,
                         first.measure.value)
        primary.entry["sensitivity"] += _without_oos(patients, first, rng, stage)
        for other in others:
            other.entry["sensitivity"] = []
        analyses += [c.entry for c in comps]
        for criterion in plan.achievement_criteria:
            if criterion.endpoint == endpoint_id and "interim" in primary.entry:
                criteria.append(sequential.criterion_entry(
                    criterion, primary.entry["interim"], primary.entry["control_source"]))
            elif criterion.endpoint == endpoint_id:
                criteria.append(_criterion_entry(criterion, primary.effect,
                                                 primary.entry["control_source"]))

    say("quality: specifications, CQA, potency, comparability")
    quality = quality_entry(plan, data)
    flagged = _oos_flags(patients, quality)
    if flagged:
        attrition.append(flagged["attrition"])
        warnings.append(flagged["warning"])
    say("checklist against the data")
    checklist = check_plan(plan, _facts(plan, data))
    power = power_entry(plan, data)
    primary_ids = {e.id for e in plan.endpoints if e.role == "primary"}
    judged = [c for c in criteria if c["endpoint"] in primary_ids] or criteria
    if not judged or len({c["endpoint"] for c in judged}) < len(primary_ids):
        overall = "inconclusive"
        statement = "No primary endpoint could be judged against its achievement criterion."
    elif all(c["met"] for c in judged):
        overall = "met"
        statement = "The pre-set achievement criteria are met."
    else:
        overall = "not_met"
        statement = "The pre-set achievement criteria are not met."
    looking = [c for c in judged if c.get("group_sequential") == "continue"]
    if looking:
        overall = "inconclusive"
        statement = ("Interim analysis: no group-sequential boundary is crossed; the study "
                     "continues to its next planned look.")
    if power and power.get("shortfall"):
        statement += " " + power["message"]
    plan_meta = {"name": "", "version": "", "sha256": "", "locked_at": None, "signer": None,
                 **(plan_info or {}), "product": plan.product.name,
                 "indication": plan.indication,
                 "endpoints": [e.id for e in plan.endpoints]}
    document = {
        "meta": {"evaluation_id": None,
                 "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                 "regmed_version": __version__, "seed": seed, "data_hash": data.data_hash,
                 "exploratory": bool(exploratory), "plan": plan_meta},
        "verdict": {"overall": overall, "statement": statement, "criteria": criteria},
        "power": power,
        "checklist": [f.to_dict() for f in checklist.findings],
        "attrition": attrition,
        "analyses": analyses,
        "quality": quality,
        "warnings": warnings,
    }
    document = to_jsonable(document)
    validate_document(document)
    return Evaluation(document=document, overall=overall, analysis_data=exported)


def _oos_patients(patients: pd.DataFrame) -> pd.Index:
    if "oos" not in patients:
        return patients.index[:0]
    treated = patients["cohort"] == "treated"
    return patients.index[treated & patients["oos"].astype("boolean").fillna(False).astype(bool)]


def _without_oos(patients: pd.DataFrame, spec: AnalysisSpec, rng: np.random.Generator,
                 stage: int | None) -> list[dict[str, Any]]:
    """Sensitivity row: the primary comparison without patients treated with OOS lots (at the
    evaluated look of an interim design)."""
    oos = _oos_patients(patients)
    if not len(oos):
        return []
    try:
        comp = _run(patients.drop(index=oos), spec, rng, stage)
    except RegmedError as exc:
        return [{"analysis": "without patients treated with OOS lots", "estimate": None,
                 "ci_lower": None, "ci_upper": None, "note": f"not computed: {exc}"}]
    e = comp.entry["effect"]
    return [{"analysis": "without patients treated with OOS lots", "estimate": e["estimate"],
             "ci_lower": e["ci_lower"], "ci_upper": e["ci_upper"],
             "note": f"{len(oos)} treated patients with out-of-specification lots left out; "
             f"{comp.entry['n_treated']} treated, {comp.entry['n_control']} controls"}]


def _oos_flags(patients: pd.DataFrame, quality: dict[str, Any]) -> dict[str, Any] | None:
    """An attrition row (nobody excluded) and a warning for patients given OOS lots."""
    oos = _oos_patients(patients)
    if not len(oos):
        return None
    n_treated = int((patients["cohort"] == "treated").sum())
    undocumented = sum(1 for f in quality.get("flagged_patients", [])
                       if f.get("oos_request_documented") is False)
    reason = (f"flagged, not excluded: {len(oos)} treated with an out-of-specification lot "
              f"({undocumented} without a documented supply request)")
    return {"attrition": {"step": "lot quality", "cohort": "treated", "n_before": n_treated,
                          "n_after": n_treated, "n_excluded": 0, "reason": reason},
            "warning": f"{len(oos)} treated patients received out-of-specification lots "
                       f"({undocumented} without a documented request); they are kept in "
                       "every analysis, listed in the quality section, and left out in a "
                       "sensitivity analysis of the primary endpoint"}
