"""One comparison: treated patients against one control source for one endpoint.

Propensity model → matching or weighting (as the plan's control block says) → balance →
effect → site and subgroup heterogeneity → sensitivity. Returns the analysis entry of the
evaluation document (see ``regmed.report.schema``) and the effect object for the verdict.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from regmed import evidence
from regmed.errors import DataError, Problem, RegmedError
from regmed.evidence.sample import AdjustedSample
from regmed.results import to_jsonable

__all__ = ["Comparison", "compare", "COHORT_OF_CONTROL"]

#: The enrollment cohort that holds each kind of control named in a plan.
COHORT_OF_CONTROL = {
    "concurrent": "concurrent_control",
    "external": "external_control",
    "historical": "historical_control",
}


@dataclasses.dataclass(frozen=True)
class Comparison:
    """The analysis entry (JSON-ready), the effect object, and the attrition it caused."""

    entry: dict[str, Any]
    effect: Any
    attrition: list[dict[str, Any]]


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if obj is None:
        return default
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _attr(step: str, cohort: str, before: int, after: int, reason: str) -> dict[str, Any]:
    return {"step": step, "cohort": cohort, "n_before": int(before), "n_after": int(after),
            "n_excluded": int(before - after), "reason": reason}


def _finite(x: Any) -> float | None:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _crude(frame: pd.DataFrame, covariates: list[str]) -> AdjustedSample:
    data = frame.assign(weights=1.0)
    return AdjustedSample(data=data, original=frame, treatment="treated",
                          covariates=tuple(covariates), estimand="ATE", method="weighting",
                          cluster=None)


def _adjust(frame: pd.DataFrame, covariates: list[str], adjustment: Any,
            rng: np.random.Generator) -> tuple[Any, AdjustedSample, str]:
    method = str(_get(adjustment, "method", "propensity_matching"))
    if not covariates or method in {"none", "crude"}:
        return None, _crude(frame, covariates), "none"
    ps = evidence.fit_propensity(frame, treatment="treated", covariates=covariates)
    if "weight" in method:
        estimand = "ATO" if "overlap" in method else "ATT"
        return ps, evidence.weight(frame, ps, estimand=estimand), "weighting"
    caliper = _get(adjustment, "caliper")
    sample = evidence.match(
        frame, ps, ratio=int(_get(adjustment, "ratio", 1) or 1),
        caliper=None if caliper is None else float(caliper),
        caliper_scale=str(_get(adjustment, "caliper_scale", "logit")),
        replace=bool(_get(adjustment, "replace", False)), order="largest", rng=rng,
    )
    return ps, sample, "matching"


def _ps_distribution(ps: Any, frame: pd.DataFrame, sample: AdjustedSample) -> list[dict]:
    score = pd.Series(np.asarray(ps.ps, dtype=float), index=frame.index)
    kept = sample.data.index
    out = []
    for stage, rows in (("before", frame.index), ("after", kept)):
        for group, flag in (("treated", 1), ("control", 0)):
            ids = [i for i in rows if frame.at[i, "treated"] == flag]
            out.append({"group": group, "stage": stage,
                        "ps": [round(float(v), 5) for v in score.loc[ids]]})
    return out


def _balance_rows(sample: AdjustedSample) -> list[dict[str, Any]]:
    bal = evidence.balance(sample)
    table = bal.table
    rows = []
    for _, r in table.iterrows():
        rows.append({
            "covariate": str(r.get("term", r.name)),
            "binary": bool(r.get("binary", False)),
            **{k: _finite(r.get(k)) for k in (
                "smd_before", "smd_after", "var_ratio_before", "var_ratio_after",
                "mean_treated_before", "mean_control_before", "mean_treated_after",
                "mean_control_after")},
        })
    return rows


def _effect_entry(effect: Any, measure: str) -> dict[str, Any]:
    est, lo, hi = effect.measure_value(measure)
    tidy = effect.estimates
    se = p = None
    key = {"risk_ratio": "log_risk_ratio", "odds_ratio": "log_odds_ratio",
           "hazard_ratio": "log_hazard_ratio"}.get(measure, measure)
    row = tidy[tidy["term"] == key]
    if len(row):
        se, p = _finite(row["std_error"].iloc[0]), _finite(row["p_value"].iloc[0])
    return {"measure": measure, "estimate": _finite(est), "std_error": se,
            "ci_lower": _finite(lo), "ci_upper": _finite(hi), "p_value": p,
            "estimates": to_jsonable(tidy)}


def _by_group(data: pd.DataFrame, outcome: str, column: str, kind: str) -> tuple[list, Any]:
    measure = "risk_difference" if kind == "binary" else "mean_difference"
    try:
        het = evidence.site_heterogeneity(data, outcome, "treated", column, measure=measure)
    except RegmedError:  # too few sites/levels with both arms: report none
        return [], None
    counts = data.groupby(column)["treated"].agg(["sum", "count"])
    rows = []
    for _, r in het.sites.iterrows():
        site = r["site"]
        n_t = int(counts.loc[site, "sum"]) if site in counts.index else None
        n_all = int(counts.loc[site, "count"]) if site in counts.index else None
        rows.append({"site": str(site), "n_treated": n_t,
                     "n_control": None if n_all is None or n_t is None else n_all - n_t,
                     "estimate": _finite(r["estimate"]), "ci_lower": _finite(r["ci_lower"]),
                     "ci_upper": _finite(r["ci_upper"])})
    return rows, het


def _by_site_survival(data: pd.DataFrame, endpoint: str) -> tuple[list, Any]:
    """Per-site log hazard ratios (weighted Cox) and Cochran's Q across sites with events."""
    time, event = f"{endpoint}_time", f"{endpoint}_event"
    rows, est, se, labels = [], [], [], []
    for site, sub in data.groupby("matched_site"):
        arms = sub.groupby("treated")[event].sum()
        if len(arms) < 2 or (arms == 0).any():
            continue
        try:
            fit = evidence.fit_cox(sub, time, event, ["treated"], weights="weights",
                                   robust=True)
        except RegmedError:
            continue
        r = fit.estimates.iloc[0]
        est.append(float(r["estimate"]))
        se.append(float(r["std_error"]))
        labels.append(str(site))
        rows.append({"site": str(site), "n_treated": int(sub["treated"].sum()),
                     "n_control": int((1 - sub["treated"]).sum()),
                     "estimate": _finite(math.exp(r["estimate"])),
                     "ci_lower": _finite(math.exp(r["ci_lower"])),
                     "ci_upper": _finite(math.exp(r["ci_upper"]))})
    het = None
    if len(est) >= 2:
        try:
            het = evidence.cochran_q(est, se, labels, measure="log_hazard_ratio")
        except RegmedError:
            het = None
    return rows, het


