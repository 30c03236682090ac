"""Single-arm estimates against a performance goal: proportion, mean, median survival.

For a plan without a control group the treated arm's estimate and its interval are judged
against the plan's threshold. The intervals are the ones R gives:

* ``proportion``: the Clopper-Pearson exact interval of ``binom.test``;
* ``mean``: the t interval of ``t.test`` (standard error ``sd / sqrt(n)``);
* ``median_survival``: the Kaplan-Meier median with the Brookmeyer-Crowley interval on the
  log-transformed survival, as ``quantile(survfit(Surv(time, event) ~ 1, conf.type = "log"))``.

References
----------
.. [1] Clopper CJ, Pearson ES (1934). The use of confidence or fiducial limits illustrated in
   the case of the binomial. Biometrika 26:404-413.
.. [2] Student (1908). The probable error of a mean. Biometrika 6:1-25.
.. [3] Brookmeyer R, Crowley J (1982). A confidence interval for the median survival time.
   Biometrics 38:29-41.
.. [4] Therneau T. survival R package, ``survfit`` and ``quantile.survfit``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from regmed.errors import DataError, Problem
from regmed.evidence.survival import KaplanMeier, kaplan_meier
from regmed.results import ESTIMATE_COLUMNS, Result, format_table

__all__ = ["SingleArm", "single_arm"]

MEASURES = ("proportion", "mean", "median_survival")


@dataclasses.dataclass(frozen=True)
class SingleArm(Result):
    """A single-arm estimate (the result of :func:`single_arm`).

    Attributes
    ----------
    measure : str
        ``"proportion"``, ``"mean"`` or ``"median_survival"``.
    estimate : float
    std_error : float
        ``sqrt(p(1-p)/n)`` for a proportion (shown only; the interval is exact), ``sd/sqrt(n)``
        for a mean, NaN for a median.
    ci : tuple of float
        The interval at ``confidence_level`` (NaN bounds where the curve does not reach them).
    p_value : float
        Two-sided test of ``null_value`` (``binom.test`` / ``t.test``) when given, else NaN.
    estimates : pandas.DataFrame
        One tidy row named after the measure.
    n : int
        Units with an observed outcome; ``n_events`` events (proportion: responders).
    n_missing : int
        Units dropped for a missing outcome.
    km : KaplanMeier or None
        The curve behind a median survival.
    options : dict
    """

    measure: str
    estimate: float
    std_error: float
    ci: tuple[float, float]
    p_value: float
    estimates: pd.DataFrame
    n: int
    n_events: int | None
    n_missing: int
    km: KaplanMeier | None
    options: dict[str, Any]

    def measure_value(self, measure: str) -> tuple[float, float, float]:
        """``(estimate, ci_lower, ci_upper)`` of this single-arm measure."""
        if measure != self.measure:
            raise DataError(f"The single-arm result holds {self.measure!r}, not {measure!r}.")
        return (self.estimate, *self.ci)

    def summary(self) -> str:
        return format_table(self.estimates, title=f"Single arm: {self.measure} (n = {self.n})")


def _clopper_pearson(x: int, n: int, level: float) -> tuple[float, float]:
    alpha = 1.0 - level
    lo = 0.0 if x == 0 else float(stats.beta.ppf(alpha / 2, x, n - x + 1))
    hi = 1.0 if x == n else float(stats.beta.ppf(1 - alpha / 2, x + 1, n - x))
    return lo, hi


def _binom_test_p(x: int, n: int, p: float) -> float:
    """Two-sided exact p-value as R's ``binom.test`` (relative tolerance 1 + 1e-7)."""
    d = stats.binom.pmf(x, n, p)
    m = n * p
    if x == m:
        return 1.0
    relerr = 1 + 1e-7
    k = np.arange(n + 1)
    pk = stats.binom.pmf(k, n, p)
    if x < m:
        y = int(np.sum(pk[k >= math.ceil(m)] <= d * relerr))
        return float(min(1.0, stats.binom.cdf(x, n, p) + stats.binom.sf(n - y, n, p)))
    y = int(np.sum(pk[k <= math.floor(m)] <= d * relerr))
    return float(min(1.0, stats.binom.cdf(y - 1, n, p) + stats.binom.sf(x - 1, n, p)))


