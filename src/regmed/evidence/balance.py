"""Covariate balance before and after adjustment, computed as MatchIt's ``summary()``."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from regmed.errors import DataError, Problem
from regmed.evidence._design import check_columns, model_matrix, treatment_array
from regmed.evidence.sample import AdjustedSample
from regmed.results import Result, format_table

__all__ = ["Balance", "balance"]

_SQRT_EPS = float(np.sqrt(np.finfo(float).eps))
_STATS = ("mean_treated", "mean_control", "smd", "var_ratio", "ecdf_mean", "ecdf_max")


@dataclasses.dataclass(frozen=True)
class Balance(Result):
    """Balance statistics of an adjusted sample.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per term (``distance`` first when the sample has one, then covariates with
        factors expanded by level, e.g. ``raceblack``): ``term``, ``binary`` and, for
        ``before`` and ``after``: ``mean_treated_*``, ``mean_control_*``, ``smd_*``,
        ``var_ratio_*``, ``ecdf_mean_*``, ``ecdf_max_*``; ``imbalanced`` is
        |smd_after| > ``threshold``.
    smd_before, smd_after : pandas.Series
        Standardized mean differences by covariate term (without ``distance``).
    sample_sizes : pandas.DataFrame
        MatchIt's ``nn`` table: rows ``all_ess``, ``all``, ``adjusted_ess``, ``adjusted``,
        ``unmatched``; columns ``control``, ``treated``.
    threshold : float
    estimand : str
    sd_denominator : str
        ``"treated"`` (ATT) or ``"pooled"`` (ATE, ATO), always from the unadjusted sample.
    """

    table: pd.DataFrame
    smd_before: pd.Series
    smd_after: pd.Series
    sample_sizes: pd.DataFrame
    threshold: float
    estimand: str
    sd_denominator: str
    options: dict[str, Any]

    @property
    def imbalanced(self) -> tuple[str, ...]:
        """Covariate terms whose |SMD| after adjustment exceeds the threshold."""
        return tuple(self.smd_after.index[self.smd_after.abs() > self.threshold])

    def summary(self) -> str:
        cols = ["term", "smd_before", "smd_after", "var_ratio_after", "ecdf_max_after",
                "imbalanced"]
        return "\n".join(
            [
                format_table(self.table[cols], title=f"Balance ({self.estimand})"),
                format_table(self.sample_sizes.reset_index(), title="Sample sizes"),
            ]
        )


def _wvar(x: np.ndarray, binary: bool, w: np.ndarray | None = None) -> float:
    """MatchIt's ``wvar``: reliability-weighted variance, p(1-p) for binary variables."""
    if w is None:
        w = np.ones(len(x))
    w = w / w.sum()
    mx = float(np.sum(w * x))
    if binary:
        return mx * (1 - mx)
    return float(np.sum(w * (x - mx) ** 2) / (1 - np.sum(w**2)))


def _pooled_sd(x: np.ndarray, t: np.ndarray, binary: bool, equal: bool) -> float:
    groups = (t == 1, t == 0)
    if equal:
        return float(np.sqrt(np.mean([_wvar(x[g], binary) for g in groups])))
    n = len(x)
    if binary:
        v = 0.0
        for g in groups:
            sx = x[g].sum()
            v += sx * (1 - sx / g.sum()) / n
        return float(np.sqrt(v))
    xc = x.copy()
    for g in groups:
        xc[g] = xc[g] - xc[g].mean()
    return float(np.sqrt(np.sum(xc**2) / (n - 2)))


