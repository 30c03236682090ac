"""Comparability of lots before and after a process change: TOST, quality ranges, TIs."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from regmed.errors import DataError, Problem
from regmed.quality._common import lot_table
from regmed.results import Result, format_table

__all__ = ["Comparability", "compare_lots", "ToleranceInterval", "tolerance_interval",
           "howe_k"]

METHODS = ("tost", "quality_range", "tolerance_interval")


def howe_k(n: int, coverage: float = 0.99, confidence: float = 0.95) -> float:
    """Howe's two-sided normal tolerance factor.

    ``k = sqrt((n - 1)(1 + 1/n) z^2 / chi2)`` with ``z`` the ``(1 + coverage)/2`` normal
    quantile and ``chi2`` the ``1 - confidence`` quantile of chi-square with ``n - 1`` df
    (R's ``tolerance::K.factor(method = "HE")``).

    References
    ----------
    .. [1] Howe WG (1969). Two-sided tolerance limits for normal populations - some
       improvements. JASA 64:610-620.
    """
    if n < 2:
        raise DataError("A tolerance interval needs at least two values.")
    z = stats.norm.ppf((1.0 + coverage) / 2.0)
    chi = stats.chi2.ppf(1.0 - confidence, n - 1)
    return float(np.sqrt((n - 1) * (1.0 + 1.0 / n) * z * z / chi))


@dataclasses.dataclass(frozen=True)
class ToleranceInterval(Result):
    """Two-sided normal tolerance interval: ``mean ± k·sd``."""

    lower: float
    upper: float
    k_factor: float
    mean: float
    sd: float
    n: int
    options: dict[str, Any]


def tolerance_interval(values: Sequence[float] | np.ndarray | pd.Series, coverage: float = 0.99,
                       confidence: float = 0.95) -> ToleranceInterval:
    """Interval holding ``coverage`` of a normal population with ``confidence`` (Howe's k).

    References
    ----------
    .. [1] Howe WG (1969). JASA 64:610-620.
    .. [2] Young DS (2010). tolerance: an R package for estimating tolerance intervals.
       J Stat Softw 36(5).

    Examples
    --------
    >>> round(tolerance_interval([9.8, 10.1, 10.0, 10.3, 9.9, 10.2]).k_factor, 3)
    5.813
    """
    y = np.asarray(values, dtype=float)
    y = y[~np.isnan(y)]
    k = howe_k(len(y), coverage, confidence)
    m, s = float(y.mean()), float(y.std(ddof=1))
    return ToleranceInterval(lower=m - k * s, upper=m + k * s, k_factor=k, mean=m, sd=s,
                             n=int(len(y)),
                             options={"coverage": coverage, "confidence": confidence})


@dataclasses.dataclass(frozen=True)
class Comparability(Result):
    """Attribute-by-attribute comparability of candidate lots with reference lots.

    Attributes
    ----------
    estimates : pandas.DataFrame
        One row per attribute: ``attribute, difference`` (candidate mean − reference mean),
        ``ci_lower, ci_upper`` (the ``1 − 2·alpha`` Welch interval of the difference),
        ``margin``, ``equivalent`` (the verdict of ``method``), then ``method, n_reference,
        n_candidate, mean_reference, mean_candidate, sd_reference, sd_candidate, std_error,
        df, p_tost`` (larger of the two one-sided p-values), ``range_lower, range_upper,
        share_in_range`` (reference mean ± k·SD and the share of candidate lots inside) and
        ``ti_lower, ti_upper, share_in_ti`` (reference tolerance interval).
    overall : pandas.DataFrame
        One row: ``method, n_attributes, n_equivalent, not_equivalent, comparable``.
    warnings : list of str
    options : dict
    """

    estimates: pd.DataFrame
    overall: pd.DataFrame
    warnings: list[str]
    options: dict[str, Any]

    @property
    def comparable(self) -> bool:
        """True when every attribute is judged equivalent."""
        return bool(self.overall["comparable"].iloc[0])

    def summary(self) -> str:
        cols = ["attribute", "difference", "ci_lower", "ci_upper", "margin", "equivalent"]
        text = format_table(self.estimates[cols],
                            title=f"Comparability ({self.options['method']})")
        return text + "\n" + format_table(self.overall)


def compare_lots(
    reference: pd.DataFrame,
    candidate: pd.DataFrame,
    attributes: Sequence[str],
    margins: Mapping[str, float] | None = None,
    method: str = "tost",
    *,
    k: float = 3.0,
    alpha: float = 0.05,
    lot_key: str = "lot_code",
    min_share: float = 0.9,
    coverage: float = 0.99,
    confidence: float = 0.95,
) -> Comparability:
    """Judge whether candidate lots (after a process change) match the reference lots.

    Three methods of the tiered approach, each reported for every attribute, with the
    verdict ``equivalent`` taken from ``method``:

    * ``"tost"``: Schuirmann's two one-sided tests with Welch's t: equivalent when the
      ``1 − 2·alpha`` interval of the mean difference lies inside ``(−margin, margin)``; the
      margin defaults to 1.5 × the reference SD.
    * ``"quality_range"``: equivalent when at least ``min_share`` of the candidate lots lie
      within reference mean ± ``k`` × reference SD.
    * ``"tolerance_interval"``: the same with the reference's two-sided normal tolerance
      interval (``coverage``/``confidence``, Howe's factor).

    Parameters
    ----------
    reference, candidate : pandas.DataFrame
        Lots, wide (``lot_key`` and attribute columns) or long ``lot_results``.
    attributes : sequence of str
    margins : mapping, optional
        Equivalence margins by attribute (absolute, in the attribute's unit); missing ones
        default to 1.5 × reference SD.
    method : {"tost", "quality_range", "tolerance_interval"}
    k, alpha, lot_key, min_share, coverage, confidence
        See above.

    Returns
    -------
    Comparability

    References
    ----------
    .. [1] Schuirmann DJ (1987). A comparison of the two one-sided tests procedure and the
       power approach for assessing the equivalence of average bioavailability.
       J Pharmacokinet Biopharm 15:657-680.
    .. [2] FDA (2019). Development of therapeutic protein biosimilars: comparative analytical
       assessment and other quality-related considerations (draft guidance; tiers).
    .. [3] Howe WG (1969). JASA 64:610-620.
    .. [4] Welch BL (1947). Biometrika 34:28-35.

    Examples
    --------
    >>> from regmed.quality.simulate import simulate_process_change
    >>> ref, cand = simulate_process_change(shift={"a03": 2.0}, rng=3)
    >>> res = compare_lots(ref, cand, [f"a{i:02d}" for i in range(1, 13)])
    >>> res.estimates.loc[~res.estimates["equivalent"], "attribute"].tolist()
    ['a03']
    """
    if method not in METHODS:
        raise DataError(f"method must be one of {METHODS}, not {method!r}.")
    if not 0 < alpha < 0.5:
        raise DataError("alpha must lie between 0 and 0.5.")
    attributes = list(attributes)
    margins = dict(margins or {})
    unknown = [a for a in margins if a not in attributes]
    if unknown:
        raise DataError("margins name unknown attributes",
                        [Problem(f"{a!r} is not among the attributes", field="margins")
                         for a in unknown])
    ref = lot_table(reference, attributes, lot_key, "reference")
    cand = lot_table(candidate, attributes, lot_key, "candidate")
    rows, warnings = [], []
    for a in attributes:
        r, c = ref[a].dropna().to_numpy(), cand[a].dropna().to_numpy()
        nr, nc = len(r), len(c)
        if nr < 2 or nc < 2:
            raise DataError(f"attribute {a!r}: need at least two reference and two candidate "
                            "lots.")
        mr, mc = float(r.mean()), float(c.mean())
        sr, sc = float(r.std(ddof=1)), float(c.std(ddof=1))
        vr, vc = sr * sr / nr, sc * sc / nc
        se = float(np.sqrt(vr + vc))
        df = (vr + vc) ** 2 / (vr * vr / (nr - 1) + vc * vc / (nc - 1)) if se > 0 else np.inf
        diff = mc - mr
        margin = float(margins.get(a, 1.5 * sr))
        tq = float(stats.t.ppf(1.0 - alpha, df))
        lo, hi = diff - tq * se, diff + tq * se
        if se > 0:
            p_tost = max(float(stats.t.sf((diff + margin) / se, df)),
                         float(stats.t.cdf((diff - margin) / se, df)))
        else:
            p_tost = 0.0 if abs(diff) < margin else 1.0
        rl, ru = mr - k * sr, mr + k * sr
        share_r = float(np.mean((c >= rl) & (c <= ru)))
        ti = tolerance_interval(r, coverage, confidence)
        share_t = float(np.mean((c >= ti.lower) & (c <= ti.upper)))
        verdict = {"tost": bool(lo > -margin and hi < margin),
                   "quality_range": share_r >= min_share,
                   "tolerance_interval": share_t >= min_share}[method]
        rows.append({
            "attribute": a, "difference": diff, "ci_lower": lo, "ci_upper": hi,
            "margin": margin if method == "tost" else (k * sr if method == "quality_range"
                                                        else ti.k_factor * sr),
            "equivalent": verdict, "method": method, "n_reference": nr, "n_candidate": nc,
            "mean_reference": mr, "mean_candidate": mc, "sd_reference": sr,
            "sd_candidate": sc, "std_error": se, "df": float(df), "p_tost": p_tost,
            "tost_margin": margin, "range_lower": rl, "range_upper": ru,
            "share_in_range": share_r, "ti_lower": ti.lower, "ti_upper": ti.upper,
            "share_in_ti": share_t,
        })
    est = pd.DataFrame(rows)
    n_ref = int(est["n_reference"].min())
    if method == "tost" and n_ref < 3:
        warnings.append(f"the reference has {n_ref} lots; TOST needs at least 3")
    if method != "tost" and n_ref < 10:
        warnings.append(f"the reference has {n_ref} lots; quality ranges and tolerance "
                        "intervals need at least 10")
    failed = est.loc[~est["equivalent"], "attribute"].tolist()
    overall = pd.DataFrame([{"method": method, "n_attributes": len(est),
                             "n_equivalent": int(est["equivalent"].sum()),
                             "not_equivalent": ",".join(failed), "comparable": not failed}])
    return Comparability(estimates=est, overall=overall, warnings=warnings,
                         options={"method": method, "k": k, "alpha": alpha,
                                  "margins": margins, "lot_key": lot_key,
                                  "min_share": min_share, "coverage": coverage,
                                  "confidence": confidence})
