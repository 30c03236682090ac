"""Exact matching as MatchIt's ``method = "exact"``.

Every unique pattern of the covariates that holds both treated and control units is a
subclass; units whose pattern lacks one of the groups are unmatched (weight 0). The weights
are MatchIt's subclass weights for the estimand
(:func:`~regmed.evidence.subclass.subclass_weights`).

References
----------
.. [1] Iacus SM, King G, Porro G (2012). Causal inference without balance checking: coarsened
   exact matching. Political Analysis 20:1-24.
.. [2] Ho D, Imai K, King G, Stuart EA (2011). MatchIt. JSS 42(8); MatchIt 4.7.2
   ``matchit2exact`` and ``get_weights_from_subclass``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from regmed.errors import DataError, Problem
from regmed.evidence._design import check_columns, treatment_array
from regmed.evidence.subclass import (
    SUBCLASS_ESTIMANDS,
    Subclassification,
    build_subclassification,
)

__all__ = ["match_exact"]


def match_exact(
    df: pd.DataFrame,
    *,
    treatment: str,
    covariates: Sequence[str],
    estimand: str = "ATT",
) -> Subclassification:
    """Exact matching on the covariates, as ``matchit(treat ~ covs, method = "exact")``.

    Subclasses are numbered as MatchIt numbers them: in the order in which the patterns first
    appear among the units of the group of the first row. Continuous covariates should be
    coarsened first (every distinct value is its own pattern).

    Parameters
    ----------
    df : pandas.DataFrame
        The data (not modified); covariates may be numeric or categorical, without missing values.
    treatment : str
        The 0/1 treatment column.
    covariates : sequence of str
        The columns to match on exactly.
    estimand : {"ATT", "ATC", "ATE"}
        Selects the subclass weights (the matched units are the same for all three).

    Returns
    -------
    Subclassification
        ``data`` is ``match_data``: matched rows with ``subclass`` and ``weights``;
        ``attrition`` counts the units without an exact match in the other group.

    References
    ----------
    Iacus, King & Porro (2012), Political Analysis 20:1-24; MatchIt 4.7.2 ``matchit2exact``.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"t": [1, 0, 0, 1, 0], "sex": ["f", "f", "f", "m", "f"]})
    >>> m = match_exact(d, treatment="t", covariates=["sex"])
    >>> m.weights_all.tolist()
    [1.0, 1.0, 1.0, 0.0, 1.0]
    """
    covariates = tuple(covariates)
    problems: list[Problem] = []
    if estimand not in SUBCLASS_ESTIMANDS:
        problems.append(Problem(f"estimand must be one of {SUBCLASS_ESTIMANDS} for exact "
                                "matching", field="estimand"))
    if not covariates:
        problems.append(Problem("exact matching needs at least one covariate",
                                field="covariates"))
    problems += check_columns(df, (treatment, *covariates), "column")
    for col in ("weights", "subclass"):
        if col in df.columns:
            problems.append(Problem("column name is reserved for the result", field=col))
    if problems:
        raise DataError("cannot match exactly", problems)
    t, tp = treatment_array(df, treatment)
    if tp:
        raise DataError("cannot match exactly", tp)
    pattern = df.groupby(list(covariates), sort=False, observed=True).ngroup().to_numpy()
    in_both = np.intersect1d(pattern[t == 1], pattern[t == 0])
    if in_both.size == 0:
        raise DataError("cannot match exactly", [Problem(
            "no covariate pattern holds both treated and control units", field="covariates")])
    first = pattern[t == t[0]]
    order = pd.unique(first[np.isin(first, in_both)])
    number = np.zeros(int(pattern.max()) + 1, dtype=np.int64)
    number[order] = np.arange(1, len(order) + 1)
    sub = number[pattern]
    return build_subclassification(
        df, t, sub, treatment=treatment, covariates=covariates, estimand=estimand,
        method="exact_matching", q_cut=(), warnings=[],
        options={"covariates": list(covariates), "estimand": estimand})
