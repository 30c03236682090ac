"""Inverse-probability-of-treatment and overlap weights from a propensity score."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from regmed.errors import DataError, Problem
from regmed.evidence._design import check_columns, treatment_array
from regmed.evidence.propensity import PropensityScore
from regmed.evidence.sample import AdjustedSample
from regmed.results import format_table

__all__ = ["Weighting", "weight"]

_ESTIMANDS = ("ATT", "ATE", "ATO")


@dataclasses.dataclass(frozen=True)
class Weighting(AdjustedSample):
    """The result of :func:`weight` (an :class:`~regmed.evidence.sample.AdjustedSample`).

    Attributes
    ----------
    data : pandas.DataFrame
        Every kept row (all rows unless ``trim``) with its ``weights`` column.
    ps : pandas.Series
        The propensity score of every input row.
    ess_treated, ess_control : float
        Kish effective sample sizes (Σw)²/Σw² of the kept rows per group.
    trimmed : tuple
        Index labels of rows removed by ``trim``.
    n_truncated : int
        Number of weights capped by ``truncate``.
    attrition : pandas.DataFrame
        ``step``, ``n_treated``, ``n_control``.
    warnings : tuple of str
    options : dict
    """

    ps: pd.Series
    ess_treated: float
    ess_control: float
    trimmed: tuple[Any, ...]
    n_truncated: int
    attrition: pd.DataFrame
    warnings: tuple[str, ...]
    options: dict[str, Any]

    def summary(self) -> str:
        return "\n".join(
            [
                f"Weighting ({self.estimand}): ESS treated {self.ess_treated:.1f}, "
                f"control {self.ess_control:.1f}",
                format_table(self.attrition, title="Attrition"),
                *[f"warning: {w}" for w in self.warnings],
            ]
        )


def _quantile7(x: np.ndarray, q: float) -> float:
    """R's default (type 7) quantile."""
    return float(np.quantile(x, q, method="linear"))


def ps_weights(t: np.ndarray, e: np.ndarray, estimand: str) -> np.ndarray:
    """The weights of treatment ``t`` (0/1) and score ``e``: ATE ``t/e + (1-t)/(1-e)``, ATT
    ``t + (1-t)·e/(1-e)``, ATO ``t(1-e) + (1-t)e``."""
    if estimand == "ATE":
        return np.where(t == 1, 1 / e, 1 / (1 - e))
    if estimand == "ATT":
        return np.where(t == 1, 1.0, e / (1 - e))
    return np.where(t == 1, 1 - e, e)


