"""The planned interim design applied at analysis: looks, boundaries, the group-sequential verdict.

A spec that carries an :class:`~regmed.plan.spec_rules.InterimSpec` is analysed at each look
of the design, on the registry's data as it stood at that look, and judged with
:func:`regmed.design.analyze_group_sequential` (rpact's ``getAnalysisResults``).

**How the looks are recorded.** A look is a data cut defined from the registry's own dates, so
that every later evaluation reproduces it: look k (k < K) is reached on the date that the
k-th planned information fraction ``t_k`` of the planned maximum is reached — for a binary or
continuous endpoint the index date of the ``ceil(t_k · n_treated)``-th analysed treated
patient (the plan's ``sample_size.n_treated``), for a survival endpoint the date of the
``ceil(t_k · events)``-th event of the comparison (``sample_size.events``). The cut keeps the
patients whose index date is on or before that date (controls too; historical controls
precede every cut) and, for survival, censors follow-up at the cut date. The last look K is
all the data. ``regmed evaluate --stage k`` evaluates look k (an interim analysis: the
analysis of this spec is the one of the look-k data); by default the evaluation is the final
one.

**The statistic.** At each look the analysis runs exactly as its spec says (matching or
weighting, the missing-data rule, the estimand) and gives the estimate :math:`\\hat\\theta_k`
and its standard error :math:`s_k` on the analysis scale (log for ratios). The cumulative
Wald statistics :math:`Z_k = (\\hat\\theta_k - \\theta_0)/s_k` with information
:math:`I_k = 1/s_k^2` follow the canonical joint distribution of group-sequential tests
(Jennison and Turnbull 2000, ch. 3; Scharfstein, Tsiatis and Robins 1997). rpact's
``getAnalysisResults`` takes exactly such statistics as its survival data set: the overall
log-rank statistics ``overallLogRanks`` :math:`Z_k`, with integer ``overallEvents``
:math:`E_k = \\lceil 4 I_k \\rceil` and ``overallAllocationRatios`` :math:`r_k` solving
:math:`r_k E_k / (1 + r_k)^2 = I_k`, so that its hazard-ratio scale
:math:`\\exp(Z_k (1 + r_k)/\\sqrt{r_k E_k})` is :math:`\\exp(\\hat\\theta_k - \\theta_0)`; with
``thetaH0 = 1`` its boundaries, repeated confidence intervals, repeated p-values and, at the
final stage, the stage-wise-ordering p-value, median unbiased estimate and confidence interval
are mapped back by :math:`\\theta = \\log(h) + \\theta_0` (exponentiated for ratio measures).
:math:`\\theta_0` is the achievement criterion's confidence bound (``ci_lower_above`` or
``ci_upper_below``, else the null value), so that rejecting :math:`H_0` is the CI condition of
the plan. ``tests/reference/evaluate/interim`` holds rpact's values on the same stage data.

**The verdict** follows the group-sequential decision: met when a boundary is crossed (at an
interim look or the final one) and the median unbiased estimate meets the threshold; not met
at the final look without a crossing; ``continue`` (the evaluation is inconclusive) at an
interim look without one.

References
----------
Jennison C, Turnbull BW (2000). Group Sequential Methods with Applications to Clinical Trials,
chapters 3, 8 and 9. Chapman & Hall. Wassmer G, Brannath W (2016). Group Sequential and
Confirmatory Adaptive Designs in Clinical Trials. Springer. rpact 3.3.4,
``getAnalysisResults``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from regmed import design
from regmed.errors import DataError, Problem
from regmed.plan.spec import AnalysisSpec
from regmed.plan.spec_rules import InterimSpec
from regmed.results import to_jsonable

__all__ = ["Look", "criterion_entry", "gs_design", "look_dates", "cut_patients",
           "analyze_looks", "run_sequential"]

_RATIO = frozenset({"risk_ratio", "odds_ratio", "hazard_ratio"})
_TERM = {"risk_ratio": "log_risk_ratio", "odds_ratio": "log_odds_ratio",
         "hazard_ratio": "log_hazard_ratio"}


@dataclasses.dataclass(frozen=True)
class Look:
    """One look: its number, cut date (``None`` for all data) and the information reached."""

    stage: int
    cut: pd.Timestamp | None
    reached: int


def gs_design(interim: InterimSpec) -> Any:
    """The planned design (:func:`regmed.design.group_sequential`)."""
    return design.group_sequential(
        information_rates=list(interim.information_rates), alpha=interim.alpha,
        beta=interim.beta, sided=interim.sided, spending=interim.design_spending,
        futility=interim.futility)


def look_dates(frame: pd.DataFrame, spec: AnalysisSpec, stage: int) -> list[Look]:
    """The looks 1..``stage`` on the analysed patients ``frame`` (all data at look K).

    Raises
    ------
    DataError
        When the registry does not hold the information an interim look needs.
    """
    interim = spec.interim
    assert interim is not None
    sizes = interim.look_sizes()
    if spec.endpoint_kind == "survival":
        ev = frame[frame[f"{spec.endpoint}_event"] == 1]
        dates = (ev["index_on"] + pd.to_timedelta(ev[f"{spec.endpoint}_time"], unit="D"))
        unit = "events"
    else:
        dates = frame.loc[frame["treated"] == 1, "index_on"]
        unit = "treated patients"
    dates = dates.dropna().sort_values().reset_index(drop=True)
    looks = []
    for k in range(1, stage + 1):
        if k == interim.k_max:
            looks.append(Look(stage=k, cut=None, reached=len(dates)))
            continue
        need = sizes[k - 1]
        if need > len(dates):
            raise DataError(f"look {k} of the interim design is not reached",
                            [Problem(f"it needs {need} {unit} (information rate "
                                     f"{interim.information_rates[k - 1]:g} of "
                                     f"{interim.planned}); the registry holds {len(dates)}",
                                     field="sample_size.interim.information_rates")])
        cut = pd.Timestamp(dates.iloc[need - 1])
        looks.append(Look(stage=k, cut=cut, reached=need))
    return looks


def cut_patients(patients: pd.DataFrame, spec: AnalysisSpec, cut: pd.Timestamp | None
                 ) -> pd.DataFrame:
    """The patients as they stood at the cut date (survival follow-up censored there)."""
    if cut is None:
        return patients
    kept = patients[patients["index_on"] <= cut].copy()
    if spec.endpoint_kind == "survival":
        time, event = f"{spec.endpoint}_time", f"{spec.endpoint}_event"
        followed = (cut - kept["index_on"]).dt.days.astype(float)
        after = kept[time] > followed
        kept.loc[after, event] = 0.0
        kept.loc[after, time] = followed[after]
        kept = kept[~(kept[time] <= 0)]
    return kept


def _direction(spec: AnalysisSpec) -> str:
    if spec.direction is not None:
        return spec.direction
    return "less" if spec.measure.value == "hazard_ratio" else "greater"


def _theta0(spec: AnalysisSpec) -> tuple[float, float]:
    """The tested bound on the natural scale and on the analysis scale."""
    greater = _direction(spec) == "greater"
    bound = spec.ci_lower_above if greater else spec.ci_upper_below
    ratio = spec.measure.value in _RATIO
    if bound is None:
        bound = 1.0 if ratio else 0.0
    return float(bound), (math.log(bound) if ratio else float(bound))


def _estimate(entry: dict[str, Any], spec: AnalysisSpec) -> tuple[float, float]:
    term = _TERM.get(spec.measure.value, spec.measure.value)
    for row in entry["effect"]["estimates"]:
        if row["term"] == term:
            est, se = row["estimate"], row["std_error"]
            if est is None or se is None or not se > 0:
                break
            return float(est), float(se)
    raise DataError(f"the {spec.label} analysis has no estimate with a standard error for "
                    f"{term}; the group-sequential test cannot be computed")


def stage_data(spec: AnalysisSpec, estimates: list[tuple[float, float]]) -> dict[str, list]:
    """rpact's survival data set of the looks: ``events`` (integer), ``log_rank`` (Z_k) and
    ``allocation_ratio`` (r_k), as the module says."""
    _, theta0 = _theta0(spec)
    z: list[float] = []
    events: list[int] = []
    ratios: list[float] = []
    for est, se in estimates:
        info = 1.0 / se**2
        e = math.ceil(4.0 * info - 1e-9)
        if events and e <= events[-1]:
            e = events[-1] + 1
        q = e / info - 2.0  # r + 1/r = E/I - 2; the root r >= 1
        r = 1.0 if q <= 2.0 else (q + math.sqrt(q * q - 4.0)) / 2.0
        z.append((est - theta0) / se)
        events.append(int(e))
        ratios.append(r)
    return {"events": events, "log_rank": z, "allocation_ratio": ratios}


def analyze_looks(spec: AnalysisSpec, estimates: list[tuple[float, float]]) -> Any:
    """rpact's ``getAnalysisResults`` on the looks' (estimate, SE), as the module says."""
    interim = spec.interim
    assert interim is not None
    _, theta0 = _theta0(spec)
    return design.analyze_group_sequential(
        gs_design(interim), kind="survival", stage_data=stage_data(spec, estimates),
        direction_upper=_direction(spec) == "greater", theta_h0=1.0,
        confidence_level=spec.confidence_level)


def _back(value: Any, theta0: float, ratio: bool) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(v) or v <= 0:
        return None
    u = math.log(v) + theta0
    return math.exp(u) if ratio else u


def _block(spec: AnalysisSpec, looks: list[Look], entries: list[dict[str, Any]],
           estimates: list[tuple[float, float]], result: Any) -> dict[str, Any]:
    interim = spec.interim
    assert interim is not None
    bound, theta0 = _theta0(spec)
    ratio = spec.measure.value in _RATIO
    rows = []
    for look, entry, (est, se), r in zip(looks, entries, estimates,
                                          result.stages.itertuples(), strict=True):
        rows.append({
            "stage": look.stage, "information_rate": float(r.information_rate),
            "cut_date": None if look.cut is None else look.cut.date().isoformat(),
            "reached": look.reached, "n_treated": entry["n_treated"],
            "n_control": entry["n_control"], "estimate": est, "std_error": se,
            "z": float(r.z_value), "critical_value": float(r.critical_value),
            "futility_bound": float(r.futility_bound), "decision": str(r.decision),
            "rci_lower": _back(r.rci_lower, theta0, ratio),
            "rci_upper": _back(r.rci_upper, theta0, ratio),
            "repeated_p_value": float(r.repeated_p_value),
        })
    final = None
    if result.final_stage is not None:
        final = {"stage": int(result.final_stage), "p_value": float(result.final_p_value),
                 "median_unbiased": _back(result.median_unbiased, theta0, ratio),
                 "ci_lower": _back(result.final_ci[0], theta0, ratio),
                 "ci_upper": _back(result.final_ci[1], theta0, ratio)}
    d = result.design
    last = rows[-1]["decision"]
    decision = ("reject" if result.rejected else
                "accept" if result.final_stage is not None or last == "accept and stop"
                else "continue")
    return to_jsonable({
        "design": {"information_rates": list(interim.information_rates),
                   "spending": interim.spending, "alpha": interim.alpha,
                   "sided": interim.sided, "futility": interim.futility,
                   "critical_values": list(d.critical_values),
                   "futility_bounds": list(d.futility_bounds),
                   "planned": interim.planned, "planned_unit": interim.planned_unit,
                   "reestimation": interim.reestimation},
        "stage": int(result.stage), "k_max": int(result.k_max), "measure": spec.measure.value,
        "direction": _direction(spec), "theta_h0": bound,
        "confidence_level": spec.confidence_level, "looks": rows,
        "rejected": bool(result.rejected), "decision": decision, "final": final,
        "stage_data": {**{f"overall_{k}": v for k, v in stage_data(spec, estimates).items()},
                       "direction_upper": _direction(spec) == "greater"},
    })


def run_sequential(patients: pd.DataFrame, spec: AnalysisSpec, *, stage: int | None,
                   compare: Callable[..., Any], frame_of: Callable[..., Any],
                   rng: np.random.Generator) -> Any:
    """Analyse a spec at each look up to ``stage`` and attach the group-sequential block.

    Parameters
    ----------
    patients : DataFrame
        ``StudyData.patients`` (all data).
    spec : AnalysisSpec
        With ``interim``.
    stage : int, optional
        The look evaluated (default the last, K).
    compare, frame_of : callable
        ``regmed.evaluate.comparison.compare`` and its analysis-frame builder.
    rng : numpy.random.Generator

    Returns
    -------
    Comparison
        Of the evaluated look, with ``entry["interim"]`` (see ``regmed.document``).
    """
    interim = spec.interim
    assert interim is not None
    k = interim.k_max if stage is None else stage
    if not 1 <= k <= interim.k_max:
        raise DataError(f"stage {k} is not a look of the design",
                        [Problem(f"the design has {interim.k_max} looks", field="stage")])
    frame, _ = frame_of(patients, spec)
    looks = look_dates(frame, spec, k)
    comps = [compare(cut_patients(patients, spec, look.cut), spec, rng=rng) for look in looks]
    estimates = [_estimate(c.entry, spec) for c in comps]
    result = analyze_looks(spec, estimates)
    last = comps[-1]
    last.entry["interim"] = _block(spec, looks, [c.entry for c in comps], estimates, result)
    return last


def criterion_entry(criterion: Any, block: dict[str, Any], source: str) -> dict[str, Any]:
    """The verdict on one achievement criterion from the group-sequential decision."""
    final = block["final"]
    last = block["looks"][-1]
    if final is not None:
        est, lo, hi = final["median_unbiased"], final["ci_lower"], final["ci_upper"]
        what = (f"stage-wise-ordering median unbiased estimate with its "
                f"{block['confidence_level']:.0%} interval (stage {final['stage']})")
    else:
        est, lo, hi = None, last["rci_lower"], last["rci_upper"]
        est = _natural(last["estimate"], block["measure"])
        what = f"estimate at look {last['stage']} with the repeated confidence interval"
    greater = block["direction"] == "greater"
    threshold_ok = True
    if criterion.threshold is not None:
        threshold_ok = est is not None and (est >= criterion.threshold if greater
                                            else est <= criterion.threshold)
    decision = block["decision"]
    met = decision == "reject" and threshold_ok
    if decision == "continue":
        reason = (f"Interim look {last['stage']} of {block['k_max']}: no boundary crossed "
                  f"(z {last['z']:.3f} < {last['critical_value']:.3f}); the study continues.")
    else:
        crossed = ("a group-sequential boundary is crossed" if decision == "reject"
                   else "no group-sequential boundary is crossed")
        reason = (f"Criterion {'met' if met else 'not met'}: {crossed}"
                  + ("" if threshold_ok else f"; the estimate fails the threshold "
                     f"{criterion.threshold:g}") + f" ({what}).")
    return {
        "endpoint": criterion.endpoint, "measure": criterion.measure,
        "threshold": criterion.threshold, "direction": block["direction"],
        "ci_lower_above": criterion.ci_lower_above, "ci_upper_below": criterion.ci_upper_below,
        "estimate": est, "ci_lower": lo, "ci_upper": hi, "met": bool(met), "reason": reason,
        "control_source": source, "group_sequential": decision,
    }


def _natural(est: float, measure: str) -> float:
    return math.exp(est) if measure in _RATIO else est
