"""Simulated single-cell RNA-seq of MSC-like lots with a planted composition → potency link.

Each lot is a mixture of a few cell states; each state switches on its own marker programme.
Lot compositions are Dirichlet draws around a common mean (lot-to-lot heterogeneity), counts
are negative binomial (gamma-Poisson) around gene baselines times a cell's size factor, and
potency (e.g. VEGF secretion) is driven by the share of one state, as in Miura et al. (2023),
where one cluster's share among 11 bone-marrow MSC samples tracked VEGF secretion.

The generator returns plain tables (a sparse count matrix, cells, genes, lots) and the planted
truth; :meth:`SinglecellDemo.to_anndata` builds an :class:`anndata.AnnData` from them
(``anndata`` is imported only there).

References
----------
.. [1] Miura Y, et al. (2023). Stem Cells Transl Med 12(6):379-390 (heterogeneity of MSC
   lots by single-cell RNA-seq and its link to VEGF secretion).
.. [2] Grün D, Kester L, van Oudenaarden A (2014). Validation of noise models for single-cell
   transcriptomics. Nat Methods 11:637-640 (negative-binomial counts).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from regmed.errors import DataError, Problem

__all__ = ["MSC_STATES", "SinglecellDemo", "simulate_lots", "split_lots"]

#: Default MSC-like cell states and their mean shares across lots.
MSC_STATES: dict[str, float] = {
    "fibroblastic": 0.30,
    "proliferative": 0.22,
    "angiogenic": 0.15,
    "osteo_primed": 0.13,
    "adipo_primed": 0.11,
    "stressed": 0.09,
}


@dataclasses.dataclass(frozen=True)
class SinglecellDemo:
    """Simulated lots: counts, cell/gene/lot tables and the planted truth.

    Attributes
    ----------
    counts : scipy.sparse.csr_matrix
        Cells × genes integer counts.
    cells : pandas.DataFrame
        One row per cell: ``cell, lot, batch, state``.
    genes : pandas.DataFrame
        One row per gene: ``gene, programme`` (the state whose marker it is, or ``""``).
    lots : pandas.DataFrame
        One row per lot: ``lot, batch, n_cells, potency`` and ``share_<state>`` (the lot's
        true mixture weights).
    truth : dict
        ``potency_state``, ``link`` (correlation of potency with the state's logit share),
        ``markers`` (state → its marker genes, strongest first), ``states``, ``seed``.
    """

    counts: sparse.csr_matrix
    cells: pd.DataFrame
    genes: pd.DataFrame
    lots: pd.DataFrame
    truth: dict[str, Any]

    @property
    def potency(self) -> pd.Series:
        """Potency per lot (a Series indexed by lot), as :func:`analyze_lots` takes it."""
        return self.lots.set_index("lot")["potency"]

    def to_anndata(self) -> Any:
        """An :class:`anndata.AnnData` with raw counts in ``X``; obs ``lot, batch, state``."""
        import anndata as ad

        obs = self.cells.set_index("cell")
        for col in ("lot", "batch", "state"):
            obs[col] = pd.Categorical(obs[col])
        var = self.genes.set_index("gene")
        return ad.AnnData(X=self.counts.astype(np.float32), obs=obs, var=var)


def _check(n_lots: int, cells_per_lot: int, n_genes: int, states: dict[str, float],
           markers_per_state: int, potency_state: str, link: float) -> None:
    problems = []
    if n_lots < 3:
        problems.append(Problem("at least 3 lots are needed", field="n_lots"))
    if cells_per_lot < 10:
        problems.append(Problem("at least 10 cells per lot are needed", field="cells_per_lot"))
    if n_genes < markers_per_state * len(states) + 10:
        problems.append(Problem(f"need at least {markers_per_state * len(states) + 10} genes "
                                "(the marker programmes plus 10 background genes)",
                                field="n_genes"))
    if potency_state not in states:
        problems.append(Problem(f"unknown state {potency_state!r} (one of {', '.join(states)})",
                                field="potency_state"))
    if not -1.0 <= link <= 1.0:
        problems.append(Problem("must lie in [-1, 1]", field="link"))
    if any(w <= 0 for w in states.values()):
        problems.append(Problem("state shares must be positive", field="states"))
    if problems:
        raise DataError("cannot simulate single-cell lots", problems)


def simulate_lots(
    n_lots: int = 11,
    cells_per_lot: int = 800,
    *,
    n_genes: int = 400,
    states: dict[str, float] | None = None,
    markers_per_state: int = 15,
    potency_state: str = "angiogenic",
    link: float = 0.9,
    concentration: float = 40.0,
    marker_lfc: tuple[float, float] = (1.5, 3.0),
    dispersion: float = 0.2,
    n_batches: int = 1,
    batch_sd: float = 0.0,
    lot_prefix: str = "L",
    seed: int | np.random.Generator | None = 0,
) -> SinglecellDemo:
    """Simulate single-cell counts of ``n_lots`` MSC-like lots.

    Parameters
    ----------
    n_lots, cells_per_lot : int
        Lots, and cells per lot (each lot gets ``cells_per_lot`` ± 20%).
    n_genes : int
        Genes; the first ``markers_per_state × len(states)`` are the marker programmes.
    states : dict, optional
        State name → mean share (normalized); default :data:`MSC_STATES`.
    markers_per_state : int
        Marker genes per state; their log fold changes are uniform in ``marker_lfc``, and the
        truth lists them strongest first.
    potency_state : str
        The state whose share drives potency.
    link : float
        Correlation of potency with the logit of that state's share (0: no link).
    concentration : float
        Dirichlet concentration of lot compositions (smaller: more heterogeneous lots).
    dispersion : float
        Negative-binomial dispersion φ (variance μ + φμ²).
    n_batches, batch_sd : int, float
        Technical batches (lots assigned in turn) and the SD of a gene-wise log shift per batch.
    lot_prefix : str
        Lot codes are ``<prefix>01``, ``<prefix>02`` …
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    SinglecellDemo

    Examples
    --------
    >>> sim = simulate_lots(n_lots=5, cells_per_lot=50, seed=1)
    >>> sim.counts.shape[1], sorted(sim.lots.columns)[:3]
    (400, ['batch', 'lot', 'n_cells'])
    """
    states = dict(states or MSC_STATES)
    _check(n_lots, cells_per_lot, n_genes, states, markers_per_state, potency_state, link)
    rng = np.random.default_rng(seed)
    names = list(states)
    k = len(names)
    mean_share = np.array([states[s] for s in names], dtype=float)
    mean_share /= mean_share.sum()

    base = np.exp(rng.normal(-1.3, 1.0, n_genes))          # background means per gene
    lfc = np.zeros((k, n_genes))
    markers: dict[str, list[str]] = {}
    gene_names = np.array([f"G{g:04d}" for g in range(n_genes)], dtype=object)
    programme = np.array([""] * n_genes, dtype=object)
    for s in range(k):
        idx = np.arange(s * markers_per_state, (s + 1) * markers_per_state)
        effect = np.sort(rng.uniform(*marker_lfc, markers_per_state))[::-1]
        lfc[s, idx] = effect
        base[idx] = np.exp(rng.normal(-1.0, 0.3, markers_per_state))
        programme[idx] = names[s]
        gene_names[idx] = [f"{names[s][:5].upper()}_{j + 1:02d}" for j in range(len(idx))]
        markers[names[s]] = [str(g) for g in gene_names[idx]]

    shares = rng.dirichlet(concentration * mean_share, size=n_lots)
    sizes = rng.integers(int(0.8 * cells_per_lot), int(1.2 * cells_per_lot) + 1, n_lots)
    batch = np.arange(n_lots) % max(n_batches, 1)
    batch_shift = rng.normal(0.0, batch_sd, (max(n_batches, 1), n_genes)) if batch_sd else None

    blocks, cell_lot, cell_state = [], [], []
    size = 1.0 / dispersion
    for i in range(n_lots):
        st = rng.choice(k, size=sizes[i], p=shares[i])
        sf = np.exp(rng.normal(0.0, 0.25, sizes[i]))[:, None]
        log_mu = np.log(base)[None, :] + lfc[st]
        if batch_shift is not None:
            log_mu = log_mu + batch_shift[batch[i]][None, :]
        mu = sf * np.exp(log_mu)
        x = rng.poisson(rng.gamma(size, mu / size))
        blocks.append(sparse.csr_matrix(x.astype(np.int32)))
        cell_lot.append(np.repeat(i, sizes[i]))
        cell_state.append(st)
    counts = sparse.vstack(blocks, format="csr")
    lot_idx = np.concatenate(cell_lot)
    state_idx = np.concatenate(cell_state)

    codes = [f"{lot_prefix}{i + 1:02d}" for i in range(n_lots)]
    p = shares[:, names.index(potency_state)]
    z = np.log(p / (1 - p))
    z = (z - z.mean()) / (z.std(ddof=1) or 1.0)
    noise = rng.normal(0.0, 1.0, n_lots)
    potency = 100.0 + 20.0 * (link * z + np.sqrt(max(1.0 - link**2, 0.0)) * noise)
    lots = pd.DataFrame({"lot": codes, "batch": [f"B{b + 1}" for b in batch],
                         "n_cells": sizes.astype(int), "potency": np.round(potency, 3)})
    for s, name in enumerate(names):
        lots[f"share_{name}"] = shares[:, s]
    cells = pd.DataFrame({
        "cell": [f"c{j:07d}" for j in range(counts.shape[0])],
        "lot": np.asarray(codes, dtype=object)[lot_idx],
        "batch": lots["batch"].to_numpy()[lot_idx],
        "state": np.asarray(names, dtype=object)[state_idx],
    })
    genes = pd.DataFrame({"gene": gene_names.astype(str), "programme": programme.astype(str)})
    truth = {"potency_state": potency_state, "link": float(link), "markers": markers,
             "states": names, "seed": seed if isinstance(seed, int) else None}
    return SinglecellDemo(counts=counts, cells=cells, genes=genes, lots=lots, truth=truth)


def split_lots(sim: SinglecellDemo, lots: Sequence[str]) -> tuple[SinglecellDemo, SinglecellDemo]:
    """Split a simulation into (all other lots, the named ``lots``) — e.g. reference and new."""
    chosen = sim.cells["lot"].isin(list(lots)).to_numpy()
    parts = []
    for mask in (~chosen, chosen):
        keep = sim.lots["lot"].isin(sim.cells.loc[mask, "lot"].unique())
        parts.append(dataclasses.replace(
            sim, counts=sim.counts[np.flatnonzero(mask)],
            cells=sim.cells[mask].reset_index(drop=True),
            lots=sim.lots[keep].reset_index(drop=True)))
    return parts[0], parts[1]