def weight(
    df: pd.DataFrame,
    ps: PropensityScore | pd.Series | np.ndarray,
    estimand: str = "ATT",
    trim: float | None = None,
    truncate: float | None = None,
    stabilize: bool = False,
    *,
    treatment: str | None = None,
    covariates: Sequence[str] | None = None,
) -> Weighting:
    """Propensity-score weights for the ATT, ATE or ATO.

    With ``e`` the propensity score and ``t`` the treatment:
    ATE ``t/e + (1-t)/(1-e)``; ATT ``t + (1-t)·e/(1-e)``; ATO (overlap weights)
    ``t·(1-e) + (1-t)·e``. The same definitions as WeightIt's ``get_w_from_ps``.

    Parameters
    ----------
    df : pandas.DataFrame
        The data (not modified).
    ps : PropensityScore or pandas.Series or array
        A :func:`fit_propensity` result or probabilities per row.
    estimand : {"ATT", "ATE", "ATO"}
    trim : float, optional
        Crump et al. trimming: rows with ``e`` outside ``[trim, 1 - trim]`` are removed
        before weighting (0 < trim < 0.5).
    truncate : float, optional
        Weights above this quantile (R's type-7 quantile, within each treatment group)
        are set to it (0.5 < truncate < 1); weights fixed at 1 are not affected.
    stabilize : bool
        Multiply each row's weight by the share of rows in its treatment group.
    treatment, covariates : str, sequence of str, optional
        Needed when ``ps`` is not a PropensityScore (covariates are for balance).

    Returns
    -------
    Weighting

    References
    ----------
    Rosenbaum (1987), JASA 82:387-394; Hirano, Imbens & Ridder (2003), Econometrica
    71:1161-1189; Li, Morgan & Zaslavsky (2018), JASA 113:390-400 (overlap weights);
    Crump et al. (2009), Biometrika 96:187-199 (trimming); Kish (1965), Survey Sampling
    (effective sample size); Greifer, WeightIt ``get_w_from_ps``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"t": [1, 0, 0, 1], "x": [1.0, 0.0, 1.0, 0.5]})
    >>> w = weight(df, pd.Series([0.5, 0.2, 0.75, 0.5]), "ATE", treatment="t")
    >>> w.data["weights"].round(3).tolist()
    [2.0, 1.25, 4.0, 2.0]
    """
    problems: list[Problem] = []
    if isinstance(ps, PropensityScore):
        treatment = treatment or ps.treatment
        if covariates is None:
            covariates = ps.covariates + ps.strata
        e = ps.ps.reindex(df.index).to_numpy(dtype=float)
    else:
        values = ps.reindex(df.index) if isinstance(ps, pd.Series) else ps
        e = np.asarray(values, dtype=float)
    if estimand not in _ESTIMANDS:
        problems.append(Problem(f"estimand must be one of {_ESTIMANDS}", field="estimand"))
    if trim is not None and not 0 < trim < 0.5:
        problems.append(Problem("trim must be between 0 and 0.5", field="trim"))
    if truncate is not None and not 0.5 < truncate < 1:
        problems.append(Problem("truncate must be between 0.5 and 1", field="truncate"))
    if treatment is None:
        problems.append(Problem("treatment column not given", field="treatment"))
    if e.shape != (len(df),) or not np.all(np.isfinite(e)) or np.any((e <= 0) | (e >= 1)):
        problems.append(
            Problem("ps must be probabilities strictly between 0 and 1, one per row", field="ps")
        )
    if not df.index.is_unique:
        problems.append(Problem("the DataFrame index must identify rows uniquely", field="index"))
    if "weights" in df.columns:
        problems.append(Problem("column name is reserved for the weights", field="weights"))
    covariates = tuple(covariates or ())
    if treatment is not None:
        problems += check_columns(df, (treatment,), "treatment")
        problems += check_columns(df, covariates, "covariate")
    if problems:
        raise DataError("cannot weight", problems)
    assert treatment is not None
    t, tp = treatment_array(df, treatment)
    if tp:
        raise DataError("cannot weight", tp)

    keep = np.ones(len(df), dtype=bool)
    if trim is not None:
        keep = (e >= trim) & (e <= 1 - trim)
    tk, ek = t[keep], e[keep]
    w = ps_weights(tk, ek, estimand)
    n_trunc = 0
    if truncate is not None:
        for g in (tk == 1, tk == 0):
            if not g.any() or np.all(w[g] == 1):
                continue
            cap = _quantile7(w[g], truncate)
            over = g & (w > cap)
            n_trunc += int(over.sum())
            w[over] = cap
    if stabilize:
        share = tk.mean()
        w = w * np.where(tk == 1, share, 1 - share)

    data = df.loc[keep].copy()
    data["weights"] = w
    warnings: list[str] = []
    for name, g in (("treated", tk == 1), ("control", tk == 0)):
        if not g.any():
            raise DataError("cannot weight", [Problem(f"no {name} rows left after trimming")])
        share = w[g].max() / w[g].sum()
        if share > 0.1 and g.sum() > 20:
            warnings.append(f"one {name} row carries {share:.0%} of its group's weight")

    def ess(v: np.ndarray) -> float:
        return float(v.sum() ** 2 / np.sum(v**2))

    n1, n0 = int(t.sum()), int(len(t) - t.sum())
    attrition = pd.DataFrame(
        [("input", n1, n0), ("after trimming", int(tk.sum()), int(len(tk) - tk.sum()))],
        columns=["step", "n_treated", "n_control"],
    )
    return Weighting(
        data=data,
        original=df,
        treatment=treatment,
        covariates=covariates,
        estimand=estimand,
        method="weighting",
        cluster=None,
        ps=pd.Series(e, index=df.index, name="ps"),
        ess_treated=ess(w[tk == 1]),
        ess_control=ess(w[tk == 0]),
        trimmed=tuple(df.index[~keep]),
        n_truncated=n_trunc,
        attrition=attrition,
        warnings=tuple(warnings),
        options={
            "estimand": estimand,
            "trim": trim,
            "truncate": truncate,
            "stabilize": bool(stabilize),
        },
    )