def _ecdf(x: np.ndarray, t: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Mean and max distance between the weighted eCDFs (MatchIt's ``qqsum``)."""
    w = w.astype(float).copy()
    for g in (t == 1, t == 0):
        w[g] = w[g] / w[g].sum()
    ordr = np.argsort(x, kind="stable")
    xo, wo, to = x[ordr], w[ordr], t[ordr]
    wo = np.where(to == to[0], -wo, wo)
    keep = np.append(np.diff(xo) != 0, True)
    ediff = np.abs(np.cumsum(wo))[keep]
    return float(ediff.mean()), float(ediff.max())


def _one(
    x: np.ndarray, t: np.ndarray, ww: np.ndarray, denom: str
) -> tuple[bool, list[float]]:
    binary = bool(np.all((x == 0) | (x == 1)))
    i1, i0 = t == 1, t == 0
    too_small = np.sum(ww[i1] != 0) < 2 and np.sum(ww[i0] != 0) < 2
    m1 = float(np.sum(x[i1] * ww[i1]) / np.sum(ww[i1]))
    m0 = float(np.sum(x[i0] * ww[i0]) / np.sum(ww[i0]))
    mdiff = m1 - m0
    smd = mdiff
    if abs(mdiff) > _SQRT_EPS and not too_small:
        if denom == "treated":
            std = float(np.sqrt(_wvar(x[i1], binary)))
        else:
            std = _pooled_sd(x, t, binary, equal=True)
        if not np.isfinite(std) or std < _SQRT_EPS:
            std = _pooled_sd(x, t, binary, equal=False)
        smd = mdiff / std
    elif abs(mdiff) > _SQRT_EPS:
        smd = float("nan")
    vr = float("nan")
    if binary:
        em = ex = abs(mdiff)
    elif not too_small:
        vr = _ratio(_wvar(x[i1], binary, ww[i1]), _wvar(x[i0], binary, ww[i0]))
        em, ex = _ecdf(x, t, ww)
    else:
        em = ex = float("nan")
    return binary, [m1, m0, smd, vr, em, ex]


def _ratio(a: float, b: float) -> float:
    """``a / b`` as R divides: ``0/0`` is NaN and ``a/0`` is ±Inf (a constant covariate)."""
    if b == 0:
        return float("nan") if a == 0 or np.isnan(a) else math.copysign(math.inf, a)
    return a / b


def _ess(w: np.ndarray) -> float:
    return float(w.sum() ** 2 / np.sum(w**2)) if np.any(w != 0) else 0.0


def balance(
    sample: AdjustedSample, covariates: Sequence[str] | None = None, threshold: float = 0.1
) -> Balance:
    """Balance before and after matching or weighting, as MatchIt's ``summary()``.

    The standardized mean difference is the difference of (weighted) means divided by a
    standard deviation from the *unadjusted* sample: the treated group's for the ATT,
    the square root of the mean of both groups' variances for the ATE and ATO (cobalt's
    "pooled"). Binary (0/1) terms use sqrt(p(1-p)) and get no variance ratio; their
    eCDF statistics are the absolute difference in proportions. Factor covariates are
    expanded into one indicator per level. Variance ratios use the weighted
    (reliability-weights) variances; eCDF mean/max are those of the weighted empirical
    distribution functions of the two groups.

    Parameters
    ----------
    sample : Matching or Weighting
        The result of :func:`match` or :func:`weight`.
    covariates : sequence of str, optional
        Columns to report (default: the covariates of the adjustment).
    threshold : float
        |SMD| above which a term is flagged as imbalanced.

    Returns
    -------
    Balance

    References
    ----------
    MatchIt 4.7.2 source (``summary.matchit.R``, ``match.qoi.R``: ``bal1var``, ``qqsum``;
    ``aux_functions.R``: ``nn``). Greifer, cobalt (s.d.denom "pooled").
    Austin (2009), Stat Med 28:3083-3107 (SMD, threshold 0.1).

    Examples
    --------
    >>> import pandas as pd
    >>> from regmed.evidence import match
    >>> df = pd.DataFrame({"t": [1, 1, 0, 0, 0], "x": [3.0, 1.0, 2.9, 1.2, 0.1]})
    >>> m = match(df, pd.Series([0.8, 0.4, 0.7, 0.45, 0.1]), treatment="t", covariates=["x"])
    >>> round(float(balance(m).smd_after["x"]), 4)
    -0.0354
    """
    if not isinstance(sample, AdjustedSample):
        raise DataError("balance needs the result of match() or weight()")
    df = sample.original
    covariates = tuple(covariates) if covariates is not None else sample.covariates
    problems: list[Problem] = check_columns(df, (sample.treatment, *covariates), "covariate")
    if not covariates:
        problems.append(Problem("no covariates to assess", field="covariates"))
    if problems:
        raise DataError("cannot compute balance", problems)
    t, _ = treatment_array(df, sample.treatment)
    x, names = model_matrix(df, covariates, drop_first=False, intercept=False)
    w_after = sample.data["weights"].reindex(df.index).fillna(0.0).to_numpy(dtype=float)
    ones = np.ones(len(df))
    denom = "treated" if sample.estimand == "ATT" else "pooled"

    terms: list[tuple[str, np.ndarray]] = []
    dist = getattr(sample, "distance", None)
    if isinstance(dist, pd.Series):
        terms.append(("distance", dist.reindex(df.index).to_numpy(dtype=float)))
    terms += [(nm, x[:, j]) for j, nm in enumerate(names)]
    rows = []
    for nm, col in terms:
        binary, before = _one(col, t, ones, denom)
        _, after = _one(col, t, w_after, denom)
        rows.append([nm, binary, *before, *after])
    columns = ["term", "binary"]
    columns += [f"{s}_before" for s in _STATS] + [f"{s}_after" for s in _STATS]
    table = pd.DataFrame(rows, columns=columns)
    table["imbalanced"] = table["smd_after"].abs() > threshold
    cov_rows = table[table["term"] != "distance"] if dist is not None else table
    smd_before = pd.Series(cov_rows["smd_before"].to_numpy(), index=cov_rows["term"].to_numpy(),
                           name="smd_before")
    smd_after = pd.Series(cov_rows["smd_after"].to_numpy(), index=cov_rows["term"].to_numpy(),
                          name="smd_after")
    i1, i0 = t == 1, t == 0
    sizes = pd.DataFrame(
        {
            "control": [_ess(ones[i0]), float(i0.sum()), _ess(w_after[i0]),
                        float(np.sum(i0 & (w_after > 0))), float(np.sum(i0 & (w_after == 0)))],
            "treated": [_ess(ones[i1]), float(i1.sum()), _ess(w_after[i1]),
                        float(np.sum(i1 & (w_after > 0))), float(np.sum(i1 & (w_after == 0)))],
        },
        index=["all_ess", "all", "adjusted_ess", "adjusted", "unmatched"],
    )
    return Balance(
        table=table,
        smd_before=smd_before,
        smd_after=smd_after,
        sample_sizes=sizes,
        threshold=float(threshold),
        estimand=sample.estimand,
        sd_denominator=denom,
        options={"covariates": list(covariates), "threshold": float(threshold)},
    )
