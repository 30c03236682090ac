"""Inter-rater agreement of adjudicators: Cohen's kappa (two raters) and Fleiss' kappa.

References
----------
Cohen J. A coefficient of agreement for nominal scales. Educ Psychol Meas 1960;20:37-46.
Fleiss JL. Measuring nominal scale agreement among many raters. Psychol Bull 1971;76:378-382.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

__all__ = ["cohen_kappa", "fleiss_kappa"]


def cohen_kappa(rater1: Sequence[str], rater2: Sequence[str]) -> float:
    """Cohen's kappa of two raters' categorical ratings of the same subjects.

    ``kappa = (p_o - p_e) / (1 - p_e)`` with ``p_o`` the observed agreement and ``p_e`` the
    agreement expected from the raters' marginal frequencies (Cohen 1960). NaN when
    ``p_e == 1``.

    Examples
    --------
    >>> round(cohen_kappa(["a", "a", "b", "b"], ["a", "b", "b", "b"]), 3)
    0.5
    """
    if len(rater1) != len(rater2) or not rater1:
        raise ValueError("two equally long, non-empty rating lists are needed")
    n = len(rater1)
    p_o = sum(a == b for a, b in zip(rater1, rater2, strict=True)) / n
    c1, c2 = Counter(rater1), Counter(rater2)
    p_e = sum(c1[k] * c2[k] for k in set(c1) | set(c2)) / n**2
    return float("nan") if p_e == 1 else (p_o - p_e) / (1 - p_e)


def fleiss_kappa(ratings: Sequence[Sequence[str]]) -> float:
    """Fleiss' kappa of subjects each rated by the same number ``m >= 2`` of raters.

    ``ratings[i]`` lists the categories given to subject ``i``. With ``P_i`` the agreement
    among the ratings of subject ``i`` and ``p_j`` the share of all ratings in category ``j``,
    ``kappa = (mean(P_i) - sum p_j^2) / (1 - sum p_j^2)`` (Fleiss 1971). NaN when every rating
    falls in one category.

    Examples
    --------
    >>> round(fleiss_kappa([["a", "a"], ["b", "b"], ["a", "b"]]), 3)
    0.333
    """
    if not ratings:
        raise ValueError("no subjects")
    m = len(ratings[0])
    if m < 2 or any(len(r) != m for r in ratings):
        raise ValueError("every subject needs the same number (>= 2) of ratings")
    n = len(ratings)
    totals: Counter[str] = Counter()
    p_bar = 0.0
    for r in ratings:
        c = Counter(r)
        totals.update(c)
        p_bar += (sum(v * v for v in c.values()) - m) / (m * (m - 1))
    p_bar /= n
    p_e = sum((v / (n * m)) ** 2 for v in totals.values())
    return float("nan") if p_e == 1 else (p_bar - p_e) / (1 - p_e)