def single_arm(
    df: pd.DataFrame,
    *,
    outcome: str | None = None,
    time: str | None = None,
    event: str | None = None,
    measure: str = "proportion",
    confidence_level: float = 0.95,
    null_value: float | None = None,
) -> SingleArm:
    """Estimate a single arm's proportion, mean or median survival with R's interval.

    Parameters
    ----------
    df : pandas.DataFrame
        The arm's rows (not modified). Rows with a missing outcome are dropped and counted.
    outcome : str, optional
        0/1 column for ``proportion``, numeric column for ``mean``.
    time, event : str, optional
        Follow-up time and event indicator (1 = event) for ``median_survival``.
    measure : {"proportion", "mean", "median_survival"}
    confidence_level : float
        Level of the interval, default 0.95.
    null_value : float, optional
        Value for the two-sided p-value (``binom.test(p =)``, ``t.test(mu =)``).

    Returns
    -------
    SingleArm

    References
    ----------
    Clopper & Pearson (1934), Biometrika 26:404-413; Brookmeyer & Crowley (1982), Biometrics
    38:29-41; R ``binom.test``, ``t.test``, ``survival::survfit``.

    Examples
    --------
    >>> import pandas as pd
    >>> r = single_arm(pd.DataFrame({"y": [1, 0, 1, 1]}), outcome="y")
    >>> round(r.estimate, 2), tuple(round(v, 4) for v in r.ci)
    (0.75, (0.1941, 0.9937))
    """
    problems: list[Problem] = []
    if measure not in MEASURES:
        problems.append(Problem(f"measure must be one of {MEASURES}", field="measure"))
    if not 0.0 < confidence_level < 1.0:
        problems.append(Problem("confidence_level must lie between 0 and 1",
                                field="confidence_level"))
    cols = [time, event] if measure == "median_survival" else [outcome]
    needs = "time= and event=" if measure == "median_survival" else "outcome="
    for c in cols:
        if c is None:
            problems.append(Problem(f"measure={measure!r} needs {needs}", field="measure"))
        elif c not in df.columns:
            problems.append(Problem("unknown column", field=c))
    if problems:
        raise DataError("cannot estimate the single-arm measure", problems)
    names = [c for c in cols if c is not None]
    used = df[names].apply(pd.to_numeric, errors="coerce").dropna()
    n_missing = len(df) - len(used)
    n = len(used)
    if n == 0:
        raise DataError("cannot estimate the single-arm measure",
                        [Problem("no rows with an observed outcome", field=names[0])])
    level = confidence_level
    km = None
    p_value = math.nan
    n_events: int | None = None
    if measure == "proportion":
        y = used[names[0]].to_numpy()
        if not np.isin(y, (0.0, 1.0)).all():
            raise DataError("cannot estimate the single-arm measure",
                            [Problem("a proportion needs a 0/1 outcome", field=names[0])])
        x = int(y.sum())
        est = x / n
        se = math.sqrt(est * (1 - est) / n)
        ci = _clopper_pearson(x, n, level)
        if null_value is not None:
            p_value = _binom_test_p(x, n, null_value)
        n_events, stat = x, math.nan
    elif measure == "mean":
        y = used[names[0]].to_numpy(dtype=float)
        if n < 2:
            raise DataError("cannot estimate the single-arm measure",
                            [Problem("a mean's interval needs at least 2 rows", field=names[0])])
        est = float(y.mean())
        se = float(y.std(ddof=1) / math.sqrt(n))
        q = float(stats.t.ppf(0.5 + level / 2, n - 1))
        ci = (est - q * se, est + q * se)
        stat = (est - (null_value or 0.0)) / se if se > 0 else math.nan
        if null_value is not None and se > 0:
            p_value = float(2 * stats.t.sf(abs(stat), n - 1))
    else:
        km = kaplan_meier(used, names[0], names[1], conf_level=level, robust=False)
        med = km.medians.iloc[0]
        est, se, ci = float(med["median"]), math.nan, (float(med["lower"]), float(med["upper"]))
        n_events, stat = int(used[names[1]].sum()), math.nan
    row = {"term": measure, "estimate": est, "std_error": se, "ci_lower": ci[0],
           "ci_upper": ci[1], "statistic": stat, "p_value": p_value}
    return SingleArm(
        measure=measure, estimate=float(est), std_error=float(se), ci=(float(ci[0]), float(ci[1])),
        p_value=float(p_value), estimates=pd.DataFrame([row], columns=list(ESTIMATE_COLUMNS)),
        n=n, n_events=n_events, n_missing=int(n_missing), km=km,
        options={"measure": measure, "outcome": outcome, "time": time, "event": event,
                 "confidence_level": level, "null_value": null_value,
                 "interval": {"proportion": "Clopper-Pearson (binom.test)",
                              "mean": "t (t.test)",
                              "median_survival": "Brookmeyer-Crowley, log (survfit)"}[measure]},
    )
