"""Propensity-score subclassification (stratification) as MatchIt's ``method = "subclass"``.

:func:`stratify` cuts the propensity score at quantiles of the estimand's target group, moves
units so that every subclass holds at least ``min_n`` treated and control units (MatchIt's
``subclass_scoot``), and gives every unit its subclass weight (marginal mean weighting through
stratification). :func:`~regmed.evidence.match_exact` (module ``exact``) shares the result type
and the weights.

References
----------
.. [1] Rosenbaum PR, Rubin DB (1984). Reducing bias in observational studies using
   subclassification on the propensity score. JASA 79:516-524.
.. [2] Hong G (2010). Marginal mean weighting through stratification. Journal of Educational
   and Behavioral Statistics 35:499-531.
.. [3] Ho D, Imai K, King G, Stuart EA (2011). MatchIt: nonparametric preprocessing for
   parametric causal inference. JSS 42(8). MatchIt 4.7.2: ``matchit2subclass``,
   ``subclass_scootC``, ``get_weights_from_subclass``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from regmed.errors import DataError, Problem
from regmed.evidence._design import treatment_array
from regmed.evidence.propensity import PropensityScore
from regmed.evidence.sample import AdjustedSample
from regmed.results import format_table

__all__ = ["Subclassification", "stratify", "subclass_weights"]

SUBCLASS_ESTIMANDS = ("ATT", "ATC", "ATE")


@dataclasses.dataclass(frozen=True)
class Subclassification(AdjustedSample):
    """The result of :func:`stratify` or :func:`~regmed.evidence.match_exact`.

    An :class:`~regmed.evidence.sample.AdjustedSample` whose ``data`` are MatchIt's
    ``match_data``: the rows with a subclass, with ``subclass`` (1, 2, …) and ``weights``.
    ``cluster`` is ``None``: effects use the individual HC0 sandwich, as the MatchIt vignette
    advises after subclassification and exact matching (cluster-robust SEs need many clusters).

    Attributes
    ----------
    subclass : pandas.Series
        Subclass of every input row (``<NA>`` for unmatched rows), as ``matchit()$subclass``.
    weights_all : pandas.Series
        Weight of every input row (0 for unmatched rows), as ``matchit()$weights``.
    n_subclasses : int
        Number of subclasses formed.
    q_cut : tuple of float
        Propensity-score cut points (stratification only; empty for exact matching).
    subclass_table : pandas.DataFrame
        ``subclass``, ``n_treated``, ``n_control``.
    attrition : pandas.DataFrame
        ``step``, ``n_treated``, ``n_control``.
    warnings : tuple of str
    options : dict
    """

    subclass: pd.Series
    weights_all: pd.Series
    n_subclasses: int
    q_cut: tuple[float, ...]
    subclass_table: pd.DataFrame
    attrition: pd.DataFrame
    warnings: tuple[str, ...]
    options: dict[str, Any]

    def summary(self) -> str:
        what = "Exact matching" if self.method == "exact_matching" else "Subclassification"
        return "\n".join([
            f"{what} ({self.estimand}): {self.n_subclasses} subclasses",
            format_table(self.subclass_table, title="Subclasses"),
            format_table(self.attrition, title="Attrition"),
            *[f"warning: {w}" for w in self.warnings],
        ])


def subclass_weights(subclass: np.ndarray, treat: np.ndarray, estimand: str) -> np.ndarray:
    """MatchIt's subclass weights, scaled to sum to the number of weighted units per group.

    ``subclass`` holds integer codes 1..S, 0 for unmatched units (weight 0). ATT: treated 1,
    controls ``n1_s / n0_s``; ATC: treated ``n0_s / n1_s``, controls 1; ATE: ``n_s / n_{t,s}``.
    Then, as ``matchit()``, the nonzero weights of each group are rescaled to sum to their count.
    """
    s = subclass.astype(np.int64)
    size = int(s.max()) + 1
    n1 = np.bincount(s[(treat == 1) & (s > 0)], minlength=size).astype(float)
    n0 = np.bincount(s[(treat == 0) & (s > 0)], minlength=size).astype(float)
    w = np.zeros(len(s))
    i1, i0 = (treat == 1) & (s > 0), (treat == 0) & (s > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        if estimand == "ATT":
            w[i1], w[i0] = 1.0, (n1 / n0)[s[i0]]
        elif estimand == "ATC":
            w[i1], w[i0] = (n0 / n1)[s[i1]], 1.0
        else:
            w[i1], w[i0] = 1.0 + (n0 / n1)[s[i1]], 1.0 + (n1 / n0)[s[i0]]
    for g in (i1, i0):
        pos = g & (w > 0)
        if pos.any():
            w[pos] = pos.sum() * w[pos] / w[pos].sum()
    return w


def _scoot(sub: np.ndarray, treat: np.ndarray, x: np.ndarray, min_n: int) -> np.ndarray:
    """MatchIt's ``subclass_scootC``: fill subclasses that lack ``min_n`` units of a group.

    A line-by-line port: for each treatment group (in order of appearance) and each of the
    ``min_n`` passes, an empty subclass takes the unit closest to it in distance from the
    nearest non-empty subclass on the side holding more spare units.
    """
    unique_sub = np.unique(sub)
    code = np.searchsorted(unique_sub, sub)
    nsub = len(unique_sub)
    for t in pd.unique(treat):
        indt = np.flatnonzero(treat == t)
        tab = np.bincount(code[indt], minlength=nsub).astype(float)
        for _ in range(min_n):
            while tab.min() <= 0:
                s = int(np.flatnonzero(tab == 0)[0])
                if s == nsub - 1:
                    left = True
                elif s == 0:
                    left = False
                else:
                    score = sum((tab[s2] - 1) / (s2 - s) for s2 in range(nsub)
                                if tab[s2] > 1 and s2 != s)
                    left = score <= 0
                side = range(s - 1, -1, -1) if left else range(s + 1, nsub)
                s2 = next(j for j in side if tab[j] > 0)
                members = indt[code[indt] == s2]
                best = members[0]
                for i in members[1:]:
                    if (x[i] >= x[best]) if left else (x[i] <= x[best]):
                        best = i
                code[best] = s
                tab[s] += 1
                tab[s2] -= 1
            tab -= 1
    return np.asarray(unique_sub[code])


def _quantile7(x: np.ndarray, probs: np.ndarray) -> np.ndarray:
    return np.quantile(x, probs, method="linear")


def stratify(
    df: pd.DataFrame,
    ps: PropensityScore | pd.Series | np.ndarray,
    *,
    n_subclasses: int = 5,
    estimand: str = "ATT",
    min_n: int = 1,
    treatment: str | None = None,
    covariates: tuple[str, ...] | list[str] | None = None,
) -> Subclassification:
    """Subclassify on the propensity score as ``matchit(method = "subclass")``.

    The cut points are the quantiles (R's type 7) at ``0, 1/k, …, 1`` of the propensity score in
    the estimand's target group: the treated for the ATT, the controls for the ATC, everyone for
    the ATE. Every unit falls in the interval that holds it (``findInterval(all.inside = TRUE)``);
    with ``min_n > 0`` subclasses lacking ``min_n`` treated or control units take units from their
    neighbours (MatchIt's ``subclass_scoot``), with ``min_n = 0`` such subclasses are dropped.
    Weights are MatchIt's subclass weights for the estimand (:func:`subclass_weights`).

    Parameters
    ----------
    df : pandas.DataFrame
        The data (not modified).
    ps : PropensityScore or pandas.Series or array
        A :func:`~regmed.evidence.fit_propensity` result or probabilities per row (the
        distance, as MatchIt's default ``distance = "glm"``).
    n_subclasses : int
        Number of subclasses requested (``subclass =``), at least 2. Default 5.
    estimand : {"ATT", "ATC", "ATE"}
    min_n : int
        Minimum number of treated and of control units per subclass (``min.n``), default 1.
    treatment, covariates : optional
        Needed when ``ps`` is not a PropensityScore (covariates are for balance).

    Returns
    -------
    Subclassification

    References
    ----------
    Rosenbaum & Rubin (1984), JASA 79:516-524; Hong (2010), JEBS 35:499-531; MatchIt 4.7.2
    ``matchit2subclass`` and the vignette "Estimating Effects After Matching".

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"t": [1, 0, 1, 0, 1, 0, 0, 1]})
    >>> s = stratify(d, pd.Series([.2, .1, .4, .3, .6, .5, .7, .8]), n_subclasses=2,
    ...              treatment="t")
    >>> s.subclass.tolist()
    [1, 1, 1, 1, 2, 2, 2, 2]
    """
    problems: list[Problem] = []
    if isinstance(ps, PropensityScore):
        treatment = treatment or ps.treatment
        if covariates is None:
            covariates = ps.covariates + ps.strata
        e = ps.ps.reindex(df.index).to_numpy(dtype=float)
    else:
        e = np.asarray(ps.reindex(df.index) if isinstance(ps, pd.Series) else ps, dtype=float)
    if estimand not in SUBCLASS_ESTIMANDS:
        problems.append(Problem(f"estimand must be one of {SUBCLASS_ESTIMANDS} for "
                                "subclassification", field="estimand"))
    if not isinstance(n_subclasses, (int, np.integer)) or n_subclasses < 2:
        problems.append(Problem("n_subclasses must be an integer of at least 2",
                                field="n_subclasses"))
    if not isinstance(min_n, (int, np.integer)) or min_n < 0:
        problems.append(Problem("min_n must be a non-negative integer", field="min_n"))
    if treatment is None or treatment not in df.columns:
        problems.append(Problem("treatment column not given or not in the data",
                                field="treatment"))
    if e.shape != (len(df),) or not np.all(np.isfinite(e)):
        problems.append(Problem("ps must be finite numbers, one per row", field="ps"))
    for col in ("weights", "subclass"):
        if col in df.columns:
            problems.append(Problem("column name is reserved for the result", field=col))
    if problems:
        raise DataError("cannot subclassify", problems)
    assert treatment is not None
    t, tp = treatment_array(df, treatment)
    if tp:
        raise DataError("cannot subclassify", tp)
    k = int(n_subclasses)
    target = {"ATT": e[t == 1], "ATC": e[t == 0], "ATE": e}[estimand]
    q = _quantile7(target, np.linspace(0.0, 1.0, k + 1))
    sub = np.clip(np.searchsorted(q, e, side="right"), 1, k)
    warnings: list[str] = []
    if len(np.unique(sub)) < k:
        warnings.append("due to discreteness in the distance measure, fewer subclasses were "
                        "generated than were requested")
    if min_n == 0:
        both = np.intersect1d(sub[t == 1], sub[t == 0])
        sub = np.where(np.isin(sub, both), sub, 0)
    else:
        present = np.unique(sub)
        if min((t == 1).sum(), (t == 0).sum()) < len(present) * min_n:
            raise DataError("cannot subclassify", [Problem(
                f"not enough units to fit {min_n} treated and control unit(s) in each of "
                f"{len(present)} subclasses; ask for fewer subclasses", field="n_subclasses")])
        sub = _scoot(sub, t, e, int(min_n))
    labels = np.unique(sub[sub > 0])
    sub = np.where(sub > 0, np.searchsorted(labels, sub) + 1, 0)
    return build_subclassification(
        df, t, sub, treatment=treatment, covariates=tuple(covariates or ()), estimand=estimand,
        method="stratification", q_cut=tuple(float(v) for v in q), warnings=warnings,
        options={"n_subclasses": k, "estimand": estimand, "min_n": int(min_n),
                 "distance": "propensity score"})


def build_subclassification(
    df: pd.DataFrame, t: np.ndarray, sub: np.ndarray, *, treatment: str,
    covariates: tuple[str, ...], estimand: str, method: str, q_cut: tuple[float, ...],
    warnings: list[str], options: dict[str, Any],
) -> Subclassification:
    """Weights, match data and attrition from subclass codes (0 = unmatched)."""
    w = subclass_weights(sub, t, estimand)
    keep = sub > 0
    data = df.loc[keep].copy()
    data["subclass"] = sub[keep]
    data["weights"] = w[keep]
    n1, n0 = int((t == 1).sum()), int((t == 0).sum())
    m1, m0 = int((keep & (t == 1)).sum()), int((keep & (t == 0)).sum())
    step = "in a subclass with both groups" if method == "exact_matching" else "subclassified"
    attrition = pd.DataFrame([("input", n1, n0), (step, m1, m0)],
                             columns=["step", "n_treated", "n_control"])
    codes = np.arange(1, int(sub.max()) + 1)
    table = pd.DataFrame({
        "subclass": codes,
        "n_treated": [int(((sub == c) & (t == 1)).sum()) for c in codes],
        "n_control": [int(((sub == c) & (t == 0)).sum()) for c in codes],
    })
    return Subclassification(
        data=data, original=df, treatment=treatment, covariates=covariates, estimand=estimand,
        method=method, cluster=None,
        subclass=pd.Series(pd.array(np.where(keep, sub, 0), dtype="Int64"), index=df.index,
                           name="subclass").mask(~keep),
        weights_all=pd.Series(w, index=df.index, name="weights"),
        n_subclasses=len(codes), q_cut=q_cut, subclass_table=table, attrition=attrition,
        warnings=tuple(warnings), options=options,
    )
