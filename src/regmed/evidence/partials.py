"""The aggregates of one partition of the data: what a Dask worker or a data owner returns.

A propensity model fitted to data that are split — into the partitions of a Dask data frame,
or across data owners who cannot share rows — is the same fit as on the pooled rows when every
step needs only sums over the rows: the levels of the factors and the row counts, the column
means and sums of squares, the R factor of a QR decomposition (tall-skinny QR), and for each
Fisher-scoring iteration the deviance, X'WX and X'Wz. :func:`compute_partial` answers one such
*request* (a JSON-able dict) from one partition's rows with one such *partial* (a JSON-able
dict of numbers); :mod:`regmed.evidence.partitioned` sums the partials and iterates. The same
function runs on a Dask worker and at a data owner's site (``regmed federated compute``), so the
two paths share their arithmetic with each other and with :func:`regmed.evidence.fit_propensity`
(whose fused pass, ``_pass``, it calls).

Requests
--------
``{"op": "describe", "treatment", "covariates"}``
    Rows, treated rows, the levels of each factor with their counts (by group), the numeric
    columns' sums, and every problem of the partition's rows (unknown column, missing value,
    treatment not 0/1).
``{"op": "moments", "terms", "centre"}``
    Sums of squared deviations of the model columns from the pooled means.
``{"op": "qr", "terms", "centre", "scale"}``
    The R factor of the partition's standardized design.
``{"op": "irls", "terms", "centre", "scale", "beta"}``
    Deviance, X'WX and X'Wz at ``beta`` (``None``: R's start, ``mustart = (y + 1/2) / 2``).
``{"op": "distance", "terms", "centre", "scale", "beta"}``
    Sum and sum of squares of the linear predictor (the caliper's standard deviation).
``{"op": "wsums", ..., "outcome", "estimand", "trim", "share"}``
    Per group (control, treated): rows, the sum of the propensity-score weights, of weight ×
    outcome and of squared weights, and the rows with outcome 1 (rows with a missing outcome
    counted apart).
``{"op": "wresid", ..., "means"}``
    Per group: the sum of squared weighted residuals from the group's weighted mean (the
    meat of the HC0 sandwich).

References
----------
Karr AF, Lin X, Sanil AP, Reiter JP (2005). Secure regression on distributed databases. J Comput
Graph Stat 14:263-279 (sums of X'WX and X'Wz across owners).
Gaye A et al. (2014). DataSHIELD: taking the analysis to the data, not the data to the analysis.
Int J Epidemiol 43:1929-1944 (``ds.glm``: one IRLS step per request, disclosure thresholds).
Demmel J, Grigori L, Hoemmen M, Langou J (2012). Communication-optimal parallel and sequential QR
and LU factorizations. SIAM J Sci Comput 34:A206-A239 (TSQR).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from regmed.errors import DataError, Problem
from regmed.evidence._design import check_columns, fill_columns, is_categorical, treatment_array
from regmed.evidence.propensity import _pass, _qr_r
from regmed.evidence.weighting import ps_weights

__all__ = ["compute_partial", "design_of", "linear_predictor", "OPS"]

OPS = ("describe", "moments", "qr", "irls", "distance", "wsums", "wresid")

#: A model column: (name, source column or "" for the intercept, level or None for numeric).
Term = tuple[str, str, Any]


def _level_key(value: Any) -> Any:
    """A level as JSON carries it (numpy scalars to Python)."""
    return value.item() if isinstance(value, np.generic) else value


def _describe(df: pd.DataFrame, treatment: str, covariates: Sequence[str]) -> dict[str, Any]:
    problems = check_columns(df, (treatment, *covariates), "")
    out: dict[str, Any] = {"n": len(df), "problems": [p.to_dict() for p in problems]}
    if problems:
        return out
    t, tp = treatment_array(df, treatment)
    tp = [p for p in tp if not p.message.startswith("treatment has only one group")]
    if tp:
        out["problems"] = [p.to_dict() for p in tp]
        return out
    out["n_treated"] = int(t.sum())
    levels: dict[str, list[list[Any]]] = {}
    numeric: dict[str, float] = {}
    for col in covariates:
        s = df[col]
        if is_categorical(s):
            kind = "bool" if pd.api.types.is_bool_dtype(s) else (
                "category" if isinstance(s.dtype, pd.CategoricalDtype) else "sorted")
            counts = pd.crosstab(s.astype(object), t)
            rows = [[_level_key(lev), int(counts.loc[lev].get(0, 0)),
                     int(counts.loc[lev].get(1, 0))] for lev in counts.index]
            levels[col] = rows
            if kind == "category":
                out.setdefault("categories", {})[col] = [_level_key(c) for c in
                                                          s.cat.categories]
            out.setdefault("kinds", {})[col] = kind
        elif pd.api.types.is_numeric_dtype(s):
            numeric[col] = float(np.sum(s.to_numpy(dtype=np.float64)))
        else:
            out["problems"].append(Problem(f"unsupported type {s.dtype}", field=col).to_dict())
    out["levels"] = levels
    out["sums"] = numeric
    return out


def design_of(df: pd.DataFrame, terms: Sequence[Term]) -> np.ndarray:
    """The model matrix of ``df`` for the pooled model's columns ``terms`` (levels that the
    partition lacks give columns of zeros)."""
    return fill_columns(df, [(str(n), str(c), lev) for n, c, lev in terms], numeric=None)


def _standardized(df: pd.DataFrame, request: Mapping[str, Any]) -> np.ndarray:
    x = design_of(df, [tuple(t) for t in request["terms"]])  # type: ignore[misc]
    x -= np.asarray(request["centre"], dtype=np.float64)
    x /= np.asarray(request["scale"], dtype=np.float64)
    return x


def linear_predictor(df: pd.DataFrame, model: Mapping[str, Any]) -> np.ndarray:
    """The logit of the propensity score of ``df``'s rows under a fitted model (``terms``,
    ``centre``, ``scale`` and ``beta`` of the standardized design)."""
    return np.asarray(_standardized(df, model) @ np.asarray(model["beta"], dtype=np.float64))


def _response(df: pd.DataFrame, request: Mapping[str, Any]) -> np.ndarray:
    t, _ = treatment_array(df, str(request["treatment"]))
    return t.astype(np.float64)


def compute_partial(df: pd.DataFrame, request: Mapping[str, Any]) -> dict[str, Any]:
    """Answer one request (see the module's description) from one partition's rows.

    Parameters
    ----------
    df : pandas.DataFrame
        The partition's rows (not modified).
    request : mapping
        ``op`` and its parameters, as :mod:`regmed.evidence.partitioned` sends them.

    Returns
    -------
    dict
        JSON-able numbers only (lists for arrays); no row-level value leaves the partition.

    Raises
    ------
    DataError
        An unknown ``op``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"t": [0, 1, 1, 0], "age": [50.0, 60, 70, 40]})
    >>> part = compute_partial(df, {"op": "describe", "treatment": "t", "covariates": ["age"]})
    >>> part["n"], part["n_treated"], part["sums"]
    (4, 2, {'age': 220.0})
    """
    op = request.get("op")
    if op == "describe":
        return _describe(df, str(request["treatment"]), list(request["covariates"]))
    if op == "moments":
        x = design_of(df, [tuple(t) for t in request["terms"]])  # type: ignore[misc]
        x -= np.asarray(request["centre"], dtype=np.float64)
        return {"ss": np.einsum("ij,ij->j", x, x).tolist(), "n": len(df)}
    if op == "qr":
        return {"r": _qr_r(_standardized(df, request)).tolist()}
    if op == "irls":
        beta = request.get("beta")
        b = None if beta is None else np.asarray(beta, dtype=np.float64)
        x = _standardized(df, request)
        dev, a, score = _pass(x, _response(df, request), b, np.empty(len(df)))
        return {"deviance": dev, "xwx": a.tolist(), "xwz": score.tolist(), "n": len(df)}
    if op == "distance":
        eta = linear_predictor(df, request)
        return {"sum": float(eta.sum()), "sumsq": float(np.sum((eta - eta.mean()) ** 2)),
                "n": len(df)}
    if op in ("wsums", "wresid"):
        return _weighted(df, request)
    raise DataError("unknown request", [Problem(f"not one of {', '.join(OPS)}", field="op")])


def _weights(df: pd.DataFrame, request: Mapping[str, Any]
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Treatment, weights and outcome of the rows kept (as :func:`regmed.evidence.weight`
    computes them: ATE ``t/e + (1-t)/(1-e)``, ATT ``t + (1-t) e/(1-e)``, ATO; trimming; the
    stabilizing share of the pooled data)."""
    eta = linear_predictor(df, request)
    e = 1.0 / (1.0 + np.exp(-eta))
    t = _response(df, request)
    keep = np.ones(len(df), dtype=bool)
    trim = request.get("trim")
    if trim is not None:
        keep = (e >= trim) & (e <= 1 - trim)
    t, e = t[keep], e[keep]
    w = ps_weights(t, e, str(request.get("estimand", "ATT")))
    share = request.get("share")
    if share is not None:
        w = w * np.where(t == 1, share, 1 - share)
    y = pd.to_numeric(df[str(request["outcome"])], errors="coerce").to_numpy(float)[keep]
    return t, w, y


def _weighted(df: pd.DataFrame, request: Mapping[str, Any]) -> dict[str, Any]:
    t, w, y = _weights(df, request)
    seen = ~np.isnan(y)
    groups = [(t == g) & seen for g in (0, 1)]
    if request["op"] == "wsums":
        return {"n": [int(g.sum()) for g in groups],
                "n_missing": int((~seen).sum()),
                "n_events": [int(np.sum(y[g] == 1)) for g in groups],
                "w": [float(w[g].sum()) for g in groups],
                "wy": [float(np.sum(w[g] * y[g])) for g in groups],
                "w2": [float(np.sum(w[g] ** 2)) for g in groups],
                "binary": bool(np.isin(y[seen], (0.0, 1.0)).all())}
    means = request["means"]
    return {"meat": [float(np.sum((w[g] * (y[g] - m)) ** 2))
                     for g, m in zip(groups, means, strict=True)]}
