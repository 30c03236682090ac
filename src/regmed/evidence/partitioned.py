"""The propensity model fitted to data split into partitions or held by several owners.

:func:`fit_propensity_partitioned` is :func:`regmed.evidence.fit_propensity` — R's
``glm(treatment ~ covariates, family = binomial)``, with R's start, R's convergence rule and
R's aliasing decision — computed from sums over partitions instead of from the rows: a
*mapper* sends a request to every partition and returns their partials
(:func:`regmed.evidence.partials.compute_partial`); this module adds them up and iterates. The
mapper may loop over frames in this process (:func:`frames_mapper`), run the partitions of a
Dask data frame on a cluster (:func:`regmed.evidence.dask_path.dask_mapper`), or exchange
files with data owners (:mod:`regmed.evidence.federated`). Because only the order of the
floating-point additions differs, the fit equals the in-memory fit to rounding (≈1e-12 in the
coefficients; tested to 1e-10).

References
----------
R Core Team, ``stats::glm.fit``; Karr et al. (2005), J Comput Graph Stat 14:263-279; Gaye et al.
(2014), Int J Epidemiol 43:1929-1944 (DataSHIELD ``ds.glm``); Chan TF, Golub GH, LeVeque RJ
(1983), Algorithms for computing the sample variance, Am Stat 37:242-247 (pooled variance).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from regmed.errors import DataError, Problem
from regmed.evidence.partials import Term, compute_partial, linear_predictor
from regmed.evidence.propensity import _EPS, _drop_aliased, _estimates, _irls
from regmed.results import Result, format_table

__all__ = ["Mapper", "PartitionedFit", "fit_propensity_partitioned", "frames_mapper",
           "caliper_sd"]

#: Sends one request to every partition; returns their partials in partition order.
Mapper = Callable[[dict[str, Any]], list[dict[str, Any]]]


def frames_mapper(frames: Sequence[pd.DataFrame]) -> Mapper:
    """A mapper over data frames in this process (one partition per frame).

    Examples
    --------
    >>> import pandas as pd
    >>> m = frames_mapper([pd.DataFrame({"t": [0, 1], "x": [1.0, 2.0]})])
    >>> m({"op": "describe", "treatment": "t", "covariates": ["x"]})[0]["n"]
    2
    """
    return lambda request: [compute_partial(f, request) for f in frames]


@dataclasses.dataclass(frozen=True)
class PartitionedFit(Result):
    """A propensity model fitted from partition sums.

    Attributes
    ----------
    treatment, covariates : the columns of the model
    terms : tuple of str
        R's model-matrix names (first level of each factor dropped), aliased columns removed.
    estimates : pandas.DataFrame
        Tidy coefficient table, as :class:`regmed.evidence.PropensityScore` has it.
    n, n_treated, n_partitions : int
    converged : bool
    iterations : int
    deviance : float
    model : dict
        ``terms`` (name, column, level), ``centre``, ``scale`` and ``beta`` of the standardized
        design: what a partition needs to score its rows (:meth:`request`).
    warnings : tuple of str
    options : dict
    """

    treatment: str
    covariates: tuple[str, ...]
    terms: tuple[str, ...]
    estimates: pd.DataFrame
    n: int
    n_treated: int
    n_partitions: int
    converged: bool
    iterations: int
    deviance: float
    model: dict[str, Any]
    warnings: tuple[str, ...] = ()
    options: dict[str, Any] = dataclasses.field(default_factory=dict)

    def request(self, op: str) -> dict[str, Any]:
        """A request carrying the fitted model (``op``: ``"distance"``)."""
        return {"op": op, "treatment": self.treatment, **self.model}

    def linear_predictor(self, df: pd.DataFrame) -> np.ndarray:
        """The logit of the propensity score of ``df``'s rows (MatchIt's ``linear.logit``)."""
        return linear_predictor(df, self.model)

    def summary(self) -> str:
        head = (f"Propensity model from {self.n_partitions} partition(s): n={self.n} "
                f"(treated {self.n_treated}), deviance {self.deviance:.4f}, "
                f"{self.iterations} iterations")
        return head + "\n" + format_table(self.estimates)


def _problems(partials: Sequence[Mapping[str, Any]], names: Sequence[str]) -> list[Problem]:
    out = []
    for name, part in zip(names, partials, strict=True):
        for p in part.get("problems", []):
            out.append(Problem(p["message"], file=name, row=p.get("row"), field=p.get("field")))
    return out


def _levels(partials: Sequence[Mapping[str, Any]], col: str) -> list[Any]:
    """The pooled levels of a factor as R's ``factor()`` + ``droplevels()`` give them."""
    kinds = {p.get("kinds", {}).get(col) for p in partials if col in p.get("levels", {})}
    present = {row[0] for p in partials for row in p["levels"].get(col, [])
               if row[1] + row[2] > 0}
    if kinds == {"bool"}:
        return [False, True]
    if kinds == {"category"}:
        cats = next(p["categories"][col] for p in partials if col in p.get("categories", {}))
        return [c for c in cats if c in present]
    return sorted(present)


