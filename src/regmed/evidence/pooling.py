"""Rubin's rules: pooling estimates from multiply imputed data sets, as R's ``mice::pool``.

Each imputed data set gives, per term, an estimate :math:`Q_l` and its squared standard error
:math:`U_l` (l = 1..m). ``pool`` returns, as ``mice::pool`` (rule ``"rubin1987"``) and
``summary(pool(...), conf.int = TRUE)`` report them:

* :math:`\\bar Q = \\frac1m\\sum Q_l`, :math:`\\bar U = \\frac1m\\sum U_l`,
  :math:`B = \\frac{1}{m-1}\\sum (Q_l - \\bar Q)^2`, :math:`T = \\bar U + (1 + 1/m) B`;
* ``riv`` :math:`r = (1 + 1/m) B / \\bar U`, ``lambda`` :math:`\\lambda = (1 + 1/m) B / T`;
* the Barnard-Rubin small-sample degrees of freedom, with :math:`\\lambda` floored at 1e-4:
  :math:`\\nu_{old} = (m - 1)/\\lambda^2`,
  :math:`\\nu_{obs} = \\frac{\\nu_{com} + 1}{\\nu_{com} + 3}\\nu_{com}(1 - \\lambda)`,
  :math:`\\nu = \\nu_{old}\\nu_{obs}/(\\nu_{old} + \\nu_{obs})` (:math:`\\nu_{old}` when the
  complete-data df :math:`\\nu_{com}` is infinite);
* ``fmi`` :math:`= (r + 2/(\\nu + 3))/(r + 1)`, the fraction of missing information;
* the interval :math:`\\bar Q \\pm t_{\\nu, (1+c)/2}\\sqrt T` and the p-value of
  :math:`\\bar Q/\\sqrt T` on :math:`\\nu` df.

References
----------
.. [1] Rubin DB (1987). Multiple Imputation for Nonresponse in Surveys. Wiley.
.. [2] Barnard J, Rubin DB (1999). Small-sample degrees of freedom with multiple imputation.
   Biometrika 86:948-955.
.. [3] van Buuren S, Groothuis-Oudshoorn K (2011). mice: Multivariate Imputation by Chained
   Equations in R. Journal of Statistical Software 45(3). ``mice::pool`` 3.15.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from regmed.errors import DataError, Problem, RegmedError
from regmed.results import ESTIMATE_COLUMNS, Result, format_table

__all__ = ["PooledEffect", "analyze_imputed", "complete_data_df", "pool"]

#: Columns of :attr:`PooledEffect.pooling`, in ``mice::pool(...)$pooled``'s order.
POOLING_COLUMNS = ("term", "m", "estimate", "ubar", "b", "t", "dfcom", "df", "riv", "lambda",
                   "fmi")


@dataclasses.dataclass(frozen=True)
class PooledEffect(Result):
    """Estimates pooled over imputed data sets by Rubin's rules.

    Attributes
    ----------
    estimates : pandas.DataFrame
        Tidy table ``term, estimate, std_error, ci_lower, ci_upper, statistic, p_value, df,
        fmi``: the pooled estimate, ``sqrt(t)``, the t interval and p-value on the
        Barnard-Rubin df (``summary(pool(fit), conf.int = TRUE)``).
    pooling : pandas.DataFrame
        Rubin's components per term as ``pool(fit)$pooled``: ``m, estimate (Q-bar), ubar, b,
        t, dfcom, df, riv, lambda, fmi``.
    per_imputation : pandas.DataFrame
        The pooled inputs: ``imputation`` (1..m), ``term``, ``estimate``, ``std_error``.
    m : int
        Number of imputed data sets.
    confidence_level : float
    options : dict
        ``confidence_level``, ``dfcom``, ``rule`` and, from ``analyze_imputed``, the
        analysis it ran.
    fits : tuple
        The per-imputation results (not serialized).
    """

    estimates: pd.DataFrame
    pooling: pd.DataFrame
    per_imputation: pd.DataFrame
    m: int
    confidence_level: float
    options: dict[str, Any]
    fits: tuple[Any, ...] = dataclasses.field(default=(), repr=False, compare=False)

    def fmi(self, term: str) -> float:
        """The fraction of missing information of ``term``."""
        return float(self._find(self.pooling, term)["fmi"])

    def row(self, term: str) -> dict[str, Any]:
        """The ``estimates`` row of ``term`` as a dict."""
        return self._find(self.estimates, term)

    def _find(self, table: pd.DataFrame, term: str) -> dict[str, Any]:
        hit = table[table["term"] == term]
        if hit.empty:
            raise DataError(f"The pooled result has no term {term!r}; it has "
                            f"{', '.join(map(str, table['term']))}.")
        return dict(hit.iloc[0])

    def summary(self) -> str:
        head = (f"Pooled over m = {self.m} imputations (Rubin's rules, Barnard-Rubin df, "
                f"{self.confidence_level:.0%} intervals)")
        return format_table(self.estimates, title=head) + "\n\n" + format_table(
            self.pooling, title="pooling components (mice::pool)")


def barnard_rubin_df(m: int, b: float, t: float, dfcom: float) -> float:
    """Barnard-Rubin degrees of freedom as ``mice:::barnard.rubin`` (lambda floored at 1e-4)."""
    lam = max((1.0 + 1.0 / m) * b / t, 1e-4) if t > 0 else 1e-4
    df_old = (m - 1) / lam**2
    if math.isinf(dfcom):
        return df_old
    df_obs = (dfcom + 1.0) / (dfcom + 3.0) * dfcom * (1.0 - lam)
    return df_old * df_obs / (df_old + df_obs)


def complete_data_df(result: Any) -> float:
    """The complete-data degrees of freedom of one fit, as ``mice:::get.dfcom`` finds them.

    A fit with ``df_residual`` (``fit_glm``) gives it; an effect of
    :func:`~regmed.evidence.estimate_effect` on a binary or continuous outcome gives the
    residual df of its ``y ~ treat`` model (rows minus 2, as ``df.residual`` of the ``lm`` or
    ``glm``); a survival effect gives events minus 1 (``coxph``: events minus coefficients).
    Anything else is taken as infinite (mice's "Infinite sample size assumed").
    """
    df = getattr(result, "df_residual", None)
    if df is not None:
        return float(df)
    if type(result).__name__ == "Effect":
        return float(result.n_treated + result.n_control - 2)
    if type(result).__name__ == "SurvivalEffect":
        return float(max(result.events_treated + result.events_control - 1, 1))
    return math.inf


def _table(result: Any, where: str) -> pd.DataFrame:
    table = result if isinstance(result, pd.DataFrame) else getattr(result, "estimates", None)
    if not isinstance(table, pd.DataFrame):
        raise DataError("Pooling needs results with an estimates table.",
                        [Problem("is neither a DataFrame nor a result with .estimates",
                                 field=where)])
    missing = [c for c in ("term", "estimate", "std_error") if c not in table.columns]
    if missing:
        raise DataError("Pooling needs term, estimate and std_error columns.",
                        [Problem(f"lacks column {c!r}", field=where) for c in missing])
    return table[["term", "estimate", "std_error"]]


def pool(
    results: Sequence[Any],
    *,
    confidence_level: float = 0.95,
    dfcom: float | None = None,
    terms: Sequence[str] | None = None,
) -> PooledEffect:
    """Pool per-imputation estimates by Rubin's rules, as ``mice::pool``.

    Parameters
    ----------
    results : sequence
        One result per imputed data set: a result with a tidy ``estimates`` table (an
        :class:`~regmed.evidence.Effect`, a survival effect, …) or a DataFrame with ``term``,
        ``estimate`` and ``std_error``. Every result must have the same terms.
    confidence_level : float
        Level of the pooled intervals.
    dfcom : float, optional
        Complete-data degrees of freedom. By default taken from the first result as
        ``mice:::get.dfcom`` does (see :func:`complete_data_df`); infinite if it has none.
    terms : sequence of str, optional
        Pool only these terms (default: all, in the first result's order).

    Returns
    -------
    PooledEffect

    Raises
    ------
    DataError
        Fewer than two results, terms that differ between results, missing or negative
        standard errors.

    References
    ----------
    Rubin DB (1987), Wiley; Barnard J, Rubin DB (1999), Biometrika 86:948-955; van Buuren S,
    Groothuis-Oudshoorn K (2011), JSS 45(3) (``mice::pool``, ``summary.mipo``).

    Examples
    --------
    >>> import pandas as pd
    >>> fits = [pd.DataFrame({"term": ["treat"], "estimate": [e], "std_error": [0.5]})
    ...         for e in (1.0, 1.2, 0.8)]
    >>> p = pool(fits, dfcom=100)
    >>> round(float(p.estimates.loc[0, "estimate"]), 3), round(float(p.pooling.loc[0, "b"]), 3)
    (1.0, 0.04)
    """
    problems: list[Problem] = []
    if not 0.0 < confidence_level < 1.0:
        problems.append(Problem("must lie strictly between 0 and 1", field="confidence_level"))
    if dfcom is not None and not (dfcom > 0):
        problems.append(Problem(f"must be positive, got {dfcom!r}", field="dfcom"))
    results = list(results)
    if len(results) < 2:
        problems.append(Problem(f"needs at least 2 results, got {len(results)}",
                                field="results"))
    if problems:
        raise DataError("pool: invalid arguments", problems)
    tables = [_table(r, f"results[{i}]") for i, r in enumerate(results)]
    order = list(tables[0]["term"]) if terms is None else list(terms)
    for i, tab in enumerate(tables):
        have = list(tab["term"])
        lost = [t for t in order if t not in have]
        if lost or (terms is None and have != order):
            problems.append(Problem(f"terms {have} differ from results[0]'s {order}",
                                    field=f"results[{i}]"))
            continue
        sub = tab.set_index("term").loc[order]
        bad = [t for t, s in sub["std_error"].items() if not (float(s) >= 0)]
        bad += [t for t, e in sub["estimate"].items() if not np.isfinite(float(e))]
        for t in bad:
            problems.append(Problem("estimate or std_error is missing or invalid",
                                    field=f"results[{i}].{t}"))
    if problems:
        raise DataError("pool: the results cannot be pooled", problems)
    m = len(tables)
    com = float(dfcom) if dfcom is not None else complete_data_df(results[0])
    com = max(com, 1.0)
    q_all = np.array([t.set_index("term").loc[order, "estimate"].to_numpy(float)
                      for t in tables])
    u_all = np.array([t.set_index("term").loc[order, "std_error"].to_numpy(float) ** 2
                      for t in tables])
    rows, est_rows = [], []
    for j, term in enumerate(order):
        q, u = q_all[:, j], u_all[:, j]
        qbar, ubar = float(q.mean()), float(u.mean())
        b = float(q.var(ddof=1))
        t = ubar + (1.0 + 1.0 / m) * b
        df = barnard_rubin_df(m, b, t, com)
        riv = (1.0 + 1.0 / m) * b / ubar if ubar > 0 else math.inf
        lam = (1.0 + 1.0 / m) * b / t if t > 0 else math.nan
        fmi = (riv + 2.0 / (df + 3.0)) / (riv + 1.0) if math.isfinite(riv) else 1.0
        rows.append({"term": term, "m": m, "estimate": qbar, "ubar": ubar, "b": b, "t": t,
                     "dfcom": com, "df": df, "riv": riv, "lambda": lam, "fmi": fmi})
        se = math.sqrt(t)
        crit = float(stats.t.ppf(0.5 + confidence_level / 2.0, df))
        stat = qbar / se if se > 0 else math.nan
        est_rows.append({
            "term": term, "estimate": qbar, "std_error": se, "ci_lower": qbar - crit * se,
            "ci_upper": qbar + crit * se, "statistic": stat,
            "p_value": float(2.0 * stats.t.sf(abs(stat), df)) if se > 0 else math.nan,
            "df": df, "fmi": fmi,
        })
    per = pd.DataFrame([
        {"imputation": i + 1, "term": term, "estimate": q_all[i, j],
         "std_error": math.sqrt(u_all[i, j])}
        for i in range(m) for j, term in enumerate(order)
    ])
    return PooledEffect(
        estimates=pd.DataFrame(est_rows, columns=[*ESTIMATE_COLUMNS, "df", "fmi"]),
        pooling=pd.DataFrame(rows, columns=list(POOLING_COLUMNS)),
        per_imputation=per,
        m=m,
        confidence_level=confidence_level,
        options={"confidence_level": confidence_level, "dfcom": com, "rule": "rubin1987"},
        fits=tuple(results),
    )


def analyze_imputed(
    imputed: Any,
    *,
    analysis: Callable[[pd.DataFrame], Any],
    confidence_level: float = 0.95,
    dfcom: float | None = None,
    terms: Sequence[str] | None = None,
) -> PooledEffect:
    """Run ``analysis`` within each imputed data set and pool the results by Rubin's rules.

    This is what R's MatchThem does with ``matchthem()`` (or ``weightthem()``), ``with()`` and
    ``pool()``: the propensity model, the matching or weighting and the outcome model are all
    fitted again within every completed data set, and only the final estimates are pooled.

    Parameters
    ----------
    imputed : ImputedData
        The result of :func:`~regmed.evidence.impute` (anything with ``datasets``).
    analysis : callable
        ``analysis(data) -> result`` on one completed data set, e.g. ``fit_propensity`` →
        ``match`` → ``estimate_effect``; the result needs a tidy ``estimates`` table.
    confidence_level, dfcom, terms
        As in :func:`pool`; ``dfcom`` defaults to the first result's complete-data df.

    Returns
    -------
    PooledEffect
        With ``fits`` holding each data set's result and ``options["analysis"]`` naming the
        callable.

    Raises
    ------
    DataError
        An analysis that fails on one of the data sets (named by its number) or results that
        cannot be pooled.

    References
    ----------
    Pishgar F, Greifer N, Leyrat C, Stuart E (2021). MatchThem: Matching and Weighting after
    Multiple Imputation. The R Journal 13(2):292-305. Rubin DB (1987), Wiley.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from regmed.evidence.imputation import impute
    >>> rng = np.random.default_rng(3)
    >>> d = pd.DataFrame({"x": rng.normal(size=60)})
    >>> d["y"] = 1 + 2 * d["x"] + rng.normal(size=60)
    >>> d.loc[::5, "y"] = np.nan
    >>> imp = impute(d, columns=["x", "y"], m=5, rng=4)
    >>> def slope(s):
    ...     b = np.polyfit(s["x"], s["y"], 1)[0]
    ...     return pd.DataFrame({"term": ["x"], "estimate": [b], "std_error": [0.1]})
    >>> p = analyze_imputed(imp, analysis=slope, dfcom=58)
    >>> bool(1.5 < p.row("x")["estimate"] < 2.5)
    True
    """
    datasets = getattr(imputed, "datasets", None)
    if datasets is None:
        raise DataError("analyze_imputed needs the result of impute() (an ImputedData).")
    if not callable(analysis):
        raise DataError("analyze_imputed: analysis must be a callable taking one data set.")
    results = []
    for i, data in enumerate(datasets, start=1):
        try:
            results.append(analysis(data.copy()))
        except RegmedError as error:
            raise DataError(f"The analysis failed on imputed data set {i} of "
                            f"{len(datasets)}: {error}", error.problems) from None
    pooled = pool(results, confidence_level=confidence_level, dfcom=dfcom, terms=terms)
    name = getattr(analysis, "__qualname__", type(analysis).__name__)
    options = {**pooled.options, "analysis": name,
               "m": len(results), "imputation": getattr(imputed, "options", {})}
    return dataclasses.replace(pooled, options=options)