def compare(
    patients: pd.DataFrame,
    *,
    endpoint: str,
    kind: str,
    role: str,
    control_source: str,
    control_cohorts: list[str],
    covariates: list[str],
    adjustment: Any,
    measure: str,
    rng: np.random.Generator,
) -> Comparison:
    """Compare treated patients with the given control cohorts on one endpoint.

    Parameters
    ----------
    patients : DataFrame
        ``StudyData.patients``.
    endpoint, kind, role : str
        The endpoint id, its kind (binary, continuous, survival) and role.
    control_source : str
        Label of the comparison (``concurrent``, ``historical``, ``pooled`` ...).
    control_cohorts : list of str
        Enrollment cohorts that form the control group.
    covariates : list of str
        Prognostic covariates for the propensity model.
    adjustment : mapping or plan object
        ``method`` (propensity_matching, propensity_weighting, overlap_weighting, none),
        ``caliper``, ``ratio``.
    measure : str
        The effect measure the verdict uses.
    rng : numpy.random.Generator
        For random matching order and ties.

    Returns
    -------
    Comparison
    """
    step = f"{endpoint} vs {control_source}"
    cohorts = ["treated", *control_cohorts]
    frame = patients[patients["cohort"].isin(cohorts)].copy()
    frame["treated"] = (frame["cohort"] == "treated").astype(int)
    attrition: list[dict[str, Any]] = []
    outcome_cols = [f"{endpoint}_time", f"{endpoint}_event"] if kind == "survival" else [endpoint]
    missing_cov = [c for c in covariates if c not in frame.columns]
    if missing_cov:
        raise DataError(f"the {step} comparison cannot run",
                        [Problem("covariate not in the registry data", field=c)
                         for c in missing_cov])
    control_label = "+".join(control_cohorts)
    # patients without the endpoint were counted (with their reason) at extraction
    frame = frame[frame[outcome_cols].notna().all(axis=1)]
    for cohort in ("treated", control_label):
        arm = frame["treated"] == (1 if cohort == "treated" else 0)
        bad = arm & frame[covariates].isna().any(axis=1)
        if bad.any():
            attrition.append(_attr(f"{step}: covariates", cohort, int(arm.sum()),
                                   int(arm.sum() - bad.sum()), "a prognostic covariate is missing"))
        frame = frame[~bad]
    n_t, n_c = int(frame["treated"].sum()), int((1 - frame["treated"]).sum())
    if n_t < 2 or n_c < 2:
        raise DataError(f"the {step} comparison has too few patients",
                        [Problem(f"{n_t} treated and {n_c} controls with data")])
    ps, sample, method = _adjust(frame, covariates, adjustment, rng)
    kept = sample.data
    for cohort, flag in (("treated", 1), (control_label, 0)):
        before = int((frame["treated"] == flag).sum())
        after = int((kept["treated"] == flag).sum())
        if after < before:
            attrition.append(_attr(f"{step}: {method}", cohort, before, after,
                                   "not matched within the caliper" if method == "matching"
                                   else "trimmed"))
    if kind == "survival":
        effect = evidence.estimate_effect(sample, kind="survival", time=f"{endpoint}_time",
                                          event=f"{endpoint}_event")
    else:
        effect = evidence.estimate_effect(sample, endpoint, kind=kind)
    data = kept.copy()
    if "subclass" in data and data["subclass"].notna().any():
        site_of_set = data[data["treated"] == 1].groupby("subclass")["site_code"].first()
        data["matched_site"] = data["subclass"].map(site_of_set).fillna(data["site_code"])
    else:
        data["matched_site"] = data["site_code"]
    entry: dict[str, Any] = {
        "endpoint": endpoint, "role": role, "kind": kind, "control_source": control_source,
        "method": method, "n_treated": int((kept["treated"] == 1).sum()),
        "n_control": int((kept["treated"] == 0).sum()),
        "covariates": list(covariates),
        "options": to_jsonable(_get(sample, "options", {})) if method == "matching" else {},
        "attrition": attrition,
    }
    if ps is not None:
        entry["propensity"] = {
            "auc": _finite(_get(ps, "auc")), "equipoise": _finite(_get(ps, "equipoise")),
            "n_treated": n_t, "n_control": n_c,
            "distribution": _ps_distribution(ps, frame, sample),
        }
        entry["balance"] = _balance_rows(sample)
    else:
        entry["propensity"] = None
        entry["balance"] = []
    entry["effect"] = _effect_entry(effect, measure)
    entry["km"] = []
    entry["by_site"], het, entry["subgroups"] = [], None, []
    if kind != "survival":
        entry["by_site"], het = _by_group(data, endpoint, "matched_site", kind)
        for column in ("ais_grade", "sex"):
            if column in data:
                rows, _ = _by_group(data, endpoint, column, kind)
                entry["subgroups"] += [{"subgroup": column, "level": r["site"],
                                        "n": (r["n_treated"] or 0) + (r["n_control"] or 0),
                                        "estimate": r["estimate"], "ci_lower": r["ci_lower"],
                                        "ci_upper": r["ci_upper"]} for r in rows]
    else:
        entry["by_site"], het = _by_site_survival(data, endpoint)
        km = effect.km.table.copy()  # type: ignore[union-attr]
        km["group"] = km["group"].map({1: "treated", 0: "control", "1": "treated",
                                       "0": "control"}).fillna(km["group"].astype(str))
        entry["km"] = to_jsonable(km[["group", "time", "surv", "lower", "upper"]])
    entry["heterogeneity"] = {"q": None, "df": None, "p_value": None, "i2": None} if (
        het is None) else {"q": _finite(het.q), "df": int(het.q_df),
                           "p_value": _finite(het.q_p), "i2": _finite(het.i2)}
    entry["evalue"] = _evalue(effect, measure, kind)
    return Comparison(entry=entry, effect=effect, attrition=attrition)


def _evalue(effect: Any, measure: str, kind: str) -> dict[str, Any] | None:
    try:
        if kind == "binary":
            est, lo, hi = effect.measure_value("risk_ratio")
            ev = evidence.e_value(est, lo, hi, measure="risk_ratio")
        elif kind == "survival":
            est, lo, hi = effect.measure_value("hazard_ratio")
            ev = evidence.e_value(est, lo, hi, measure="hazard_ratio")
        else:
            est, lo, hi = effect.measure_value("mean_difference")
            sd = float(effect.options.get("outcome_sd", math.nan)) if hasattr(
                effect, "options") else math.nan
            if not math.isfinite(sd):
                return None
            ev = evidence.e_value(est, lo, hi, measure="mean_difference", sd=sd)
    except RegmedError:  # an E-value is not defined for this estimate
        return None
    return {"point": _finite(ev.e_value), "ci": _finite(ev.e_value_ci)}
