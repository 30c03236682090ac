"""The power that the enrolled numbers give under the locked plan's own assumptions (for the
web application's dashboard, which may not import the evaluation package itself)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from regmed.evaluate.power_check import power_entry
from regmed.plan import Plan
from regmed.studydata import StudyData

__all__ = ["enrolled_power"]


def enrolled_power(plan: Plan, enrolled: dict[str, int]) -> dict[str, Any] | None:
    """:func:`regmed.evaluate.power_check.power_entry` for the enrolled patients per cohort
    (the treated patients and the controls of the primary control source; fixed design, as
    ``rpact::getPowerRates``/``getPowerMeans``).

    References
    ----------
    .. [1] Wassmer G, Brannath W (2016). Group Sequential and Confirmatory Adaptive Designs in
       Clinical Trials. Springer.
    """
    facts = {"cohorts": {c: {"n": n} for c, n in enrolled.items()}}
    empty = pd.DataFrame()
    return power_entry(plan, StudyData(patients=empty, attrition=empty, endpoints={},
                                       facts=facts, data_hash=""))
