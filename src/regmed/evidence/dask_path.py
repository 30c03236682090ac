"""The propensity fit and caliper matching on a Dask data frame (a control pool that does not
fit in one process).

The fit is :func:`regmed.evidence.partitioned.fit_propensity_partitioned` with a mapper that
runs :func:`regmed.evidence.partials.compute_partial` on every partition of the data frame, on
whatever scheduler Dask is given: a ``distributed.Client`` of a ``LocalCluster``, of an HPC
cluster (``dask-jobqueue``) or of Kubernetes (``dask-kubernetes``), or Dask's local threads.
Matching keeps, partition by partition, the treated rows and the controls whose distance lies
within the caliper of some treated row (the others can never be matched), brings that candidate
set into memory and runs :func:`regmed.evidence.match` on it with the caliper counted in the
standard deviation of the distance over *all* rows — so the matched sets are those of the
in-memory path. No scheduler, worker pool or transport is written here: Dask does that.

References
----------
Dask Development Team (2016). Dask: library for dynamic task scheduling, https://dask.org.
Rocklin M (2015). Dask: parallel computation with blocked algorithms and task scheduling.
Proc. 14th Python in Science Conference, 130-136.
Ho, Imai, King & Stuart (2011), MatchIt, J Stat Softw 42(8) (caliper matching).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from regmed.errors import DataError, Problem
from regmed.evidence.matching import Matching, match
from regmed.evidence.partials import compute_partial, linear_predictor
from regmed.evidence.partitioned import (
    Mapper,
    PartitionedFit,
    caliper_sd,
    fit_propensity_partitioned,
)
from regmed.results import Result

__all__ = ["dask_mapper", "fit_propensity_dask", "match_dask", "DaskMatch", "candidates",
           "prepare_pool"]

DISTANCE = "_distance"


def _compute(client: Any, tasks: list[Any]) -> list[Any]:
    import dask

    if client is None:
        return list(dask.compute(*tasks))
    return list(client.compute(tasks, sync=True))


def dask_mapper(ddf: Any, client: Any = None) -> Mapper:
    """A mapper that answers each request on every partition of ``ddf`` (a
    ``dask.dataframe.DataFrame``), on ``client``'s cluster (default: Dask's local scheduler).
    """
    import dask

    parts = ddf.to_delayed()
    call = dask.delayed(compute_partial, pure=True)
    return lambda request: _compute(client, [call(p, request) for p in parts])


def prepare_pool(ddf: Any, columns: Sequence[str], *, client: Any = None,
                 persist: bool | None = None, share: float = 0.3) -> tuple[Any, bool]:
    """The pool's ``columns`` only, kept in the cluster's memory when they fit.

    Every request of the fit reads each partition once; a pool held in the workers' memory
    is read from disk once instead of once per IRLS iteration. ``persist=None`` decides by
    size: the columns (8 bytes a value) are persisted when they take less than ``share`` of
    the workers' memory limits (of the machine's available memory without a client).
    Returns the data frame to use and whether it was persisted.
    """
    pool = ddf[list(dict.fromkeys(columns))]
    if persist is None:
        rows = int(pool.map_partitions(len).sum().compute(
            **({} if client is None else {"scheduler": client})))
        need = rows * len(pool.columns) * 8
        if client is not None:
            limits = [w.get("memory_limit") or 0
                      for w in client.scheduler_info()["workers"].values()]
            memory = float(sum(limits))
        else:
            import psutil

            memory = float(psutil.virtual_memory().available)
        persist = need < share * memory
    if not persist:
        return pool, False
    pool = client.persist(pool) if client is not None else pool.persist()
    if client is not None:
        import distributed

        distributed.wait(pool)
    return pool, True


def fit_propensity_dask(ddf: Any, treatment: str, covariates: Sequence[str], *,
                        client: Any = None, maxit: int = 25, epsilon: float = 1e-8
                        ) -> PartitionedFit:
    """R's logistic propensity model fitted on the partitions of a Dask data frame.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
    treatment, covariates : str, sequence of str
        As :func:`regmed.evidence.fit_propensity` takes them.
    client : distributed.Client, optional
        The cluster to run on (default: Dask's local scheduler).
    maxit, epsilon : int, float
        R's ``glm.control`` settings.

    Returns
    -------
    PartitionedFit
    """
    return fit_propensity_partitioned(
        dask_mapper(ddf, client), treatment, covariates,
        names=[f"partition {i + 1}" for i in range(ddf.npartitions)], maxit=maxit,
        epsilon=epsilon)


def candidates(df: pd.DataFrame, model: dict[str, Any], treatment: str,
               treated: np.ndarray | None, width: float | None,
               columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The rows of one partition that matching can use, with their distance (``_distance``):
    the treated rows, and (given the sorted distances of every treated row and the caliper
    ``width``) the controls within ``width`` of one of them. ``treated=None``: treated rows
    only. ``columns``: the columns to keep besides the treatment (default: all)."""
    d = linear_predictor(df, model)
    is_t = df[treatment].to_numpy().astype(float) == 1
    keep = is_t.copy()
    if treated is not None and len(treated):
        if width is None:
            keep[:] = True
        else:
            pos = np.searchsorted(treated, d)
            left = np.abs(d - treated[np.clip(pos - 1, 0, len(treated) - 1)])
            right = np.abs(treated[np.clip(pos, 0, len(treated) - 1)] - d)
            keep |= np.minimum(left, right) <= width
    cols = list(df.columns) if columns is None else list(dict.fromkeys([treatment, *columns]))
    out = df.loc[keep, cols].copy()
    out[DISTANCE] = d[keep]
    return out


@dataclasses.dataclass(frozen=True)
class DaskMatch(Result):
    """Matching on a Dask data frame: the :class:`Matching` of the candidate set, with the
    sizes of the pool.

    Attributes
    ----------
    matching : Matching
        Matched sets, weights and balance of the candidate set (treated rows and the controls
        within the caliper of one of them).
    n_rows, n_candidates : int
        Rows of the pool; rows brought into memory.
    caliper_unit : float
        The standard deviation of the distance over all rows (the caliper's unit).
    """

    matching: Matching
    n_rows: int
    n_candidates: int
    caliper_unit: float

    def summary(self) -> str:
        return (f"Matching on a pool of {self.n_rows} rows: {self.n_candidates} candidates "
                f"in memory (caliper unit {self.caliper_unit:.6g})\n"
                + self.matching.summary())


def match_dask(ddf: Any, fit: PartitionedFit, *, ratio: int = 1, caliper: float = 0.2,
               replace: bool = False, order: str = "largest",
               covariates: Sequence[str] | None = None, columns: Sequence[str] = (),
               client: Any = None, rng: np.random.Generator | int | None = None) -> DaskMatch:
    """Greedy nearest-neighbour caliper matching on the logit of the propensity score, as
    :func:`regmed.evidence.match` (MatchIt ``method = "nearest"``, ``link = "linear.logit"``)
    does it on the pooled rows.

    A caliper is required: without one every control is a candidate and the pool would have
    to fit in memory. ``ddf``'s index must identify rows across partitions. Only the treatment,
    the balance ``covariates`` (default: the model's) and ``columns`` (outcomes, say) of the
    candidates are brought into memory; the balance of the :class:`Matching` is that of the
    candidate set.

    Raises
    ------
    DataError
        No caliper.
    """
    import dask

    if caliper is None or not np.isfinite(caliper) or caliper <= 0:
        raise DataError("cannot match on a Dask data frame",
                        [Problem("a positive caliper is needed", field="caliper")])
    sd = caliper_sd(dask_mapper(ddf, client), fit)
    width = float(caliper) * sd
    parts = ddf.to_delayed()
    pick = dask.delayed(candidates, pure=True)
    balance_on = tuple(fit.covariates if covariates is None else covariates)
    keep = [*balance_on, *columns]
    treated_rows = _compute(client, [pick(p, fit.model, fit.treatment, None, None, ())
                                     for p in parts])
    d_t = np.sort(np.concatenate([t[DISTANCE].to_numpy() for t in treated_rows]))
    chosen = _compute(client, [pick(p, fit.model, fit.treatment, d_t, width, keep)
                               for p in parts])
    pool = pd.concat(chosen)
    m = match(pool.drop(columns=[DISTANCE]), None, ratio=ratio, caliper=caliper,
              caliper_scale="logit", replace=replace, order=order, rng=rng,
              treatment=fit.treatment, covariates=balance_on,
              distance=pool[DISTANCE], caliper_unit=sd)
    return DaskMatch(matching=m, n_rows=fit.n, n_candidates=len(pool), caliper_unit=sd)
