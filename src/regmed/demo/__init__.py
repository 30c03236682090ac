"""Seeded generators of realistic post-marketing survey data with a planted, known truth.

``generate(scenario, seed=..., **params)`` returns a :class:`DemoData` whose ``tables`` go
straight into the registry's validated import, whose ``truth`` holds the planted parameters
and true effects, and whose ``plan_yaml`` is the scenario's evaluation plan;
:func:`study_dictionary_csv` gives the scenario's study dictionary (REDCap data dictionary CSV
text). This package is pure: it imports only numpy, pandas, ``regmed.errors`` and
``regmed.results`` (the single-cell simulator, :mod:`regmed.demo.singlecell`, also scipy for
sparse counts and, on request, anndata).
"""

from __future__ import annotations

from regmed.demo._common import COLUMNS, TABLE_ORDER, DemoData
from regmed.demo._dictionary import study_dictionary_csv, study_instruments_csv
from regmed.demo.generate import SCENARIOS, defaults, generate

__all__ = ["generate", "defaults", "DemoData", "SCENARIOS", "COLUMNS", "TABLE_ORDER",
           "study_dictionary_csv", "study_instruments_csv"]
