"""A single arm against the plan's performance goal (a plan without controls).

The treated patients' proportion (binary endpoint), mean (continuous) or Kaplan-Meier median
survival (time to event) with R's interval at the spec's confidence level
(:func:`regmed.evidence.single_arm`: Clopper-Pearson as ``binom.test``, t as ``t.test``,
Brookmeyer-Crowley on the log scale as ``quantile(survfit(..., conf.type = "log"))``). The
p-value tests the goal (``ci_lower_above``, else ``threshold``) where one is stated.

References
----------
.. [1] Clopper CJ, Pearson ES (1934). Biometrika 26:404-413.
.. [2] Brookmeyer R, Crowley J (1982). Biometrics 38:29-41.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from regmed import evidence
from regmed.errors import DataError, Problem
from regmed.evaluate.comparison import Comparison, _analysis_frame, _attr, _effect_entry
from regmed.plan.spec import AnalysisSpec
from regmed.results import to_jsonable

__all__ = ["compare_single_arm"]


def _goal(spec: AnalysisSpec) -> float | None:
    if spec.measure.value == "median_survival":
        return None
    return spec.ci_lower_above if spec.ci_lower_above is not None else spec.threshold


def _km_rows(result: Any) -> list[dict[str, Any]]:
    table = result.km.table
    rows = [{"group": "treated", "time": 0.0, "surv": 1.0, "lower": 1.0, "upper": 1.0}]
    for _, r in table.iterrows():
        rows.append({"group": "treated", "time": float(r["time"]), "surv": float(r["surv"]),
                     "lower": r["lower"], "upper": r["upper"]})
    return to_jsonable(rows)


def compare_single_arm(patients: pd.DataFrame, spec: AnalysisSpec, *,
                       rng: np.random.Generator | None = None) -> Comparison:
    """Run a single-arm specification: the treated patients' measure against the goal.

    Parameters
    ----------
    patients : DataFrame
        ``StudyData.patients``.
    spec : regmed.plan.AnalysisSpec
        With ``control_source`` ``none`` and a single-arm measure.
    rng : numpy.random.Generator, optional
        Unused (the single-arm estimates are not random); accepted as ``compare`` takes it.

    Returns
    -------
    Comparison
        Its analysis data set has ``pseudonym``, ``treated`` (all 1), the outcome (or
        ``time``, ``event``) and ``weight`` (all 1).
    """
    frame, attrition = _analysis_frame(patients, spec)
    n = len(frame)
    if n < 2:
        raise DataError(f"the single-arm analysis of {spec.endpoint} has too few patients",
                        [Problem(f"{n} treated patients with data")])
    level = spec.confidence_level
    if spec.endpoint_kind == "survival":
        result = evidence.single_arm(frame, time=f"{spec.endpoint}_time",
                                     event=f"{spec.endpoint}_event", measure="median_survival",
                                     confidence_level=level)
    else:
        result = evidence.single_arm(frame, outcome=spec.endpoint, measure=spec.measure.value,
                                     confidence_level=level, null_value=_goal(spec))
    effect = _effect_entry(result, spec.measure.value)
    effect["ci_level"] = level
    entry: dict[str, Any] = {
        "endpoint": spec.endpoint, "role": spec.role, "kind": spec.endpoint_kind,
        "control_source": "none", "method": "single_arm", "spec": spec.to_dict(),
        "n_treated": int(result.n), "n_control": 0, "covariates": [],
        "options": to_jsonable(result.options), "attrition": attrition,
        "propensity": None, "balance": [], "effect": effect, "by_site": [], "subgroups": [],
        "heterogeneity": {"q": None, "df": None, "p_value": None, "i2": None},
        "km": _km_rows(result) if result.km is not None else [], "evalue": None,
    }
    if result.n_missing:
        attrition.append(_attr(f"{spec.endpoint}: single arm", "treated", n,
                               n - result.n_missing, "outcome missing"))
    data = pd.DataFrame({"pseudonym": frame.index.astype(str),
                         "treated": np.ones(len(frame), dtype=int)})
    if spec.endpoint_kind == "survival":
        data["time"] = frame[f"{spec.endpoint}_time"].to_numpy(dtype=float)
        data["event"] = frame[f"{spec.endpoint}_event"].astype(int).to_numpy()
    else:
        data["outcome"] = frame[spec.endpoint].to_numpy(dtype=float)
    data["weight"] = 1.0
    return Comparison(entry=entry, effect=result, attrition=attrition, data=data)
