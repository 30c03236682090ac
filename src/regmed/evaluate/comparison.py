"""One comparison: treated patients against one control source for one endpoint.

One :class:`~regmed.plan.spec.AnalysisSpec` is run exactly as it says: the method's runner
(:data:`RUNNERS`) builds the adjusted sample → balance → effect at the spec's confidence level
→ site and subgroup heterogeneity → E-value. Returns the analysis entry of the evaluation
document (see ``regmed.document``), the effect object for the verdict, and the analysis data
set that is exported beside the report.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd

from regmed import evidence
from regmed.errors import DataError, Problem, RegmedError
from regmed.evaluate import mi_runner
from regmed.evaluate.runners_adjust import (
    ADJUST_EFFECTS,
    ADJUST_KINDS,
    ADJUST_RUNNERS,
    EffectFn,
    Runner,
    crude_sample,
    estimate,
)
from regmed.evidence.sample import AdjustedSample
from regmed.plan.spec import COHORT_OF_CONTROL, AnalysisSpec, Method, MissingRule
from regmed.results import to_jsonable

__all__ = ["Comparison", "compare", "COHORT_OF_CONTROL", "RUNNERS"]


@dataclasses.dataclass(frozen=True)
class Comparison:
    """The analysis entry (JSON-ready), the effect object, the attrition it caused, and the
    analysis data set (one row per analysed patient, as exported)."""

    entry: dict[str, Any]
    effect: Any
    attrition: list[dict[str, Any]]
    data: pd.DataFrame
    #: further data sets to export, by file stem (the imputed data sets of an imputed analysis)
    extra_data: dict[str, pd.DataFrame] = dataclasses.field(default_factory=dict)


def _attr(step: str, cohort: str, before: int, after: int, reason: str) -> dict[str, Any]:
    return {"step": step, "cohort": cohort, "n_before": int(before), "n_after": int(after),
            "n_excluded": int(before - after), "reason": reason}


def _finite(x: Any) -> float | None:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _run_crude(frame: pd.DataFrame, spec: AnalysisSpec, rng: np.random.Generator
               ) -> tuple[Any, AdjustedSample]:
    return None, crude_sample(frame, list(spec.covariates))


def _run_matching(frame: pd.DataFrame, spec: AnalysisSpec, rng: np.random.Generator
                  ) -> tuple[Any, AdjustedSample]:
    ps = evidence.fit_propensity(frame, treatment="treated", covariates=list(spec.covariates))
    return ps, evidence.match(frame, ps, ratio=spec.ratio, caliper=spec.caliper,
                              caliper_scale=spec.caliper_scale, replace=spec.replace,
                              order="largest", rng=rng)


def _run_weighting(frame: pd.DataFrame, spec: AnalysisSpec, rng: np.random.Generator
                   ) -> tuple[Any, AdjustedSample]:
    ps = evidence.fit_propensity(frame, treatment="treated", covariates=list(spec.covariates))
    return ps, evidence.weight(frame, ps, estimand=str(spec.estimand or "ATT"))


#: spec.method → the function that builds the adjusted sample. Enabling a method is one entry
#: here plus removing it from ``regmed.plan.spec.NOT_IMPLEMENTED``.
RUNNERS: dict[Method, Runner] = {
    Method.propensity_matching: _run_matching,
    Method.propensity_weighting: _run_weighting,
    Method.none: _run_crude,
    **ADJUST_RUNNERS,
}

#: spec.method → the function that estimates the effect (default: the effect in the adjusted
#: sample, ``runners_adjust.estimate``).
EFFECTS: dict[Method, EffectFn] = {**ADJUST_EFFECTS}

#: The report's short label of each method's sample.
_KIND_OF_METHOD = {Method.propensity_matching: "matching",
                   Method.propensity_weighting: "weighting", Method.none: "none",
                   **ADJUST_KINDS}

#: Why a method's sample is smaller than the analysed patients.
_LOSS_REASON = {"matching": "not matched within the caliper",
                "exact_matching": "no control (or treated) patient with the same covariates",
                "stratification": "in a subclass without both groups"}


def _subclass_rows(kept: pd.DataFrame) -> list[dict[str, Any]]:
    """Patients and weights per subclass (exact matching, stratification)."""
    rows = []
    for sub, g in kept.groupby("subclass"):
        t = g["treated"] == 1
        rows.append({"subclass": int(sub), "n_treated": int(t.sum()),
                     "n_control": int((~t).sum()),
                     "weight_control": _finite(g.loc[~t, "weights"].iloc[0]) if (~t).any()
                     else None,
                     "weight_treated": _finite(g.loc[t, "weights"].iloc[0]) if t.any()
                     else None})
    return rows


#: Equal-width bins of the propensity score on [0, 1] that the document stores (the report
#: draws them as they are; 50 bins resolve a score to 0.02).
PS_BINS = 50


def _ps_distribution(ps: Any, frame: pd.DataFrame, sample: AdjustedSample
                     ) -> tuple[list[float], list[dict[str, Any]]]:
    """The bin edges and, per group and stage, the patients per bin of the propensity score
    (for a weighting analysis after adjustment also the sum of the weights per bin): the
    document holds the histogram, not one score per patient."""
    edges = np.linspace(0.0, 1.0, PS_BINS + 1)
    score = np.asarray(ps.ps, dtype=float)
    treated = frame["treated"].to_numpy() == 1
    kept = frame.index.isin(sample.data.index)
    weights = None
    if sample.method == "weighting":
        w = pd.Series(sample.data["weights"].to_numpy(dtype=float), index=sample.data.index)
        weights = w.reindex(frame.index).to_numpy()
    out = []
    for stage, rows in (("before", np.ones(len(frame), dtype=bool)), ("after", kept)):
        for group, flag in (("treated", True), ("control", False)):
            ok = rows & (treated == flag)
            counts, _ = np.histogram(score[ok], bins=edges)
            row: dict[str, Any] = {"group": group, "stage": stage,
                                   "counts": [int(c) for c in counts]}
            if stage == "after" and weights is not None:
                sums, _ = np.histogram(score[ok], bins=edges, weights=weights[ok])
                row["weights"] = [round(float(v), 6) for v in sums]
            out.append(row)
    return [round(float(e), 6) for e in edges], out


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


def _analysis_frame(frame: pd.DataFrame, spec: AnalysisSpec) -> tuple[pd.DataFrame, list]:
    """The patients of this analysis with complete data, and the attrition rows."""
    step = f"{spec.endpoint} vs {spec.control_source.value}"
    frame = frame[frame["cohort"].isin(["treated", *spec.control_cohorts])].copy()
    frame["treated"] = (frame["cohort"] == "treated").astype(int)
    covariates = list(spec.covariates)
    missing_cov = [c for c in covariates if c not in frame.columns]
    if missing_cov:
        raise DataError(f"the {step} comparison cannot run",
                        [Problem("covariate not in the registry data", field=c)
                         for c in missing_cov])
    control_label = "+".join(spec.control_cohorts)
    attrition: list[dict[str, Any]] = []
    endpoint = spec.endpoint
    if spec.missing_data is MissingRule.non_responder and f"{endpoint}_status" in frame:
        unknown = frame[endpoint].isna() & frame[f"{endpoint}_status"].isin(
            ["missing", "out_of_window"])
        for cohort in ("treated", control_label):
            arm = frame["treated"] == (1 if cohort == "treated" else 0)
            k = int((arm & unknown).sum())
            if k:
                attrition.append(_attr(f"{step}: non-responder imputation", cohort,
                                       int(arm.sum()), int(arm.sum()),
                                       f"{k} with a missing outcome counted as non-responders"))
        frame.loc[unknown, endpoint] = 0.0
    if spec.missing_data is MissingRule.worst_case:
        frame, rows = mi_runner.fill_worst_case(frame, spec, step, control_label, _attr)
        attrition += rows
    if spec.missing_data is MissingRule.multiple_imputation:
        # missing outcomes and covariates are imputed; only ineligible patients leave
        return frame[mi_runner.keep_for_imputation(frame, spec)], attrition
    outcome_cols = ([f"{endpoint}_time", f"{endpoint}_event"]
                    if spec.endpoint_kind == "survival" else [endpoint])
    # patients without the endpoint were counted (with their reason) at extraction; of the
    # others, those missing a covariate leave here (one selection of the rows for both)
    observed = frame[outcome_cols].notna().all(axis=1)
    missing = observed & frame[covariates].isna().any(axis=1)
    for cohort in ("treated", control_label):
        arm = observed & (frame["treated"] == (1 if cohort == "treated" else 0))
        bad = arm & missing
        if bad.any():
            attrition.append(_attr(f"{step}: covariates", cohort, int(arm.sum()),
                                   int(arm.sum() - bad.sum()), "a prognostic covariate is missing"))
    return frame[observed & ~missing], attrition


def _export_frame(sample: AdjustedSample, ps: Any, spec: AnalysisSpec) -> pd.DataFrame:
    """One row per analysed patient: what anyone needs to re-run the primary estimate."""
    kept = sample.data
    out = pd.DataFrame({"pseudonym": kept.index.astype(str),
                        "treated": kept["treated"].astype(int).to_numpy()})
    for c in spec.covariates:
        out[c] = kept[c].to_numpy()
    if spec.endpoint_kind == "survival":
        out["time"] = kept[f"{spec.endpoint}_time"].to_numpy(dtype=float)
        out["event"] = kept[f"{spec.endpoint}_event"].astype(int).to_numpy()
    else:
        out["outcome"] = kept[spec.endpoint].to_numpy(dtype=float)
    if ps is not None:
        score = pd.Series(np.asarray(ps.ps, dtype=float), index=sample.original.index)
        out["ps"] = score.reindex(kept.index).to_numpy()
    out["weight"] = kept["weights"].to_numpy(dtype=float)
    if "subclass" in kept and kept["subclass"].notna().any():
        out["subclass"] = kept["subclass"].to_numpy()
    return out


def compare(patients: pd.DataFrame, spec: AnalysisSpec, *, rng: np.random.Generator
            ) -> Comparison:
    """Run one analysis specification: treated patients against its control cohorts.

    Parameters
    ----------
    patients : DataFrame
        ``StudyData.patients``.
    spec : regmed.plan.AnalysisSpec
        The analysis exactly as the locked plan states it (method, estimand, covariates,
        matching options, confidence level, missing-data rule, measure).
    rng : numpy.random.Generator
        For random matching order and ties.

    Returns
    -------
    Comparison
    """
    endpoint, kind = spec.endpoint, spec.endpoint_kind
    step = f"{endpoint} vs {spec.control_source.value}"
    control_label = "+".join(spec.control_cohorts)
    frame, attrition = _analysis_frame(patients, spec)
    n_t, n_c = int(frame["treated"].sum()), int((1 - frame["treated"]).sum())
    if n_t < 2 or n_c < 2:
        raise DataError(f"the {step} comparison has too few patients",
                        [Problem(f"{n_t} treated and {n_c} controls with data")])
    imputed = None
    if spec.missing_data is MissingRule.multiple_imputation:
        imputed = mi_runner.run_imputed(frame, spec, RUNNERS[spec.method], _estimate, rng)
        ps, sample, effect = imputed.fits[0]
    else:
        ps, sample = RUNNERS[spec.method](frame, spec, rng)
        effect = EFFECTS.get(spec.method, estimate)(frame, sample, ps, spec)
    method = _KIND_OF_METHOD[spec.method]
    kept = sample.data
    for cohort, flag in (("treated", 1), (control_label, 0)):
        before = int((frame["treated"] == flag).sum())
        after = int((kept["treated"] == flag).sum())
        if after < before:
            attrition.append(_attr(f"{step}: {method}", cohort, before, after,
                                   _LOSS_REASON.get(method, "trimmed")))
    level = spec.confidence_level
    data = kept.copy()
    matched_sets = spec.method is Method.propensity_matching
    if matched_sets and "subclass" in data and data["subclass"].notna().any():
        site_of_set = data[data["treated"] == 1].groupby("subclass")["site_code"].first()
        data["matched_site"] = data["subclass"].map(site_of_set).fillna(data["site_code"])
    else:
        data["matched_site"] = data["site_code"]
    entry: dict[str, Any] = {
        "endpoint": endpoint, "role": spec.role, "kind": kind,
        "control_source": spec.control_source.value, "method": method,
        "spec": spec.to_dict(), "n_treated": int((kept["treated"] == 1).sum()),
        "n_control": int((kept["treated"] == 0).sum()),
        "covariates": list(spec.covariates),
        "options": to_jsonable(getattr(sample, "options", {}) or {}),
        "attrition": attrition,
    }
    if ps is not None:
        edges, distribution = _ps_distribution(ps, frame, sample)
        entry["propensity"] = {
            "auc": _finite(ps.auc), "equipoise": _finite(ps.equipoise),
            "n_treated": n_t, "n_control": n_c, "bins": edges, "distribution": distribution,
        }
        entry["balance"] = _balance_rows(sample)
    else:
        entry["propensity"] = None
        entry["balance"] = _balance_rows(sample) if spec.method is not Method.none else []
    if "subclass" in kept and spec.method is not Method.propensity_matching:
        entry["subclasses"] = _subclass_rows(kept)
    extra: dict[str, pd.DataFrame] = {}
    if imputed is not None:
        entry["imputation"] = imputed.entry(spec)
        effect = imputed.measures
        extra[f"{spec.label}__imputed"] = mi_runner.imputed_long(imputed, spec)
    entry["effect"] = _effect_entry(effect, spec.measure.value)
    entry["effect"]["ci_level"] = level
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
                           "p_value": _finite(het.q_p),
                           "i2": _finite(het.i2 / 100)}  # the document: I² as 0–1
    sd = _outcome_sd(kept, endpoint) if kind == "continuous" else None
    entry["evalue"] = _evalue(effect, kind, sd)
    exported = _export_frame(sample, ps, spec)
    if imputed is not None:
        exported = pd.concat([_export_frame(s, p, spec).assign(imputation=i).pipe(
            lambda d: d[["imputation", *d.columns[:-1]]])
            for i, (p, s, _) in enumerate(imputed.fits, start=1)], ignore_index=True)
    return Comparison(entry=entry, effect=effect, attrition=attrition, data=exported,
                      extra_data=extra)


def _estimate(sample: AdjustedSample, spec: AnalysisSpec) -> Any:
    """The effect in an adjusted sample at the spec's confidence level (matching, weighting)."""
    return estimate(sample.data, sample, None, spec)


