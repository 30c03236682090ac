"""The contract between adjustment (matching, weighting) and effect estimation.

Both :class:`~regmed.evidence.Matching` and :class:`~regmed.evidence.Weighting` inherit
:class:`AdjustedSample`, so that ``balance`` and ``estimate_effect`` take either.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from regmed.results import Result

__all__ = ["AdjustedSample"]


@dataclasses.dataclass(frozen=True)
class AdjustedSample(Result):
    """An analysis sample after adjustment.

    Attributes
    ----------
    data : pandas.DataFrame
        The rows that enter the analysis, indexed as the caller's DataFrame, with a
        ``weights`` column and, for matching, a ``subclass`` column (as MatchIt's
        ``match_data``). For weighting, every kept row with its weight.
    original : pandas.DataFrame
        The full input before adjustment (for "before" balance), with the same index.
    treatment : str
        Name of the 0/1 treatment column.
    covariates : tuple of str
        Covariates the adjustment used (balance is reported on these by default).
    estimand : str
        ``"ATT"``, ``"ATE"`` or ``"ATO"``.
    method : str
        ``"matching"`` or ``"weighting"``.
    cluster : str or None
        Column that defines clusters for robust standard errors (``"subclass"`` for matching
        without replacement), or ``None`` for the individual-level sandwich.
    """

    data: pd.DataFrame
    original: pd.DataFrame
    treatment: str
    covariates: tuple[str, ...]
    estimand: str
    method: str
    cluster: str | None
