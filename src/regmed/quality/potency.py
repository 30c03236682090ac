"""Attribute → potency (lot-level regression) and responder strata (who responds)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from regmed.errors import DataError
from regmed.quality._common import bh_adjust, lot_table, require_columns
from regmed.results import Result, format_table

__all__ = ["PotencyAssociation", "associate_potency", "ResponderStrata", "responder_strata",
           "wilson_interval"]


@dataclasses.dataclass(frozen=True)
class PotencyAssociation(Result):
    """Lot-level regressions of in-vitro potency on each attribute.

    Attributes
    ----------
    estimates : pandas.DataFrame
        ``attribute, estimate, std_error, ci_lower, ci_upper, statistic, p_value, q_value,
        r_squared, n_lots, sd``: the change in potency per SD of the attribute (ordinary
        least squares, t test with ``n_lots - 2`` df) and BH q-values across attributes.
    options : dict
    """

    estimates: pd.DataFrame
    options: dict[str, Any]

    def summary(self) -> str:
        return format_table(self.estimates,
                            title=f"Attribute → potency ({self.options['potency']}, per SD)")


def associate_potency(
    lots: pd.DataFrame,
    attributes: Sequence[str],
    potency: str,
    *,
    lot_key: str = "lot_code",
    conf_level: float = 0.95,
) -> PotencyAssociation:
    """Regress the lots' in-vitro potency on each attribute (per SD), one model per attribute.

    Parameters
    ----------
    lots : pandas.DataFrame
        Wide (``lot_key``, the attributes and ``potency``) or long ``lot_results``.
    attributes : sequence of str
    potency : str
        Column (or attribute code) of the potency assay result.
    lot_key : str
    conf_level : float

    Returns
    -------
    PotencyAssociation

    References
    ----------
    .. [1] Draper NR, Smith H (1998). Applied Regression Analysis, 3rd ed. Wiley.
    .. [2] Benjamini Y, Hochberg Y (1995). J R Stat Soc B 57:289-300.
    """
    attributes = [a for a in attributes if a != potency]
    table = lot_table(lots, [*attributes, potency], lot_key)
    rows = []
    for a in attributes:
        d = table[[a, potency]].dropna()
        n = len(d)
        sd = float(d[a].std(ddof=1)) if n > 1 else float("nan")
        if n < 3 or not sd > 0:
            raise DataError(f"attribute {a!r}: need at least 3 lots with varying values.")
        x = (d[a] - d[a].mean()).to_numpy() / sd
        y = d[potency].to_numpy(dtype=float)
        b = float(x @ (y - y.mean()) / (x @ x))
        resid = y - y.mean() - b * x
        s2 = float(resid @ resid) / (n - 2)
        se = float(np.sqrt(s2 / (x @ x)))
        t = b / se
        crit = float(stats.t.ppf(0.5 + conf_level / 2.0, n - 2))
        tss = float(((y - y.mean()) ** 2).sum())
        rows.append({"attribute": a, "estimate": b, "std_error": se, "ci_lower": b - crit * se,
                     "ci_upper": b + crit * se, "statistic": t,
                     "p_value": float(2.0 * stats.t.sf(abs(t), n - 2)),
                     "r_squared": 1.0 - float(resid @ resid) / tss if tss > 0 else float("nan"),
                     "n_lots": n, "sd": sd})
    est = pd.DataFrame(rows)
    est.insert(7, "q_value", bh_adjust(est["p_value"].to_numpy()))
    return PotencyAssociation(estimates=est, options={"potency": potency, "lot_key": lot_key,
                                                      "conf_level": conf_level})


def wilson_interval(k: int, n: int, conf_level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion (R's ``prop.test(k, n, correct = FALSE)``).

    References
    ----------
    .. [1] Wilson EB (1927). Probable inference, the law of succession, and statistical
       inference. JASA 22:209-212.
    """
    if n == 0:
        return float("nan"), float("nan")
    z = float(stats.norm.ppf(0.5 + conf_level / 2.0))
    p = k / n
    den = 1.0 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, mid - half), min(1.0, mid + half)


@dataclasses.dataclass(frozen=True)
class ResponderStrata(Result):
    """Response by patient subgroup, for a forest plot.

    Attributes
    ----------
    strata : pandas.DataFrame
        ``variable, level, n, responders, rate, ci_lower, ci_upper`` (Wilson intervals); the
        first row is ``overall``.
    options : dict
    """

    strata: pd.DataFrame
    options: dict[str, Any]

    def summary(self) -> str:
        return format_table(self.strata, title=f"Response ({self.options['outcome']}) by group")


def responder_strata(
    patients: pd.DataFrame,
    outcome: str,
    by: Sequence[str],
    *,
    bins: int = 3,
    conf_level: float = 0.95,
) -> ResponderStrata:
    """Response rate with Wilson intervals in each level of each grouping variable.

    Numeric variables with more than ``2 * bins`` distinct values are cut into ``bins``
    quantile groups (tertiles by default); others are taken level by level.

    Parameters
    ----------
    patients : pandas.DataFrame
    outcome : str
        Binary 0/1 outcome; patients with a missing outcome are left out.
    by : sequence of str
    bins : int
    conf_level : float

    Returns
    -------
    ResponderStrata

    References
    ----------
    .. [1] Wilson EB (1927). JASA 22:209-212.
    """
    by = list(by)
    require_columns(patients, [outcome, *by], "patients")
    data = patients[patients[outcome].notna()]
    if not set(pd.unique(data[outcome])) <= {0, 1}:
        raise DataError(f"outcome {outcome!r} must be 0/1.")
    y = data[outcome].astype(int)
    rows = []

    def add(variable: str, level: str, mask: pd.Series) -> None:
        n, k = int(mask.sum()), int(y[mask].sum())
        lo, hi = wilson_interval(k, n, conf_level)
        rows.append({"variable": variable, "level": level, "n": n, "responders": k,
                     "rate": k / n if n else float("nan"), "ci_lower": lo, "ci_upper": hi})

    add("overall", "all", pd.Series(True, index=data.index))
    for var in by:
        s = data[var]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s) \
                and s.nunique() > 2 * bins:
            groups = pd.qcut(s, q=bins)
            for cat in groups.cat.categories:
                add(var, str(cat), groups == cat)
        else:
            for lev in sorted(s.dropna().unique(), key=str):
                add(var, str(lev), s == lev)
    return ResponderStrata(strata=pd.DataFrame(rows),
                           options={"outcome": outcome, "by": by, "bins": bins,
                                    "conf_level": conf_level})