def _outcome_sd(kept: pd.DataFrame, outcome: str) -> float | None:
    """Pooled within-arm SD of a continuous outcome (for the standardized E-value)."""
    groups = [g[outcome].astype(float) for _, g in kept.groupby("treated")]
    dof = sum(len(g) - 1 for g in groups)
    if dof <= 0:
        return None
    var = sum(float(((g - g.mean()) ** 2).sum()) for g in groups) / dof
    return math.sqrt(var) if var > 0 else None


def _evalue(effect: Any, kind: str, sd: float | None) -> dict[str, Any] | None:
    """E-values (VanderWeele & Ding 2017); for a mean difference, standardized by ``sd``."""
    try:
        if kind == "binary":
            est, lo, hi = effect.measure_value("risk_ratio")
            ev = evidence.e_value(est, lo, hi, measure="risk_ratio")
        elif kind == "survival":
            est, lo, hi = effect.measure_value("hazard_ratio")
            ev = evidence.e_value(est, lo, hi, measure="hazard_ratio")
        else:
            if sd is None:
                return None
            est, lo, hi = effect.measure_value("mean_difference")
            ev = evidence.e_value(est, lo, hi, measure="mean_difference", sd=sd,
                                  se=float(effect.mean_difference_se))
    except RegmedError:  # an E-value is not defined for this estimate
        return None
    return {"point": _finite(ev.e_value), "ci": _finite(ev.e_value_ci)}
