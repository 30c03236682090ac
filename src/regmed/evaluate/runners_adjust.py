"""The adjustment runners: how each plan method builds its sample and estimates its effect.

:data:`ADJUST_RUNNERS` (spec.method → adjusted sample) and :data:`ADJUST_EFFECTS`
(spec.method → effect) extend the dispatch tables of :mod:`regmed.evaluate.comparison`:

* ``exact_matching``: MatchIt's ``method = "exact"`` on the plan's covariates
  (:func:`regmed.evidence.match_exact`), the estimand's subclass weights;
* ``propensity_stratification``: MatchIt's ``method = "subclass"`` with the plan's number of
  subclasses on the logistic propensity score (:func:`regmed.evidence.stratify`);
* ``propensity_covariate`` and ``covariate_adjustment``: an outcome regression on treatment
  and the logit of the propensity score (or the covariates), the marginal effect by
  g-computation over the estimand's target population with its HC0 delta-method SE, as
  ``marginaleffects::avg_comparisons`` (:func:`regmed.evidence.gcomputation`). The sample
  these analyses show (balance, export) is the unweighted one (every weight 1).

The effects of the sample-building methods are :func:`regmed.evidence.estimate_effect` on the
adjusted sample (weighted ``lm``/``glm`` with the HC0 sandwich; weighted Cox with the robust
variance), as the MatchIt vignette "Estimating Effects After Matching" does.

References
----------
.. [1] Ho D, Imai K, King G, Stuart EA (2011). MatchIt: nonparametric preprocessing for
   parametric causal inference. JSS 42(8); MatchIt 4.7.2.
.. [2] Arel-Bundock V, Greifer N, Heiss A (2024). How to interpret statistical models using
   marginaleffects for R and Python. JSS 111(9).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from regmed import evidence
from regmed.evidence.sample import AdjustedSample
from regmed.plan.spec import DEFAULT_SUBCLASSES, AnalysisSpec, Method

__all__ = ["ADJUST_RUNNERS", "ADJUST_EFFECTS", "ADJUST_KINDS", "crude_sample", "estimate"]

Runner = Callable[[pd.DataFrame, AnalysisSpec, np.random.Generator], tuple[Any, AdjustedSample]]
EffectFn = Callable[[pd.DataFrame, AdjustedSample, Any, AnalysisSpec], Any]


def crude_sample(frame: pd.DataFrame, covariates: list[str]) -> AdjustedSample:
    """Every patient with weight 1 (an unadjusted comparison, or a regression's sample)."""
    data = frame.assign(weights=1.0)
    return AdjustedSample(data=data, original=frame, treatment="treated",
                          covariates=tuple(covariates), estimand="ATE", method="weighting",
                          cluster=None)


def _propensity(frame: pd.DataFrame, spec: AnalysisSpec) -> Any:
    return evidence.fit_propensity(frame, treatment="treated", covariates=list(spec.covariates))


def _estimand(spec: AnalysisSpec) -> str:
    return spec.estimand.value if spec.estimand is not None else "ATE"


def _run_exact(frame: pd.DataFrame, spec: AnalysisSpec, rng: np.random.Generator
               ) -> tuple[Any, AdjustedSample]:
    sample = evidence.match_exact(frame, treatment="treated", covariates=list(spec.covariates),
                                  estimand=_estimand(spec))
    return None, sample


def _run_stratification(frame: pd.DataFrame, spec: AnalysisSpec, rng: np.random.Generator
                        ) -> tuple[Any, AdjustedSample]:
    ps = _propensity(frame, spec)
    sample = evidence.stratify(frame, ps, n_subclasses=spec.n_subclasses or DEFAULT_SUBCLASSES,
                               estimand=_estimand(spec))
    return ps, sample


def _run_ps_covariate(frame: pd.DataFrame, spec: AnalysisSpec, rng: np.random.Generator
                      ) -> tuple[Any, AdjustedSample]:
    return _propensity(frame, spec), crude_sample(frame, list(spec.covariates))


def _run_covariates(frame: pd.DataFrame, spec: AnalysisSpec, rng: np.random.Generator
                    ) -> tuple[Any, AdjustedSample]:
    return None, crude_sample(frame, list(spec.covariates))


def estimate(frame: pd.DataFrame, sample: AdjustedSample, ps: Any, spec: AnalysisSpec) -> Any:
    """The effect in the adjusted sample at the spec's confidence level."""
    level = spec.confidence_level
    if spec.endpoint_kind == "survival":
        return evidence.estimate_effect(sample, kind="survival", time=f"{spec.endpoint}_time",
                                        event=f"{spec.endpoint}_event", conf_level=level)
    return evidence.estimate_effect(sample, spec.endpoint, kind=spec.endpoint_kind,
                                    conf_level=level)


def _gcomp(frame: pd.DataFrame, sample: AdjustedSample, ps: Any, spec: AnalysisSpec) -> Any:
    """Marginal effect by g-computation (the plan refuses survival endpoints here)."""
    return evidence.gcomputation(
        frame, treatment="treated", outcome=spec.endpoint, covariates=list(spec.covariates),
        kind=spec.endpoint_kind, estimand=_estimand(spec),
        confidence_level=spec.confidence_level,
        ps=ps if spec.method is Method.propensity_covariate else None)


ADJUST_RUNNERS: dict[Method, Runner] = {
    Method.exact_matching: _run_exact,
    Method.propensity_stratification: _run_stratification,
    Method.propensity_covariate: _run_ps_covariate,
    Method.covariate_adjustment: _run_covariates,
}

ADJUST_EFFECTS: dict[Method, EffectFn] = {
    Method.propensity_covariate: _gcomp,
    Method.covariate_adjustment: _gcomp,
}

#: The document's short label (``analyses[].method``) of each method.
ADJUST_KINDS: dict[Method, str] = {
    Method.exact_matching: "exact_matching",
    Method.propensity_stratification: "stratification",
    Method.propensity_covariate: "ps_covariate",
    Method.covariate_adjustment: "regression",
}
