"""Overall test statistics of accumulating stage data, as rpact's ``getStageResults*`` (internal).

Each data kind turns the data of stages 1..k into the overall statistic for a hypothesised
effect ``theta`` (rpact's ``thetaH0``) and returns it on rpact's z scale: the overall p-value
``p`` (one-sided, in the chosen direction) mapped back by ``z = Phi^{-1}(1 - p)`` exactly as
``rpact:::.getOneMinusQNorm`` does, so that t-tests enter the normal boundaries as rpact does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import special, stats

__all__ = ["StageData", "one_minus_qnorm", "COLUMNS"]

_QNORM_EPS = 1e-100
QNORM_MAX = float(-special.ndtri(_QNORM_EPS))
_QNORM_THRESHOLD = math.floor(QNORM_MAX)

#: Stage-data columns per (kind, arms): rates and means stage-wise, survival cumulative.
COLUMNS: dict[tuple[str, int], tuple[str, ...]] = {
    ("rates", 2): ("n_treated", "events_treated", "n_control", "events_control"),
    ("rates", 1): ("n", "events"),
    ("means", 2): ("n_treated", "mean_treated", "sd_treated", "n_control", "mean_control",
                   "sd_control"),
    ("means", 1): ("n", "mean", "sd"),
    ("survival", 2): ("events",),
}


def one_minus_qnorm(p: float) -> float:
    """``rpact:::.getOneMinusQNorm``: ``Phi^{-1}(1 - p)`` capped at about +-21.3."""
    if p <= 0:
        p = _QNORM_EPS
    p = min(p, 1.0)
    z = -float(special.ndtri(p)) if p < 0.5 else float(special.ndtri(1.0 - p))
    if z < -_QNORM_THRESHOLD:
        return -QNORM_MAX
    if z > _QNORM_THRESHOLD:
        return QNORM_MAX
    return z


def _fm_diff(rate1: float, rate2: float, theta: float, allocation: float) -> tuple[float, float]:
    """Farrington-Manning restricted ML rates for a risk difference ``theta``."""
    if theta == 0:
        ml = (allocation * rate1 + rate2) / (1 + allocation)
        return ml, ml
    a = 1 + 1 / allocation
    b = -(1 + 1 / allocation + rate1 + rate2 / allocation + theta * (1 / allocation + 2))
    c = theta**2 + theta * (2 * rate1 + 1 / allocation + 1) + rate1 + rate2 / allocation
    d = -theta * (1 + theta) * rate1
    v = b**3 / (3 * a) ** 3 - b * c / (6 * a**2) + d / (2 * a)
    root = math.sqrt(max(b**2 / (3 * a) ** 2 - c / (3 * a), 0.0))
    if v == 0:
        u, w = root, math.pi / 2
    else:
        u = math.copysign(root, v)
        w = (math.pi + math.acos(max(-1.0, min(1.0, v / u**3)))) / 3
    ml1 = min(max(0.0, 2 * u * math.cos(w) - b / (3 * a)), 1.0)
    return ml1, min(max(0.0, ml1 - theta), 1.0)


class StageData:
    """Stage data of one kind with rpact's overall statistics.

    Parameters
    ----------
    kind : {"rates", "means", "survival"}
    arms : {1, 2}
    columns : mapping of column name to the per-stage values (validated by the caller).
    normal_approximation, equal_variances : bool
        rpact's options (means: t tests unless ``normal_approximation``).
    allocation_ratio : sequence of float
        Survival only: the overall allocation ratio (treated / control) at each stage.
    """

    def __init__(self, kind: str, arms: int, columns: Mapping[str, Sequence[float]], *,
                 normal_approximation: bool, equal_variances: bool,
                 allocation_ratio: Sequence[float] | np.ndarray | None = None) -> None:
        self.kind, self.arms = kind, arms
        self.normal_approximation, self.equal_variances = normal_approximation, equal_variances
        c = {k: np.asarray(v, dtype=float) for k, v in columns.items()}
        self.n_stages = len(next(iter(c.values())))
        if kind == "rates":
            if arms == 2:
                self.n1, self.n2 = np.cumsum(c["n_treated"]), np.cumsum(c["n_control"])
                self.e1, self.e2 = np.cumsum(c["events_treated"]), np.cumsum(c["events_control"])
            else:
                self.n1, self.e1 = np.cumsum(c["n"]), np.cumsum(c["events"])
        elif kind == "means":
            if arms == 2:
                self.n1, self.m1, self.s1 = _overall(c["n_treated"], c["mean_treated"],
                                                     c["sd_treated"])
                self.n2, self.m2, self.s2 = _overall(c["n_control"], c["mean_control"],
                                                     c["sd_control"])
                self.pooled_sd = np.sqrt(((self.n1 - 1) * self.s1**2 + (self.n2 - 1) * self.s2**2)
                                         / (self.n1 + self.n2 - 2))
            else:
                self.n1, self.m1, self.s1 = _overall(c["n"], c["mean"], c["sd"])
        else:
            self.events = c["events"]
            self.log_rank = c["log_rank"]
            self.ratio = np.asarray(allocation_ratio, dtype=float)

    # -- rpact's overall statistic -----------------------------------------------------------
    def z(self, k: int, theta: float, upper: bool) -> float:
        """rpact's ``.getOneMinusQNorm(overallPValues[k])`` at ``thetaH0 = theta`` (k 0-based)."""
        if self.kind == "survival":
            r, d = self.ratio[k], self.events[k]
            stat = self.log_rank[k] - math.sqrt(d) * math.sqrt(r) / (1 + r) * math.log(theta)
            p = 1 - float(special.ndtr(stat)) if upper else float(special.ndtr(stat))
            return one_minus_qnorm(p)
        if self.kind == "rates":
            stat = self._rates_statistic(k, theta)
            p = 1 - float(special.ndtr(stat))
        else:
            stat, df = self._means_statistic(k, theta)
            cdf = float(special.ndtr(stat)) if df is None else float(stats.t.cdf(stat, df))
            p = 1 - cdf
        if not upper:
            p = 1 - p if self.kind == "means" else float(special.ndtr(stat))
        return one_minus_qnorm(p)

    def statistic(self, k: int, theta: float) -> float:
        """rpact's ``overallTestStatistics[k]``: the raw overall statistic (t for t tests)."""
        if self.kind == "survival":
            r, d = self.ratio[k], self.events[k]
            return float(self.log_rank[k] - math.sqrt(d) * math.sqrt(r) / (1 + r)
                         * math.log(theta))
        if self.kind == "rates":
            return self._rates_statistic(k, theta)
        return self._means_statistic(k, theta)[0]

    def _rates_statistic(self, k: int, theta: float) -> float:
        if self.arms == 1:
            n, e = self.n1[k], self.e1[k]
            return (e / n - theta) / math.sqrt(theta * (1 - theta)) * math.sqrt(n)
        n1, n2, e1, e2 = self.n1[k], self.n2[k], self.e1[k], self.e2[k]
        if theta == 0:
            if e1 + e2 == 0 or e1 + e2 == n1 + n2:
                return 0.0
            pooled = (e1 + e2) / (n1 + n2)
            return (e1 / n1 - e2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        ml1, ml2 = _fm_diff(e1 / n1, e2 / n2, theta, n1 / n2)
        return (e1 / n1 - e2 / n2 - theta) / math.sqrt(ml1 * (1 - ml1) / n1
                                                       + ml2 * (1 - ml2) / n2)

    def _means_statistic(self, k: int, theta: float) -> tuple[float, float | None]:
        if self.arms == 1:
            n = self.n1[k]
            stat = (self.m1[k] - theta) / self.s1[k] * math.sqrt(n)
            return stat, None if self.normal_approximation else n - 1
        n1, n2 = self.n1[k], self.n2[k]
        diff = self.m1[k] - self.m2[k] - theta
        if self.equal_variances:
            stat = diff / self.pooled_sd[k] / math.sqrt(1 / n1 + 1 / n2)
            df = n1 + n2 - 2
        else:
            v1, v2 = self.s1[k] ** 2 / n1, self.s2[k] ** 2 / n2
            stat = diff / math.sqrt(v1 + v2)
            u = v1 / (v1 + v2)
            df = 1 / (u**2 / (n1 - 1) + (1 - u) ** 2 / (n2 - 1))
        return stat, None if self.normal_approximation else df

    # -- effect sizes and scales ---------------------------------------------------------------
    def effect(self, k: int) -> float:
        """rpact's ``effectSizes[k]``: the naive overall estimate."""
        if self.kind == "rates":
            return float(self.e1[k] / self.n1[k] - (0 if self.arms == 1 else
                                                    self.e2[k] / self.n2[k]))
        if self.kind == "means":
            return float(self.m1[k] - (0 if self.arms == 1 else self.m2[k]))
        r = self.ratio[k]
        return float(math.exp(self.log_rank[k] * (1 + r) / math.sqrt(r * self.events[k])))

    def information(self, k: int) -> float:
        """The square root of the information that rpact's decision-matrix shift uses."""
        if self.kind == "survival":
            return math.sqrt(self.events[k])
        if self.arms == 1:
            return math.sqrt(self.n1[k])
        return 1 / math.sqrt(1 / self.n1[k] + 1 / self.n2[k])

    def bracket(self) -> tuple[float, float]:
        """rpact's search interval for an effect (rates: the parameter space)."""
        if self.kind == "rates":
            return (-1 + 1e-11 if self.arms == 2 else 1e-11), 1 - 1e-11
        return -math.inf, math.inf

    def sizes(self, k: int) -> dict[str, Any]:
        if self.kind == "survival":
            return {"events": float(self.events[k])}
        if self.arms == 1:
            return {"n": float(self.n1[k])}
        return {"n_treated": float(self.n1[k]), "n_control": float(self.n2[k])}


def _overall(n: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> tuple[np.ndarray, ...]:
    """Cumulative n, mean and SD of stage-wise summaries (rpact's ``.getOverallStDevs``)."""
    cn = np.cumsum(n)
    cm = np.cumsum(n * mean) / cn
    cs = np.array([
        math.sqrt((np.sum((n[: k + 1] - 1) * sd[: k + 1] ** 2)
                   + np.sum(n[: k + 1] * (mean[: k + 1] - cm[k]) ** 2)) / (cn[k] - 1))
        for k in range(len(n))
    ])
    return cn, cm, cs
