"""Individuals / moving-range control charts with Western Electric and Nelson run rules."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from regmed.errors import DataError
from regmed.results import Result, format_table

__all__ = ["ControlChart", "control_chart", "RULES"]

#: Run rules: name → description. Rules 1-4 are the Western Electric rules; "trend" is
#: Nelson's rule 3 (six points steadily increasing or decreasing).
RULES = {
    "rule1": "one point beyond 3 sigma",
    "rule2": "2 of 3 consecutive points beyond 2 sigma on the same side",
    "rule3": "4 of 5 consecutive points beyond 1 sigma on the same side",
    "rule4": "8 consecutive points on the same side of the centre line",
    "trend": "6 consecutive points steadily increasing or decreasing",
}
_D2 = 1.128  # d2 for moving ranges of 2 (Montgomery, Appendix VI)
_D4 = 3.267  # D4 for n = 2


@dataclasses.dataclass(frozen=True)
class ControlChart(Result):
    """An individuals (X) and moving-range (MR) chart.

    Attributes
    ----------
    points : pandas.DataFrame
        In time order: ``order, date, value, moving_range, zone`` (signed distance from the
        centre in sigma), one boolean column per rule and ``signal`` (any rule).
    center, sigma, lcl, ucl : float
        Centre line (mean), sigma = MRbar / 1.128 and the X limits ``center ± 3 sigma``
        (= ``center ± 2.66 MRbar``).
    mr_bar, mr_ucl : float
        Mean moving range and the MR chart's upper limit ``3.267 MRbar`` (lower limit 0).
    signals : pandas.DataFrame
        ``order, date, value, rules`` for every point that fires a rule.
    options : dict
    """

    points: pd.DataFrame
    center: float
    sigma: float
    lcl: float
    ucl: float
    mr_bar: float
    mr_ucl: float
    signals: pd.DataFrame
    options: dict[str, Any]

    def summary(self) -> str:
        head = (f"I-MR chart: centre {self.center:.4g}, limits [{self.lcl:.4g}, {self.ucl:.4g}],"
                f" MRbar {self.mr_bar:.4g}; {len(self.signals)} signalling point(s)")
        return format_table(self.signals, title=head) if len(self.signals) else head


def _runs(mask: np.ndarray, window: int, need: int) -> np.ndarray:
    """True at i when at least ``need`` of the ``window`` points ending at i are in ``mask``."""
    c = np.concatenate([[0], np.cumsum(mask.astype(int))])
    out = np.zeros(len(mask), dtype=bool)
    for i in range(window - 1, len(mask)):
        out[i] = c[i + 1] - c[i + 1 - window] >= need
    return out


def control_chart(
    values: Sequence[float] | np.ndarray | pd.Series,
    dates: Sequence[Any] | pd.Series | None = None,
    *,
    rules: Sequence[str] = ("rule1", "rule2", "rule3", "rule4", "trend"),
    center: float | None = None,
    sigma: float | None = None,
) -> ControlChart:
    """Individuals / moving-range chart with run rules.

    The centre line is the mean, sigma is estimated as ``MRbar / d2`` with ``d2 = 1.128``
    (moving ranges of two), so the limits are ``mean ± 2.66 MRbar``; the MR chart's upper
    limit is ``3.267 MRbar`` (the formulas of R's ``qcc(type = "xbar.one")``). A rule fires
    at the point that completes its pattern; for rules 2 and 3 that point must itself lie
    in the zone.

    Parameters
    ----------
    values : array-like
        Results in manufacturing order (or any order when ``dates`` is given).
    dates : array-like, optional
        Manufacturing dates; the points are sorted by them (stable).
    rules : sequence of str
        Keys of :data:`RULES` to apply.
    center, sigma : float, optional
        Known centre and sigma (phase II); estimated from the data when omitted.

    Returns
    -------
    ControlChart

    References
    ----------
    .. [1] Montgomery DC (2013). Introduction to Statistical Quality Control, 7th ed. Wiley,
       sections 5.3 (run rules) and 6.4 (individuals and moving-range charts).
    .. [2] Western Electric (1956). Statistical Quality Control Handbook.
    .. [3] Nelson LS (1984). The Shewhart control chart - tests for special causes.
       Journal of Quality Technology 16:237-239.

    Examples
    --------
    >>> ch = control_chart([10, 12, 11, 13, 12, 11, 10, 12])
    >>> round(ch.ucl, 3)
    15.174
    """
    y = np.asarray(values, dtype=float)
    bad = [r for r in rules if r not in RULES]
    if bad:
        raise DataError(f"Unknown rules {bad}; choose from {list(RULES)}.")
    if y.ndim != 1 or len(y) < 2:
        raise DataError("A control chart needs at least two values.")
    if np.isnan(y).any():
        raise DataError("Values must not be missing.")
    if dates is not None:
        d = pd.to_datetime(pd.Series(list(dates)))
        if len(d) != len(y):
            raise DataError("values and dates differ in length.")
        order = np.argsort(d.to_numpy(), kind="stable")
        y, d = y[order], d.iloc[order].reset_index(drop=True)
    else:
        d = pd.Series([pd.NaT] * len(y))
    mr = np.abs(np.diff(y))
    mr_bar = float(mr.mean())
    c = float(y.mean()) if center is None else float(center)
    s = mr_bar / _D2 if sigma is None else float(sigma)
    z = (y - c) / s if s > 0 else np.zeros_like(y)
    points = pd.DataFrame({"order": np.arange(1, len(y) + 1), "date": d.to_numpy(),
                           "value": y, "moving_range": np.append(np.nan, mr), "zone": z})
    fired = np.zeros(len(y), dtype=bool)
    for rule in rules:
        if rule == "rule1":
            flag = np.abs(z) > 3.0
        elif rule in ("rule2", "rule3"):
            k, win, need = (2.0, 3, 2) if rule == "rule2" else (1.0, 5, 4)
            up, down = z > k, z < -k
            flag = (_runs(up, win, need) & up) | (_runs(down, win, need) & down)
        elif rule == "rule4":
            flag = _runs(z > 0, 8, 8) | _runs(z < 0, 8, 8)
        else:
            step = np.sign(np.diff(y))
            flag = np.append(False, _runs(step > 0, 5, 5) | _runs(step < 0, 5, 5))
        points[rule] = flag
        fired |= flag
    points["signal"] = fired
    sig = points[fired]
    signals = pd.DataFrame({
        "order": sig["order"].to_numpy(), "date": sig["date"].to_numpy(),
        "value": sig["value"].to_numpy(),
        "rules": [",".join(r for r in rules if row[r]) for _, row in sig.iterrows()],
    })
    return ControlChart(points=points, center=c, sigma=s, lcl=c - 3.0 * s, ucl=c + 3.0 * s,
                        mr_bar=mr_bar, mr_ucl=_D4 * mr_bar, signals=signals,
                        options={"rules": list(rules), "center_given": center is not None,
                                 "sigma_given": sigma is not None})
