"""Greedy nearest-neighbour propensity-score matching with MatchIt's meaning of every option."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from regmed.errors import DataError, Problem
from regmed.evidence._design import check_columns, treatment_array
from regmed.evidence._nearest import nearest_neighbour
from regmed.evidence.propensity import PropensityScore
from regmed.evidence.sample import AdjustedSample
from regmed.results import format_table

__all__ = ["Matching", "match"]

_ORDERS = ("largest", "smallest", "data", "random")
_SCALES = ("logit", "ps")


@dataclasses.dataclass(frozen=True)
class Matching(AdjustedSample):
    """The result of :func:`match` (an :class:`~regmed.evidence.sample.AdjustedSample`).

    Attributes
    ----------
    data : pandas.DataFrame
        The matched rows (``match_data`` of MatchIt) with ``distance``, ``weights`` and
        ``subclass`` columns; also available as :attr:`matched`.
    pairs : pandas.DataFrame
        One row per treated–control link: ``treated_id``, ``control_id`` (index labels of
        the input), ``subclass`` (``<NA>`` with replacement) and ``rank`` (1 = first match).
    distance : pandas.Series
        The distance used for every input row (logit PS or PS).
    caliper_width : float or None
        The caliper in distance units (``caliper`` × SD of the distance over all rows).
    attrition : pandas.DataFrame
        Counts per step: ``step``, ``n_treated``, ``n_control``.
    dropped_by_caliper : tuple
        Index labels of treated rows that had no control within the caliper.
    unmatched_treated : tuple
        Index labels of every unmatched treated row (caliper, exact strata, none left).
    n_matched_treated, n_matched_control : int
    ess_treated, ess_control : float
        Kish effective sample sizes of the matching weights.
    warnings : tuple of str
    options : dict
    """

    pairs: pd.DataFrame
    distance: pd.Series
    caliper_width: float | None
    attrition: pd.DataFrame
    dropped_by_caliper: tuple[Any, ...]
    unmatched_treated: tuple[Any, ...]
    n_matched_treated: int
    n_matched_control: int
    ess_treated: float
    ess_control: float
    warnings: tuple[str, ...]
    options: dict[str, Any]

    @property
    def matched(self) -> pd.DataFrame:
        """The matched rows with ``weights`` and ``subclass`` (same as ``data``)."""
        return self.data

    def summary(self) -> str:
        opts = ", ".join(f"{k}={v}" for k, v in self.options.items())
        lines = [
            f"Nearest-neighbour matching ({opts})",
            f"matched: {self.n_matched_treated} treated, {self.n_matched_control} control",
            format_table(self.attrition, title="Attrition"),
        ]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _distance(
    df: pd.DataFrame, ps: Any, scale: str, problems: list[Problem]
) -> np.ndarray | None:
    if isinstance(ps, PropensityScore):
        series = ps.logit_ps if scale == "logit" else ps.ps
        if not series.index.equals(df.index):
            problems.append(Problem("the propensity score was fitted on other rows", field="ps"))
            return None
        return series.to_numpy(dtype=np.float64)
    values = ps.reindex(df.index) if isinstance(ps, pd.Series) else ps
    arr = np.asarray(values, dtype=np.float64)
    if arr.shape != (len(df),):
        problems.append(Problem(f"ps must have one value per row ({len(df)})", field="ps"))
        return None
    if not np.all(np.isfinite(arr)) or np.any((arr <= 0) | (arr >= 1)):
        problems.append(Problem("ps must be probabilities strictly between 0 and 1", field="ps"))
        return None
    return special.logit(arr) if scale == "logit" else arr


def _strata_codes(df: pd.DataFrame, exact: Sequence[str], treat: np.ndarray) -> np.ndarray:
    """Stratum code per row; -1 for strata that lack treated or control rows."""
    if not exact:
        return np.zeros(len(df), dtype=np.int64)
    groups = df.groupby(list(exact), sort=True, dropna=False, observed=True)
    codes = groups.ngroup().to_numpy().astype(np.int64)
    has_t = np.bincount(codes, weights=treat == 1, minlength=codes.max() + 1) > 0
    has_c = np.bincount(codes, weights=treat == 0, minlength=codes.max() + 1) > 0
    ok = has_t & has_c
    return np.where(ok[codes], codes, -1)


def _weights(mm: np.ndarray, treated_rows: np.ndarray, n: int, replace: bool) -> np.ndarray:
    """MatchIt's matching weights, normalised to mean 1 among nonzero weights per group."""
    w = np.zeros(n)
    k = (mm >= 0).sum(axis=1)
    has = k > 0
    if replace:
        for ti in np.flatnonzero(has):
            ctrl = mm[ti, : k[ti]]
            np.add.at(w, ctrl, 1.0 / k[ti])
    else:
        rows, cols = np.nonzero(mm >= 0)
        w[mm[rows, cols]] = 1.0 / k[rows]
    w[treated_rows[has]] = 1.0
    is_t = np.zeros(n, dtype=bool)
    is_t[treated_rows] = True
    for grp in (is_t, ~is_t):
        sel = grp & (w > 0)
        if sel.any():
            w[sel] = sel.sum() * w[sel] / w[sel].sum()
    return w


