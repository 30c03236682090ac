"""The propensity-weighted effect from partition sums (a Dask pool, or data owners).

With a binary treatment the models of :func:`regmed.evidence.estimate_effect` —
``lm(y ~ treat, weights)``, ``glm(quasipoisson(log))`` and ``glm(quasibinomial())`` — are
saturated: each arm's fitted mean is its weighted mean ``r_g = Σ w y / Σ w``, and the HC0
sandwich (``sandwich::vcovHC(type = "HC0")``) of the treatment coefficient is the sum over the
two arms of ``M_g / (Σ_g w · v_g)²`` with ``M_g = Σ_g w² (y - r_g)²`` and ``v_g`` the variance
function's derivative term (1 for the mean difference, ``r_g`` for the log risk ratio,
``r_g (1 - r_g)`` for the log odds ratio). Every piece is a sum over rows, so two passes over
the partitions (:func:`regmed.evidence.partials.compute_partial` ``wsums`` and ``wresid``) give
the in-memory estimates and standard errors to rounding.

References
----------
Zeileis A (2006). Object-oriented computation of sandwich estimators. J Stat Softw 16(9).
Greifer N. WeightIt: Weighting for Covariate Balance in Observational Studies (R package;
ATT/ATE/ATO weights, HC0 sandwich as the default variance in its vignettes).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from regmed.errors import DataError, Problem
from regmed.evidence.effects import Effect, _row, effect_fields
from regmed.evidence.partitioned import Mapper, PartitionedFit
from regmed.results import ESTIMATE_COLUMNS

__all__ = ["weighted_effect_partitioned"]

_ESTIMANDS = ("ATT", "ATE", "ATO")


def weighted_effect_partitioned(mapper: Mapper, fit: PartitionedFit, outcome: str, *,
                                kind: str = "binary", estimand: str = "ATT",
                                trim: float | None = None, stabilize: bool = False,
                                confidence_level: float = 0.95) -> Effect:
    """The effect of treatment in the propensity-weighted pool, from partition sums.

    Equals ``estimate_effect(weight(df, ps, estimand, trim=trim, stabilize=stabilize),
    outcome, kind=kind)`` on the pooled rows (truncation of weights, which needs pooled
    quantiles, is not offered here).

    Parameters
    ----------
    mapper : callable
        As for :func:`regmed.evidence.partitioned.fit_propensity_partitioned`.
    fit : PartitionedFit
        The propensity model.
    outcome : str
        The outcome column (0/1 for ``binary``).
    kind : {"binary", "continuous"}
    estimand : {"ATT", "ATE", "ATO"}
    trim : float, optional
        Rows with a score outside ``[trim, 1 - trim]`` are dropped.
    stabilize : bool
        Multiply the weights by the share of each arm.
    confidence_level : float

    Returns
    -------
    Effect

    Raises
    ------
    DataError
        An unknown kind or estimand, a binary outcome that is not 0/1, an arm without rows.
    """
    problems = []
    if kind not in ("binary", "continuous"):
        problems.append(Problem("kind must be binary or continuous", field="kind"))
    if estimand not in _ESTIMANDS:
        problems.append(Problem(f"estimand must be one of {_ESTIMANDS}", field="estimand"))
    if problems:
        raise DataError("cannot estimate the weighted effect", problems)
    base: dict[str, Any] = {**fit.request("wsums"), "outcome": outcome, "estimand": estimand,
                            "trim": trim, "share": None}
    parts = mapper(base)
    if stabilize:
        n = np.sum([np.asarray(p["n"]) for p in parts], axis=0)
        base["share"] = float(n[1] / n.sum())
        parts = mapper(base)
    n = np.sum([np.asarray(p["n"]) for p in parts], axis=0)
    w = np.sum([np.asarray(p["w"]) for p in parts], axis=0)
    wy = np.sum([np.asarray(p["wy"]) for p in parts], axis=0)
    if kind == "binary" and not all(p["binary"] for p in parts):
        raise DataError("A binary outcome must be coded 0/1.",
                        [Problem("values other than 0/1", field=outcome)])
    if n.min() == 0:
        raise DataError("Both arms need rows with an observed outcome.")
    r = wy / w
    meat = np.sum([np.asarray(p["meat"]) for p in mapper(
        {**base, "op": "wresid", "means": r.tolist()})], axis=0)
    df_resid = float(n.sum() - 2)

    def row(term: str, est: float, v: np.ndarray, df: float) -> dict[str, Any]:
        se = math.sqrt(float(np.sum(meat / (w * v) ** 2)))
        return _row(term, est, se, df, confidence_level)

    r0, r1 = float(r[0]), float(r[1])
    rows = [row("risk_difference" if kind == "binary" else "mean_difference", r1 - r0,
                np.ones(2), df_resid)]
    if kind == "binary":
        if min(r0, r1) > 0:
            rows.append(row("log_risk_ratio", math.log(r1 / r0), r, math.inf))
        else:
            rows.append(_row("log_risk_ratio", math.nan, math.nan, math.inf, confidence_level))
        if min(r0, r1) > 0 and max(r0, r1) < 1:
            rows.append(row("log_odds_ratio", math.log(r1 / (1 - r1)) - math.log(r0 / (1 - r0)),
                            r * (1 - r), math.inf))
        else:
            rows.append(_row("log_odds_ratio", math.nan, math.nan, math.inf, confidence_level))
    options = {"outcome": outcome, "kind": kind, "conf_level": confidence_level,
               "confidence_level": confidence_level,
               "variance": "HC0 sandwich (sandwich::vcovHC type HC0)", "cluster": None,
               "method": "weighting", "estimand": estimand, "treatment": fit.treatment,
               "partitions": fit.n_partitions}
    return Effect(kind=kind, measure="risk_difference" if kind == "binary" else
                  "mean_difference", outcome=outcome,
                  estimates=pd.DataFrame(rows, columns=list(ESTIMATE_COLUMNS)),
                  risk_treated=r1, risk_control=r0, n_treated=int(n[1]), n_control=int(n[0]),
                  n_clusters=None, n_missing_outcome=int(sum(p["n_missing"] for p in parts)),
                  options=options, **effect_fields(kind, rows))
