"""``generate``: the seeded demo survey generator's entry point."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from regmed.demo._common import COLUMNS, TABLE_ORDER, DemoData, check_params
from regmed.demo.heart import HEART_DEFAULTS, generate_heart
from regmed.demo.sci import SCI_DEFAULTS, generate_sci
from regmed.errors import DataError, Problem

__all__ = ["generate", "defaults", "SCENARIOS"]

_GENERATORS = {"sci": (SCI_DEFAULTS, generate_sci),
               "heart_failure_shortfall": (HEART_DEFAULTS, generate_heart)}

#: Names of the available scenarios.
SCENARIOS: tuple[str, ...] = tuple(_GENERATORS)


def defaults(scenario: str = "sci") -> dict[str, Any]:
    """The parameters of a scenario with their default values (a fresh copy)."""
    if scenario not in _GENERATORS:
        raise DataError("Unknown demo scenario", [
            Problem(f"{scenario!r} is not one of {list(SCENARIOS)}", field="scenario")])
    return dict(_GENERATORS[scenario][0])


def generate(
    scenario: str = "sci", *, seed: int | np.random.Generator = 0, **params: Any
) -> DemoData:
    """Generate a realistic post-marketing survey with a known, planted truth.

    Parameters
    ----------
    scenario : {"sci", "heart_failure_shortfall"}
        ``"sci"``: a Stemirac-like survey of autologous bone-marrow MSC in spinal cord injury
        with concurrent and historical registry controls (see :mod:`regmed.demo.sci`).
        ``"heart_failure_shortfall"``: a HeartSheet-like survey that enrolled 49 treated and
        102 controls against a plan of 60 and 120 (see :mod:`regmed.demo.heart`).
    seed : int or numpy.random.Generator
        Seed of the random numbers; the same seed and parameters give the same data.
    **params
        Scenario parameters; :func:`defaults` lists them with their defaults. Unknown names
        or bad values raise :class:`regmed.errors.DataError` listing every problem.

        "sci": ``n_treated=120``, ``n_concurrent=240``, ``n_historical=600``, ``n_sites=6``
        (treating sites), ``n_other_sites=2`` (control-only sites), ``effect=2.0`` (log-odds
        added for treated; the true ATT risk difference is then about 0.26, ``0`` = none),
        ``potency_effect=1.5`` (log-odds per SD of the lot's log potency), ``era_effect=-0.3``
        (log-odds for historical controls), ``missing_rate=0.05`` (drop-outs before day 180),
        ``death_rate=0.02``, ``out_of_window_rate=0.03``, ``physician_rate=0.4``,
        ``optimism_rate=0.2``, ``oos_rate=0.04``, ``treated_start="2026-04-01"``,
        ``accrual_years=3.0``, ``historical_start="2019-01-01"``,
        ``historical_end="2027-12-31"``, ``process_change_on="2027-10-01"``,
        ``approval_date="2026-01-15"``.

        "heart_failure_shortfall": ``n_treated=49``, ``n_control=102``, ``n_sites=6``,
        ``n_other_sites=2``, ``effect=2.0`` (LVEF points added to the mean change; true risk
        difference of a >= 5-point gain about 0.11), ``missing_rate=0.05``,
        ``death_rate=0.08``, ``out_of_window_rate=0.03``, ``physician_rate=0.3``,
        ``optimism_rate=0.2``, ``oos_rate=0.04``, ``treated_start="2016-04-01"``,
        ``accrual_years=5.0``, ``process_change_on="2019-04-01"``,
        ``approval_date="2015-09-18"``.

    Returns
    -------
    DemoData
        ``tables`` (one DataFrame per registry import table), ``truth`` (the planted
        parameters and true effects), ``plan_yaml`` (the scenario's evaluation plan).

    References
    ----------
    Fawcett JW, et al. Spinal Cord 2007;45:190-205 (natural recovery after spinal cord injury).
    Sawa Y, et al. Circ J 2015;79:991-999 (skeletal-myoblast sheets in heart failure).

    Examples
    --------
    >>> from regmed.demo import generate
    >>> demo = generate("sci", seed=1, n_treated=40, n_concurrent=80, n_historical=100)
    >>> sorted(demo.tables["enrollments"]["cohort"].unique())
    ['concurrent_control', 'historical_control', 'treated']
    """
    base, run = _GENERATORS[scenario] if scenario in _GENERATORS else (None, None)
    if base is None or run is None:
        defaults(scenario)  # raises
        raise AssertionError  # pragma: no cover
    p = check_params(scenario, base, params)
    if isinstance(seed, np.random.Generator):
        rng, seed_value = seed, None
    else:
        rng, seed_value = np.random.default_rng(seed), int(seed)
    tables, truth, plan = run(rng, p)
    shown = {k: (str(v) if isinstance(v, np.datetime64) else v) for k, v in p.items()}
    return DemoData(
        scenario=scenario, seed=seed_value, params=shown,
        # tables a scenario does not fill (lot_files: data files are registered, not generated)
        tables={name: tables[name] if name in tables else pd.DataFrame(columns=COLUMNS[name])
                for name in TABLE_ORDER}, truth=truth, plan_yaml=plan,
    )
