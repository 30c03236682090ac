"""Consistency of a stored propensity-score distribution (``analyses[].propensity``).

The evaluation stores each distribution as a histogram: ``propensity.bins`` (edges) and per
group and stage ``counts`` (and, for a weighting analysis after adjustment, ``weights``: the
sum of the weights per bin). Documents written before then hold the scores themselves
(``ps``). :func:`check_distribution` names what a rendering would otherwise draw wrongly.
"""

from __future__ import annotations

from typing import Any

from regmed.errors import Problem

__all__ = ["check_distribution"]


def check_distribution(propensity: dict[str, Any], where: str,
                        problems: list[Problem]) -> None:
    """Each score distribution is a histogram over ``bins`` (or, in older documents, the
    scores themselves), with weights of the same length."""
    bins = propensity.get("bins")
    rows = propensity.get("distribution")
    if not isinstance(rows, list):
        return
    if isinstance(bins, list) and (len(bins) < 2 or any(
            not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or b <= a
            for a, b in zip(bins, bins[1:], strict=False))):
        problems.append(Problem("bin edges must be at least two increasing numbers",
                                field=f"{where}.bins"))
        return
    if not isinstance(bins, list) and any(isinstance(r, dict) and "counts" in r for r in rows):
        problems.append(Problem("counts given without the bins they count",
                                field=f"{where}.bins"))
        return
    for j, row in enumerate(rows):
        if not isinstance(row, dict):
            continue
        field = f"{where}.distribution[{j}]"
        values = row.get("counts", row.get("ps"))
        if "counts" not in row and "ps" not in row:
            problems.append(Problem("missing key (counts, or ps in older documents)",
                                    field=f"{field}.counts"))
        elif "counts" in row and isinstance(values, list) and isinstance(bins, list) and len(
                values) != len(bins) - 1:
            problems.append(Problem(f"{len(values)} counts for {len(bins) - 1} bins",
                                    field=f"{field}.counts"))
        weights = row.get("weights")
        if isinstance(weights, list) and isinstance(values, list) and len(weights) != len(
                values):
            problems.append(Problem(f"{len(weights)} weights for {len(values)} "
                                    + ("bins" if "counts" in row else "scores"),
                                    field=f"{field}.weights"))
