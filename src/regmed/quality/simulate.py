"""Simulated lots and patients with planted quality ↔ response links (for tests, benchmarks)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import pandas as pd

from regmed.quality._common import as_rng

__all__ = ["QualitySimulation", "simulate_quality", "simulate_process_change"]


@dataclasses.dataclass(frozen=True)
class QualitySimulation:
    """Simulated data: ``lots`` (wide: ``lot_code, donor_code, manufactured_on`` and one
    column per attribute), ``lot_results`` (long, as the registry's table), ``patients``
    (``patient_id, site_code, lot_code, age, sex, response, score, pfs_time, pfs_event``),
    the attribute codes and the planted effects (log odds ratio per SD of each driver)."""

    lots: pd.DataFrame
    lot_results: pd.DataFrame
    patients: pd.DataFrame
    attributes: list[str]
    drivers: dict[str, float]


def _attribute_codes(n: int) -> list[str]:
    return [f"a{i:02d}" for i in range(1, n + 1)]


def simulate_quality(
    n_lots: int = 60,
    n_donors: int | None = None,
    patients_per_lot: int = 5,
    n_attributes: int = 12,
    drivers: Mapping[str, float] | None = None,
    n_sites: int = 4,
    lot_sd: float = 0.3,
    rng: np.random.Generator | int | None = None,
) -> QualitySimulation:
    """Simulate allogeneic lots (nested in donors) and the patients treated with them.

    Lots are spread evenly over ``n_donors`` donors (default: one donor per lot). Each
    attribute ``a01 … a12`` is ``10·i + donor effect (SD 1) + lot effect (SD 1)``, so
    half its variance is donor-to-donor. Patients' response is logistic with the planted
    ``drivers`` (log odds ratio per SD of the attribute; default ``a01`` 0.8 and ``a02``
    −0.8), age (0.02 per year), and a shared lot effect (SD ``lot_sd`` on the logit scale)
    that makes patients of one lot correlated. ``score`` (continuous) is
    ``2·z(a01) − 2·z(a02) + noise``; ``pfs`` has hazard ``exp(−0.5·z(a01) + 0.5·z(a02))``.

    Parameters
    ----------
    n_lots, patients_per_lot, n_attributes, n_sites : int
    n_donors : int, optional
    drivers : mapping, optional
    lot_sd : float
    rng : numpy Generator or int seed

    Returns
    -------
    QualitySimulation
    """
    g = as_rng(rng)
    codes = _attribute_codes(n_attributes)
    drivers = dict({"a01": 0.8, "a02": -0.8} if drivers is None else drivers)
    n_donors = n_lots if n_donors is None else n_donors
    donor = np.arange(n_lots) % n_donors  # lots spread evenly over the donors
    donor_eff = g.normal(0.0, 1.0, size=(n_donors, n_attributes))
    values = (10.0 * np.arange(1, n_attributes + 1) + donor_eff[donor]
              + g.normal(0.0, 1.0, size=(n_lots, n_attributes)))
    lot_codes = [f"L{i:03d}" for i in range(1, n_lots + 1)]
    lots = pd.DataFrame(values, columns=codes)
    lots.insert(0, "lot_code", lot_codes)
    lots.insert(1, "donor_code", [f"D{d:02d}" for d in donor])
    lots.insert(2, "manufactured_on", pd.date_range("2024-01-01", periods=n_lots, freq="7D"))
    long = lots.melt(id_vars=["lot_code", "donor_code", "manufactured_on"], value_vars=codes,
                     var_name="attribute_code", value_name="value")
    long["unit"] = "u"
    z = (values - values.mean(axis=0)) / values.std(axis=0, ddof=1)
    lot_idx = np.repeat(np.arange(n_lots), patients_per_lot)
    n = len(lot_idx)
    age = g.normal(55.0, 10.0, size=n)
    lin = -0.2 + 0.02 * (age - 55.0) + g.normal(0.0, lot_sd, size=n_lots)[lot_idx]
    for code, beta in drivers.items():
        lin = lin + beta * z[lot_idx, codes.index(code)]
    response = g.binomial(1, 1.0 / (1.0 + np.exp(-lin)))
    score = 2.0 * z[lot_idx, 0] - 2.0 * z[lot_idx, 1] + g.normal(0.0, 4.0, size=n)
    hazard = 0.05 * np.exp(-0.5 * z[lot_idx, 0] + 0.5 * z[lot_idx, 1])
    t_event = g.exponential(1.0 / hazard)
    t_cens = g.uniform(6.0, 36.0, size=n)
    patients = pd.DataFrame({
        "patient_id": [f"P{i:04d}" for i in range(1, n + 1)],
        "site_code": [f"S{s}" for s in g.integers(1, n_sites + 1, size=n)],
        "lot_code": np.asarray(lot_codes)[lot_idx], "age": age,
        "sex": g.choice(["F", "M"], size=n), "response": response, "score": score,
        "pfs_time": np.minimum(t_event, t_cens), "pfs_event": (t_event <= t_cens).astype(int),
    })
    return QualitySimulation(lots=lots, lot_results=long, patients=patients, attributes=codes,
                             drivers=drivers)


def simulate_process_change(
    n_reference: int = 20,
    n_candidate: int = 20,
    n_attributes: int = 12,
    shift: Mapping[str, float] | None = None,
    rng: np.random.Generator | int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate reference and candidate lots (wide frames) of ``n_attributes`` normal
    attributes (mean ``10·i``, SD ``i``); ``shift`` moves candidate attributes by that many
    SDs.

    Returns
    -------
    (reference, candidate) : tuple of pandas.DataFrame
    """
    g = as_rng(rng)
    codes = _attribute_codes(n_attributes)
    shift = dict(shift or {})
    mean = 10.0 * np.arange(1, n_attributes + 1)
    sd = np.arange(1, n_attributes + 1, dtype=float)
    ref = pd.DataFrame(mean + sd * g.normal(size=(n_reference, n_attributes)), columns=codes)
    moved = mean + sd * np.array([shift.get(c, 0.0) for c in codes])
    cand = pd.DataFrame(moved + sd * g.normal(size=(n_candidate, n_attributes)), columns=codes)
    ref.insert(0, "lot_code", [f"R{i:03d}" for i in range(1, n_reference + 1)])
    cand.insert(0, "lot_code", [f"C{i:03d}" for i in range(1, n_candidate + 1)])
    return ref, cand
