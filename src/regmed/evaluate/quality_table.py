"""A first quality↔response table: response by tertile of a lot quality attribute."""

from __future__ import annotations

from typing import Any

import pandas as pd
from statsmodels.stats.proportion import proportion_confint

__all__ = ["response_by_tertile"]


def response_by_tertile(
    treated: pd.DataFrame, outcome: str, attributes: list[str]
) -> list[dict[str, Any]]:
    """Response rate of treated patients by tertile of each lot attribute.

    Parameters
    ----------
    treated : DataFrame
        Treated patients with the binary ``outcome`` and ``q_<attribute>`` columns.
    outcome : str
        The 0/1 endpoint column.
    attributes : list of str
        Attribute codes (without the ``q_`` prefix).

    Returns
    -------
    list of dict
        ``attribute, tertile`` (1 = lowest third), ``range, n, responders, rate, ci_lower,
        ci_upper`` with Wilson 95% intervals.

    References
    ----------
    .. [1] Wilson EB (1927). Probable inference, the law of succession, and statistical
       inference. J Am Stat Assoc 22:209-212.
    """
    rows: list[dict[str, Any]] = []
    for attribute in attributes:
        column = f"q_{attribute}"
        if column not in treated:
            continue
        data = treated[[column, outcome]].dropna()
        if data[column].nunique() < 3:
            continue
        bins = pd.qcut(data[column], q=3, labels=[1, 2, 3])
        for label, group in data.groupby(bins, observed=True):
            n = int(len(group))
            k = int(group[outcome].sum())
            lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
            rows.append({
                "attribute": attribute, "tertile": int(label),
                "range": f"{group[column].min():.4g}–{group[column].max():.4g}",
                "n": n, "responders": k, "rate": k / n if n else None,
                "ci_lower": float(lo), "ci_upper": float(hi),
            })
    return rows
