"""``generate``: the seeded demo survey generator's entry point."""

from __future__ import annotations

from typing import Any

import numpy as np

from regmed.demo._common import TABLE_ORDER, DemoData, check_params
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
        tables={name: tables[name] for name in TABLE_ORDER}, truth=truth, plan_yaml=plan,
    )
