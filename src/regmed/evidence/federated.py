"""Federated fits for data that cannot leave their owner: what a site may release, and the
coordinator's mapper over sites.

A data owner (MID-NET, the NDB, a hospital registry) answers the coordinator's requests with
:func:`site_answer`: the partial of :func:`regmed.evidence.partials.compute_partial` — sums
only, never a row — after a disclosure check in the manner of DataSHIELD's ``nfilter``
settings: the site refuses every request while it holds fewer rows than the threshold, while
its treated or its control group is smaller than the threshold, or while any cell of a factor
the request uses (a level × treatment group present at the site) holds fewer patients than
the threshold (the plan's small-cell threshold, default 10). A refusal names the column and
level but never the count. The coordinator fits with
:func:`regmed.evidence.partitioned.fit_propensity_partitioned` over
:func:`federated_mapper` — a partition is a site — and so reaches the pooled-data fit, as
DataSHIELD's ``ds.glm`` does.

References
----------
Gaye A et al. (2014). DataSHIELD: taking the analysis to the data, not the data to the analysis.
Int J Epidemiol 43:1929-1944. Wilson RC et al. (2017). DataSHIELD – new directions and
dimensions. Data Sci J 16:21 (disclosure filters ``nfilter.tab``, ``nfilter.glm``).
Ministry of Health, Labour and Welfare. Guidelines for the provision of NDB data (cells of
fewer than 10 are not published).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from regmed.errors import DataError, Problem
from regmed.evidence._design import is_categorical, treatment_array
from regmed.evidence.partials import OPS, compute_partial
from regmed.evidence.partitioned import Mapper

__all__ = ["DEFAULT_THRESHOLD", "disclosure_problems", "site_answer", "federated_mapper"]

#: Cells below this many patients are withheld unless the plan sets another threshold.
DEFAULT_THRESHOLD = 10


def _columns(request: Mapping[str, Any]) -> list[str]:
    """The factor columns a request uses (its covariates, or its terms' columns)."""
    if "covariates" in request:
        return [str(c) for c in request["covariates"]]
    return list(dict.fromkeys(str(t[1]) for t in request.get("terms", []) if t[1]))


def disclosure_problems(df: pd.DataFrame, request: Mapping[str, Any], threshold: int
                        ) -> list[Problem]:
    """Why a site may not answer ``request`` from ``df`` (empty: it may).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"t": [1] * 12 + [0] * 12, "sex": ["F"] * 20 + ["M"] * 4})
    >>> [p.message for p in disclosure_problems(
    ...     df, {"op": "describe", "treatment": "t", "covariates": ["sex"]}, 10)]
    ['a cell holds fewer than 10 patients: sex = M among the controls; it is withheld']
    """
    out: list[Problem] = []
    if len(df) < threshold:
        return [Problem(f"the site holds fewer than {threshold} rows; nothing is released")]
    treatment = str(request.get("treatment", ""))
    if treatment not in df.columns:
        return out  # the partial names the unknown column
    t, bad = treatment_array(df, treatment)
    if bad:
        return out
    groups = {"treated": t == 1, "controls": t == 0}
    for name, rows in groups.items():
        if 0 < int(rows.sum()) < threshold:
            out.append(Problem(f"the {name} group holds fewer than {threshold} patients; "
                               "nothing is released", field=treatment))
    outcome = request.get("outcome")
    if request.get("op") in ("wsums", "wresid") and outcome in df.columns:
        y = pd.to_numeric(df[str(outcome)], errors="coerce").to_numpy(float)
        if np.isin(y[~np.isnan(y)], (0.0, 1.0)).all():  # a binary outcome: its 2x2 cells
            for name, rows in groups.items():
                for value, label in ((1.0, "with"), (0.0, "without")):
                    k = int(np.sum(rows & (y == value)))
                    if 0 < k < threshold:
                        out.append(Problem(f"a cell holds fewer than {threshold} patients: "
                                           f"the {name} {label} {outcome}; it is withheld",
                                           field=str(outcome)))
    for col in _columns(request):
        if col not in df.columns or not is_categorical(df[col]):
            continue
        values = df[col].astype(object).to_numpy()
        for level in pd.unique(values[pd.notna(values)]):
            for name, rows in groups.items():
                k = int(np.sum(rows & (values == level)))
                if 0 < k < threshold:
                    out.append(Problem(f"a cell holds fewer than {threshold} patients: "
                                       f"{col} = {level} among the {name}; it is withheld",
                                       field=col))
    return out


def site_answer(df: pd.DataFrame, request: Mapping[str, Any], *, site: str,
                threshold: int = DEFAULT_THRESHOLD) -> dict[str, Any]:
    """A data owner's answer to one request: ``{"site", "op", "partial"}`` or, when the
    disclosure check refuses, ``{"site", "op", "refused": [problem, ...]}`` (no numbers).

    Parameters
    ----------
    df : pandas.DataFrame
        The site's rows (they never leave the site).
    request : mapping
        As :mod:`regmed.evidence.partitioned` sends it (``op`` one of ``OPS``).
    site : str
        The site's name, returned with the answer.
    threshold : int
        The smallest cell that may be released.
    """
    op = str(request.get("op"))
    if op not in OPS:
        return {"site": site, "op": op, "refused": [Problem(
            f"not one of {', '.join(OPS)}", field="op").to_dict()]}
    problems = disclosure_problems(df, request, threshold)
    if problems:
        return {"site": site, "op": op, "refused": [p.to_dict() for p in problems]}
    return {"site": site, "op": op, "partial": compute_partial(df, request)}


def federated_mapper(sites: Sequence[Callable[[dict[str, Any]], Mapping[str, Any]]]
                     ) -> Mapper:
    """A mapper whose partitions are sites: each ``site(request)`` returns its
    :func:`site_answer` (over HTTP, a file exchange, or a call in this process).

    Raises
    ------
    DataError
        A site refused (every refusal of every site at once, each with its site).
    """
    def run(request: dict[str, Any]) -> list[dict[str, Any]]:
        answers = [dict(s(request)) for s in sites]
        refused = [Problem(p["message"], file=str(a.get("site")), field=p.get("field"))
                   for a in answers for p in a.get("refused", [])]
        if refused:
            raise DataError(f"a site refused the {request.get('op')} request", refused)
        return [dict(a["partial"]) for a in answers]
    return run