def _terms(partials: Sequence[Mapping[str, Any]], covariates: Sequence[str], n: int
           ) -> tuple[list[Term], np.ndarray]:
    """The model columns (intercept, numeric, indicators of all but the first level) and their
    pooled means."""
    terms: list[Term] = [("(Intercept)", "", None)]
    centre = [0.0]
    numeric = {c for p in partials for c in p.get("sums", {})}
    for col in covariates:
        if col in numeric:
            terms.append((col, col, None))
            centre.append(sum(p["sums"].get(col, 0.0) for p in partials) / n)
            continue
        levels = _levels(partials, col)
        labels = ["FALSE", "TRUE"] if levels == [False, True] else [str(v) for v in levels]
        for lev, lab in zip(levels[1:], labels[1:], strict=True):
            count = sum(r[1] + r[2] for p in partials for r in p["levels"].get(col, [])
                        if r[0] == lev)
            terms.append((f"{col}{lab}", col, lev))
            centre.append(count / n)
    return terms, np.asarray(centre)


def _sum(partials: Sequence[Mapping[str, Any]], key: str) -> np.ndarray:
    return np.sum([np.asarray(p[key], dtype=np.float64) for p in partials], axis=0)


def fit_propensity_partitioned(
    mapper: Mapper,
    treatment: str,
    covariates: Sequence[str],
    *,
    names: Sequence[str] | None = None,
    maxit: int = 25,
    epsilon: float = 1e-8,
) -> PartitionedFit:
    """Fit R's logistic propensity model from the sums of partitions.

    Parameters
    ----------
    mapper : callable
        ``mapper(request) -> [partial, ...]``, one partial per partition (see
        :func:`frames_mapper`).
    treatment : str
        0/1 (or boolean) treatment column.
    covariates : sequence of str
        Numeric and categorical (character, category, boolean) columns.
    names : sequence of str, optional
        A name per partition (a file, a site) for the problems; default ``partition 1`` ….
    maxit, epsilon : int, float
        R's ``glm.control`` settings.

    Returns
    -------
    PartitionedFit

    Raises
    ------
    DataError
        Every problem of every partition at once (unknown column, missing values, treatment
        not 0/1), or a treatment with one group only.

    References
    ----------
    See the module's description (R's ``glm.fit``; Karr et al. 2005; DataSHIELD).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"t": [0, 0, 1, 1, 0, 1], "age": [50, 61, 58, 70, 44, 52]})
    >>> fit = fit_propensity_partitioned(frames_mapper([df[:3], df[3:]]), "t", ["age"])
    >>> round(float(fit.estimates["estimate"].iloc[1]), 6)
    0.123656
    """
    covariates = tuple(covariates)
    base: dict[str, Any] = {"treatment": treatment}
    described = mapper({"op": "describe", "treatment": treatment, "covariates": covariates})
    names = list(names) if names is not None else [f"partition {i + 1}"
                                                   for i in range(len(described))]
    problems = _problems(described, names)
    n = int(sum(p["n"] for p in described))
    n_treated = int(sum(p.get("n_treated", 0) for p in described))
    if not problems and (n_treated == 0 or n_treated == n):
        problems.append(Problem("treatment has only one group", field=treatment))
    if not covariates:
        problems.append(Problem("no covariates given", field="covariates"))
    if problems:
        raise DataError("cannot fit the propensity model", problems)
    terms, centre = _terms(described, covariates, n)
    ss = _sum(mapper({**base, "op": "moments", "terms": terms, "centre": centre.tolist()}), "ss")
    scale = np.sqrt(ss / n)
    scale[0] = 1.0
    scale[scale == 0] = 1.0
    norms = np.sqrt(n * (1.0 + (centre / scale) ** 2))

    def model(keep: Sequence[int]) -> dict[str, Any]:
        return {"terms": [terms[j] for j in keep], "centre": centre[keep].tolist(),
                "scale": scale[keep].tolist()}

    every = list(range(len(terms)))

    def step(beta: np.ndarray | None, keep: Sequence[int]) -> tuple[float, np.ndarray,
                                                                   np.ndarray]:
        parts = mapper({**base, "op": "irls", **model(keep),
                        "beta": None if beta is None else beta.tolist()})
        return float(sum(p["deviance"] for p in parts)), _sum(parts, "xwx"), _sum(parts, "xwz")

    def r_factor() -> np.ndarray:
        rs = [np.asarray(p["r"]) for p in mapper({**base, "op": "qr", **model(every)})]
        return np.asarray(np.linalg.qr(np.vstack(rs), mode="r"))

    dev0, a0, b0 = step(None, every)
    keep = _drop_aliased(r_factor, a0 / 0.1875, norms, min(1e-7, epsilon / 1000))
    if len(keep) < len(terms):
        a0, b0 = a0[np.ix_(keep, keep)], b0[keep]
    beta_s, converged, iterations, dev, info = _irls(
        lambda beta: step(beta, keep), None, maxit, epsilon, (dev0, a0, b0))
    warnings = []
    aliased = [terms[j][0] for j in every if j not in keep]
    if aliased:
        warnings.append("coefficients not defined because of singularities (dropped as R "
                        "does): " + ", ".join(aliased))
    if not converged:
        warnings.append(f"the fit did not converge in {maxit} iterations (separation?)")
    kept = [terms[j][0] for j in keep]
    estimates = _estimates(kept, beta_s, info, centre[keep], scale[keep])
    return PartitionedFit(
        treatment=treatment, covariates=covariates, terms=tuple(kept), estimates=estimates,
        n=n, n_treated=n_treated, n_partitions=len(described), converged=converged,
        iterations=iterations, deviance=dev, model={**model(keep), "beta": beta_s.tolist()},
        warnings=tuple(warnings), options={"maxit": maxit, "epsilon": epsilon,
                                           "tolerance": float(_EPS)})


def caliper_sd(mapper: Mapper, fit: PartitionedFit) -> float:
    """The standard deviation (R's ``sd()``) of the linear predictor over every row of every
    partition: the unit of a caliper on the logit scale (MatchIt ``caliper``, ``std.caliper``),
    pooled from the partitions' sums and centred sums of squares (Chan et al. 1983)."""
    parts = [p for p in mapper(fit.request("distance")) if p["n"] > 0]
    n = sum(p["n"] for p in parts)
    mean = sum(p["sum"] for p in parts) / n
    ss = sum(p["sumsq"] + p["n"] * (p["sum"] / p["n"] - mean) ** 2 for p in parts)
    return float(np.sqrt(ss / (n - 1)))