def match(
    df: pd.DataFrame,
    ps: PropensityScore | pd.Series | np.ndarray | None,
    ratio: int = 1,
    caliper: float | None = None,
    caliper_scale: str = "logit",
    replace: bool = False,
    order: str = "largest",
    exact: Sequence[str] | None = None,
    rng: np.random.Generator | int | None = None,
    *,
    treatment: str | None = None,
    covariates: Sequence[str] | None = None,
    distance: pd.Series | np.ndarray | None = None,
    caliper_unit: float | None = None,
) -> Matching:
    """Greedy nearest-neighbour k:1 matching on the propensity score, as MatchIt does it.

    Equivalent to ``matchit(f, method = "nearest", distance = "glm", ratio, caliper,
    replace, m.order = order, exact)`` with ``link = "linear.logit"`` when
    ``caliper_scale = "logit"``: the matching distance *and* the caliper are on the logit
    scale; with ``"ps"`` both are on the probability scale. The caliper is in standard
    deviations of that distance over all rows (R's ``sd()``). Without replacement and
    ``ratio > 1`` controls are assigned in rounds (every treated unit gets its first
    control, then its second …); a treated unit with no control within the caliper is
    dropped. With ``replace=True`` the order is irrelevant (MatchIt uses data order).

    Parameters
    ----------
    df : pandas.DataFrame
        The data the propensity score was estimated on (not modified).
    ps : PropensityScore or pandas.Series or array
        A fitted :func:`fit_propensity` result, or probabilities per row.
    ratio : int
        Controls per treated unit.
    caliper : float, optional
        Caliper width in SDs of the distance; ``None`` means no caliper.
    caliper_scale : {"logit", "ps"}
        Scale of the distance (and so of the caliper).
    replace : bool
        Whether controls may be reused.
    order : {"largest", "smallest", "data", "random"}
        MatchIt's ``m.order``: order in which treated units choose.
    exact : sequence of str, optional
        Columns to match exactly on; strata lacking either group are dropped.
    rng : numpy.random.Generator or int, optional
        Random source for ``order="random"``.
    treatment : str, optional
        Treatment column (taken from ``ps`` when it is a PropensityScore).
    covariates : sequence of str, optional
        Covariates for balance (default: those of ``ps`` plus ``exact``).
    distance : pandas.Series or array, optional
        A ready matching distance on the ``caliper_scale`` scale (for example MatchIt's
        ``m$distance``), used instead of one derived from ``ps`` (then ``ps`` may be None).
    caliper_unit : float, optional
        The standard deviation the caliper is counted in; default: of the distance over
        ``df``'s rows. Give it when ``df`` holds only the candidates of a larger data set
        (the treated rows and the controls within the caliper of one of them, as
        :func:`regmed.evidence.dask_path.match_dask` selects them): the controls left out
        could never be matched, so the matched sets are those of the whole data set.

    Returns
    -------
    Matching

    References
    ----------
    Ho, Imai, King & Stuart (2011), MatchIt, J Stat Softw 42(8); MatchIt 4.7.2 source
    (``matchit2nearest.R``, ``nn_matchC_vec.cpp``, ``get_weights_from_subclass.R``).
    Austin (2011), Pharm Stat 10:150-161 (caliper of 0.2 SD of the logit).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"t": [1, 1, 0, 0, 0], "x": [3.0, 1.0, 2.9, 1.2, 0.1]})
    >>> m = match(df, pd.Series([0.8, 0.4, 0.7, 0.45, 0.1]), treatment="t", covariates=["x"])
    >>> m.pairs[["treated_id", "control_id"]].values.tolist()
    [[0, 2], [1, 3]]
    """
    exact = tuple(exact or ())
    problems: list[Problem] = []
    if isinstance(ps, PropensityScore):
        treatment = treatment or ps.treatment
        if covariates is None:
            covariates = ps.covariates + ps.strata
    if treatment is None:
        problems.append(Problem("treatment column not given", field="treatment"))
    if not isinstance(ratio, (int, np.integer)) or isinstance(ratio, bool) or ratio < 1:
        problems.append(Problem("ratio must be a positive integer", field="ratio"))
    if caliper is not None and (not np.isfinite(caliper) or caliper <= 0):
        problems.append(Problem("caliper must be a positive number or None", field="caliper"))
    if caliper_unit is not None and (not np.isfinite(caliper_unit) or caliper_unit <= 0):
        problems.append(Problem("caliper_unit must be a positive number", field="caliper_unit"))
    if caliper_scale not in _SCALES:
        problems.append(Problem(f"caliper_scale must be one of {_SCALES}", field="caliper_scale"))
    if order not in _ORDERS:
        problems.append(Problem(f"order must be one of {_ORDERS}", field="order"))
    if not df.index.is_unique:
        problems.append(Problem("the DataFrame index must identify rows uniquely", field="index"))
    for col in ("distance", "weights", "subclass"):
        if col in df.columns:
            problems.append(Problem("column name is reserved for matching output", field=col))
    covariates = tuple(covariates or ())
    if treatment is not None:
        problems += check_columns(df, (treatment, *exact), "")
        problems += [
            Problem("unknown covariate column", field=c) for c in covariates if c not in df.columns
        ]
    if problems:
        raise DataError("cannot match", problems)
    assert treatment is not None
    t, tp = treatment_array(df, treatment)
    dist: np.ndarray | None
    if distance is not None:
        values = distance.reindex(df.index) if isinstance(distance, pd.Series) else distance
        dist = np.asarray(values, dtype=np.float64)
        if dist.shape != (len(df),) or not np.all(np.isfinite(dist)):
            tp.append(Problem("distance must be finite, one value per row", field="distance"))
    else:
        dist = _distance(df, ps, caliper_scale, tp)
    if tp or dist is None:
        raise DataError("cannot match", tp)

    n = len(df)
    treated_rows = np.flatnonzero(t == 1)
    n1 = len(treated_rows)
    unit = float(np.std(dist, ddof=1)) if caliper_unit is None else float(caliper_unit)
    width = None if caliper is None else float(caliper) * unit
    stratum = _strata_codes(df, exact, t)
    d1 = dist[treated_rows]
    if order == "largest":
        ord_ = np.argsort(-d1, kind="stable")
    elif order == "smallest":
        ord_ = np.argsort(d1, kind="stable")
    elif order == "random" and not replace:
        ord_ = np.random.default_rng(rng).permutation(np.flatnonzero(stratum[treated_rows] >= 0))
    else:
        ord_ = np.arange(n1)
    mm, beyond = nearest_neighbour(dist, t, stratum, ord_, int(ratio), width, bool(replace))

    weights = _weights(mm, treated_rows, n, bool(replace))
    k = (mm >= 0).sum(axis=1)
    has = k > 0
    index = df.index
    sub_t = np.zeros(n1, dtype=np.int64)
    sub_t[has] = np.arange(1, int(has.sum()) + 1)
    rows, cols = np.nonzero(mm >= 0)
    pairs = pd.DataFrame(
        {
            "treated_id": index[treated_rows[rows]],
            "control_id": index[mm[rows, cols]],
            "subclass": pd.array(
                [pd.NA] * len(rows) if replace else sub_t[rows], dtype="Int64"
            ),
            "rank": cols + 1,
        }
    )
    kept = weights > 0
    data = df.loc[kept].copy()
    data["distance"] = dist[kept]
    data["weights"] = weights[kept]
    if replace:
        data["subclass"] = pd.array([pd.NA] * int(kept.sum()), dtype="Int64")
    else:
        subclass = np.zeros(n, dtype=np.int64)
        subclass[treated_rows[has]] = sub_t[has]
        subclass[mm[rows, cols]] = sub_t[rows]
        data["subclass"] = pd.array(subclass[kept], dtype="Int64")

    is_t = t == 1
    discarded_t = stratum[treated_rows] < 0
    unmatched = ~has
    n_exact_t = int(discarded_t.sum())
    n_exact_c = int(np.sum((stratum < 0) & ~is_t))
    attrition = pd.DataFrame(
        [
            ("input", n1, n - n1),
            ("exact strata without both groups", n1 - n_exact_t, n - n1 - n_exact_c),
            ("no control within caliper", n1 - n_exact_t - int(beyond.sum()), n - n1 - n_exact_c),
            ("matched", int(has.sum()), int(np.sum(kept & ~is_t))),
        ],
        columns=["step", "n_treated", "n_control"],
    )
    warnings: list[str] = []
    n0 = n - n1
    if not replace and n0 < n1:
        warnings.append("fewer control than treated units; not all treated units will get a match")
    elif not replace and n0 < ratio * n1:
        warnings.append(f"not all treated units will get {ratio} matches")
    if n_exact_t:
        warnings.append(f"{n_exact_t} treated unit(s) in exact strata without controls dropped")

    def ess(w: np.ndarray) -> float:
        return float(w.sum() ** 2 / np.sum(w**2)) if np.any(w > 0) else 0.0

    return Matching(
        data=data,
        original=df,
        treatment=treatment,
        covariates=tuple(dict.fromkeys((*covariates, *exact))),
        estimand="ATT",
        method="matching",
        cluster=None if replace else "subclass",
        pairs=pairs,
        distance=pd.Series(dist, index=index, name="distance"),
        caliper_width=width,
        attrition=attrition,
        dropped_by_caliper=tuple(index[treated_rows[beyond]]),
        unmatched_treated=tuple(index[treated_rows[unmatched]]),
        n_matched_treated=int(has.sum()),
        n_matched_control=int(np.sum(kept & ~is_t)),
        ess_treated=ess(weights[is_t]),
        ess_control=ess(weights[~is_t]),
        warnings=tuple(warnings),
        options={
            "method": "nearest",
            "ratio": int(ratio),
            "caliper": caliper,
            "caliper_scale": caliper_scale,
            "replace": bool(replace),
            "order": order,
            "exact": list(exact),
            "estimand": "ATT",
        },
    )
