"""Missing outcomes as the plan's ``missing_data.primary`` says: worst case, multiple imputation.

* ``worst_case`` (binary endpoints): a treated patient whose outcome is missing (no assessment,
  or none within the visit window) counts as a failure, a control patient as a success — the
  direction of the achievement criterion says which value is the better one.
* ``multiple_imputation``: the missing outcomes and covariates of the analysis are imputed
  ``spec.imputations`` times by chained equations (:func:`regmed.evidence.impute`, mice's pmm
  and logreg, seeded with ``spec.imputation_seed``) from the treatment, the propensity
  covariates and the outcome; the propensity step (matching or weighting, as the plan
  declares) and the effect are run again within every imputed data set and the estimates are
  pooled by Rubin's rules (:func:`regmed.evidence.pool`) with the complete-data degrees of
  freedom of the fit with the fewest observations (MatchThem's ``pool``). This is what R's
  MatchThem does with ``matchthem()``/``weightthem()`` (``approach = "within"``), ``with()``
  and ``pool()``; the reference is ``tests/reference/evaluate/mi_runner``.

References
----------
Pishgar F, Greifer N, Leyrat C, Stuart E (2021). MatchThem: Matching and Weighting after
Multiple Imputation. The R Journal 13(2):292-305. Leyrat C et al. (2019). Propensity score
analysis with partially observed covariates: how should multiple imputation be used? Stat
Methods Med Res 28:3-19. Rubin DB (1987). Multiple Imputation for Nonresponse in Surveys.
EMA (2010). Guideline on missing data in confirmatory clinical trials, section 6.3 (worst case).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from regmed import evidence
from regmed.errors import DataError, Problem
from regmed.evidence.pooling import complete_data_df
from regmed.plan.spec import AnalysisSpec, MissingRule
from regmed.results import to_jsonable

__all__ = ["ImputedComparison", "MISSING_STATUSES", "PooledMeasures", "fill_worst_case",
           "keep_for_imputation", "run_imputed"]

#: Endpoint statuses of a missing outcome (``regmed.registry.derive``): imputed or filled.
MISSING_STATUSES = ("missing", "out_of_window")

_LOG_TERMS = {"risk_ratio": "log_risk_ratio", "odds_ratio": "log_odds_ratio",
              "hazard_ratio": "log_hazard_ratio"}


def _unknown(frame: pd.DataFrame, endpoint: str) -> pd.Series:
    status = f"{endpoint}_status"
    if status not in frame:
        return frame[endpoint].isna()
    return frame[endpoint].isna() & frame[status].isin(MISSING_STATUSES)


def fill_worst_case(frame: pd.DataFrame, spec: AnalysisSpec, step: str, control_label: str,
                    attr: Callable[..., dict[str, Any]]) -> tuple[pd.DataFrame, list[dict]]:
    """Treated patients with a missing outcome fail, controls succeed (binary endpoints).

    With ``direction: less`` (the lower value is the better one) the values swap.
    """
    endpoint = spec.endpoint
    unknown = _unknown(frame, endpoint)
    better = 0.0 if spec.direction == "less" else 1.0
    frame = frame.copy()
    rows = []
    for cohort, flag, value, word in (("treated", 1, 1.0 - better, "failures"),
                                      (control_label, 0, better, "successes")):
        arm = frame["treated"] == flag
        k = int((arm & unknown).sum())
        if k:
            rows.append(attr(f"{step}: worst-case imputation", cohort, int(arm.sum()),
                             int(arm.sum()), f"{k} with a missing outcome counted as {word}"))
        frame.loc[arm & unknown, endpoint] = value
    return frame, rows


def keep_for_imputation(frame: pd.DataFrame, spec: AnalysisSpec) -> pd.Series:
    """Rows an imputed analysis keeps: the outcome observed or missing (not ineligible)."""
    return frame[spec.endpoint].notna() | _unknown(frame, spec.endpoint)


@dataclasses.dataclass(frozen=True)
class PooledMeasures:
    """The pooled effect with the interface of an effect: ``measure_value``, ``estimates``.

    Ratio measures are pooled on the log scale (as ``mice::pool`` of the log-link fits) and
    returned exponentiated.
    """

    pooled: Any
    kind: str

    @property
    def estimates(self) -> pd.DataFrame:
        return self.pooled.estimates

    def _row(self, term: str) -> pd.Series:
        rows = self.pooled.estimates[self.pooled.estimates["term"] == term]
        if not len(rows):
            raise DataError(f"the pooled {self.kind} effect has no term {term!r}")
        return rows.iloc[0]

    def measure_value(self, measure: str) -> tuple[float, float, float]:
        """``(estimate, ci_lower, ci_upper)`` of ``measure`` on its natural scale."""
        r = self._row(_LOG_TERMS.get(measure, measure))
        vals = (float(r["estimate"]), float(r["ci_lower"]), float(r["ci_upper"]))
        if measure in _LOG_TERMS:
            return math.exp(vals[0]), math.exp(vals[1]), math.exp(vals[2])
        return vals

    @property
    def mean_difference_se(self) -> float:
        return float(self._row("mean_difference")["std_error"])


@dataclasses.dataclass(frozen=True)
class ImputedComparison:
    """The imputed analysis: the imputations, every data set's fit and the pooled effect.

    Attributes
    ----------
    imputed : ImputedData
    fits : list of (ps, sample, effect)
        The propensity model, adjusted sample and effect within each imputed data set.
    pooled : PooledEffect
    measures : PooledMeasures
    """

    imputed: Any
    fits: list[tuple[Any, Any, Any]]
    pooled: Any
    measures: PooledMeasures

    def entry(self, spec: AnalysisSpec) -> dict[str, Any]:
        """The ``imputation`` block of the analysis entry (fraction of missing information)."""
        pool = self.pooled.pooling
        per: list[dict[str, Any]] = []
        for i, (_, sample, _) in enumerate(self.fits, start=1):
            kept = sample.data
            per.append({"imputation": i, "n_treated": int((kept["treated"] == 1).sum()),
                        "n_control": int((kept["treated"] == 0).sum())})
        terms = self.pooled.per_imputation
        for row in per:
            sub = terms[terms["imputation"] == row["imputation"]]
            row["estimates"] = {str(t): {"estimate": float(e), "std_error": float(s)}
                                for t, e, s in zip(sub["term"], sub["estimate"],
                                                   sub["std_error"], strict=True)}
        term = _LOG_TERMS.get(spec.measure.value, spec.measure.value)
        row = pool[pool["term"] == term]
        return to_jsonable({
            "m": int(self.pooled.m), "seed": spec.imputation_seed,
            "iterations": spec.imputation_iterations,
            "method": "chained equations (mice: pmm for numeric, logreg for binary columns)",
            "columns": list(self.imputed.columns), "methods": dict(self.imputed.methods),
            "n_missing": {k: int(v) for k, v in self.imputed.n_missing.items()},
            "term": term,
            "fmi": float(row["fmi"].iloc[0]) if len(row) else None,
            "df": float(row["df"].iloc[0]) if len(row) else None,
            "pooling": pool,
            "per_imputation": per,
            "imputed_data": f"analysis-data/{spec.label}__imputed.csv",
            "shown": "propensity, balance, site and subgroup tables are those of imputed "
                     "data set 1; the effect is pooled over all imputed data sets",
        })


def run_imputed(frame: pd.DataFrame, spec: AnalysisSpec,
                runner: Callable[[pd.DataFrame, AnalysisSpec, np.random.Generator], Any],
                estimator: Callable[[Any, AnalysisSpec], Any],
                rng: np.random.Generator) -> ImputedComparison:
    """Impute, run the propensity step and the effect within each data set, pool.

    Parameters
    ----------
    frame : DataFrame
        The analysis patients (treated 0/1), outcomes and covariates possibly missing.
    spec : AnalysisSpec
        With ``missing_data = multiple_imputation``, ``imputations`` and ``imputation_seed``.
    runner : callable
        The method's runner (``regmed.evaluate.comparison.RUNNERS``): ``(data, spec, rng) ->
        (ps, sample)``.
    estimator : callable
        ``(sample, spec) -> effect`` at the spec's confidence level.
    rng : numpy.random.Generator
        For random matching order and ties (the imputations use the plan's seed).

    Returns
    -------
    ImputedComparison
    """
    assert spec.missing_data is MissingRule.multiple_imputation
    if spec.imputations is None or spec.imputation_seed is None:
        raise DataError("multiple imputation needs the number of imputations and the seed",
                        [Problem("missing", field="missing_data.imputations")])
    columns = ["treated", *spec.covariates, spec.endpoint]
    imputed = evidence.impute(frame, columns=columns, m=spec.imputations,
                              rng=spec.imputation_seed,
                              maxit=spec.imputation_iterations or 10)
    fits = []
    for data in imputed.datasets:
        ps, sample = runner(data, spec, rng)
        fits.append((ps, sample, estimator(sample, spec)))
    # MatchThem's pool(): the complete-data df of the fit with the fewest observations
    dfcom = min(complete_data_df(f[2]) for f in fits)
    pooled = evidence.pool([f[2] for f in fits], confidence_level=spec.confidence_level,
                           dfcom=dfcom)
    return ImputedComparison(imputed=imputed, fits=fits, pooled=pooled,
                             measures=PooledMeasures(pooled=pooled, kind=spec.endpoint_kind))


def imputed_long(imputed: ImputedComparison, spec: AnalysisSpec) -> pd.DataFrame:
    """The imputed data sets, stacked (``imputation`` 1..m): the input of MatchThem in R."""
    parts = []
    for i, data in enumerate(imputed.imputed.datasets, start=1):
        part = pd.DataFrame({"imputation": i, "pseudonym": data.index.astype(str),
                             "treated": data["treated"].astype(int).to_numpy()})
        for c in spec.covariates:
            part[c] = data[c].to_numpy()
        part["outcome"] = data[spec.endpoint].to_numpy(dtype=float)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)
