"""Treatment effects in an adjusted (matched or weighted) sample.

``estimate_effect`` takes any :class:`~regmed.evidence.sample.AdjustedSample` and returns the
effect with standard errors that respect the design, computed as the MatchIt and WeightIt
vignettes do in R:

* matching without replacement (``sample.cluster == "subclass"``): cluster-robust variance on
  the matched sets, ``sandwich::vcovCL(fit, cluster = ~subclass)`` with its defaults (HC1 for
  ``lm``, HC0 for ``glm``, each with the G/(G-1) cluster adjustment);
* weighting (``sample.cluster is None``): the individual-level sandwich
  ``sandwich::vcovHC(fit, type = "HC0")``. ``survey::svyglm`` gives the same variance times
  n/(n-1); the HC0 sandwich is WeightIt's default and is the reference here.

The models are ``lm(y ~ treat, weights = weights)`` for the risk and mean differences,
``glm(y ~ treat, quasipoisson(link = "log"))`` for the log risk ratio and
``glm(y ~ treat, quasibinomial())`` for the log odds ratio. Confidence intervals and p-values
use the t distribution with the residual degrees of freedom for the ``lm`` rows and the normal
distribution for the ``glm`` rows, as ``lmtest::coeftest`` and ``lmtest::coefci`` do.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from regmed.errors import DataError, Problem
from regmed.evidence._glm import fit_glm
from regmed.evidence.sample import AdjustedSample
from regmed.results import ESTIMATE_COLUMNS, Result, format_table

if TYPE_CHECKING:
    from regmed.evidence.survival import SurvivalEffect

__all__ = ["Effect", "estimate_effect"]

_KINDS = ("binary", "continuous", "survival")


@dataclasses.dataclass(frozen=True)
class Effect(Result):
    """The effect of treatment on a binary or continuous outcome in an adjusted sample.

    Attributes
    ----------
    kind : str
        ``"binary"`` or ``"continuous"``.
    measure : str
        The primary measure: ``"risk_difference"`` (binary) or ``"mean_difference"``.
    outcome : str
        The outcome column.
    estimates : pandas.DataFrame
        Tidy table (``term, estimate, std_error, ci_lower, ci_upper, statistic, p_value``) with
        rows ``risk_difference``, ``log_risk_ratio``, ``log_odds_ratio`` (binary) or
        ``mean_difference`` (continuous). Ratio rows are on the log scale.
    risk_difference, risk_difference_se, risk_difference_ci, risk_difference_p
        Risk difference (treated minus control), its SE, 95% CI and p-value (binary only).
    risk_ratio, risk_ratio_ci, log_risk_ratio, log_risk_ratio_se
        Risk ratio with CI (exponentiated from the log scale) and its log with SE.
    odds_ratio, odds_ratio_ci, log_odds_ratio, log_odds_ratio_se
        Odds ratio likewise.
    mean_difference, mean_difference_se, mean_difference_ci, mean_difference_p
        Mean difference (continuous only).
    risk_treated, risk_control : float
        Weighted mean outcome per arm (risk for binary outcomes).
    n_treated, n_control : int
        Rows per arm that entered the analysis.
    n_clusters : int or None
        Number of clusters (matched sets) for cluster-robust SEs.
    n_missing_outcome : int
        Rows dropped because the outcome was missing.
    options : dict
        The options used (outcome, kind, conf_level, variance, cluster, method, estimand).
    """

    kind: str
    measure: str
    outcome: str
    estimates: pd.DataFrame
    risk_treated: float
    risk_control: float
    n_treated: int
    n_control: int
    n_clusters: int | None
    n_missing_outcome: int
    options: dict[str, Any]
    risk_difference: float = math.nan
    risk_difference_se: float = math.nan
    risk_difference_ci: tuple[float, float] = (math.nan, math.nan)
    risk_difference_p: float = math.nan
    log_risk_ratio: float = math.nan
    log_risk_ratio_se: float = math.nan
    risk_ratio: float = math.nan
    risk_ratio_ci: tuple[float, float] = (math.nan, math.nan)
    log_odds_ratio: float = math.nan
    log_odds_ratio_se: float = math.nan
    odds_ratio: float = math.nan
    odds_ratio_ci: tuple[float, float] = (math.nan, math.nan)
    mean_difference: float = math.nan
    mean_difference_se: float = math.nan
    mean_difference_ci: tuple[float, float] = (math.nan, math.nan)
    mean_difference_p: float = math.nan

    def measure_value(self, measure: str) -> tuple[float, float, float]:
        """Return ``(estimate, ci_lower, ci_upper)`` of ``measure`` on its natural scale.

        ``measure`` is one of ``risk_difference``, ``risk_ratio``, ``odds_ratio``,
        ``mean_difference``.
        """
        table = {
            "risk_difference": (self.risk_difference, *self.risk_difference_ci),
            "risk_ratio": (self.risk_ratio, *self.risk_ratio_ci),
            "odds_ratio": (self.odds_ratio, *self.odds_ratio_ci),
            "mean_difference": (self.mean_difference, *self.mean_difference_ci),
        }
        if measure not in table or math.isnan(table[measure][0]):
            raise DataError(f"The {self.kind} effect has no measure {measure!r}.")
        est, lo, hi = table[measure]
        return float(est), float(lo), float(hi)

    def summary(self) -> str:
        head = (
            f"Effect of treatment on {self.outcome} ({self.kind}; "
            f"{self.n_treated} treated, {self.n_control} control)"
        )
        return format_table(self.estimates, title=head)


def _row(term: str, est: float, se: float, df: float, conf_level: float) -> dict[str, Any]:
    dist = stats.norm if math.isinf(df) else stats.t(df)
    q = float(dist.ppf(0.5 + conf_level / 2.0))
    stat = est / se if se > 0 else math.nan
    p = float(2.0 * dist.sf(abs(stat))) if se > 0 else math.nan
    return {
        "term": term,
        "estimate": est,
        "std_error": se,
        "ci_lower": est - q * se,
        "ci_upper": est + q * se,
        "statistic": stat,
        "p_value": p,
    }


def _check_sample(sample: AdjustedSample, columns: list[str]) -> list[Problem]:
    problems: list[Problem] = []
    data = sample.data
    for col in [sample.treatment, "weights", *columns]:
        if col not in data.columns:
            problems.append(Problem(f"column {col!r} is not in the adjusted sample", field=col))
    if sample.cluster is not None and sample.cluster not in data.columns:
        problems.append(
            Problem(f"cluster column {sample.cluster!r} is not in the sample", field=sample.cluster)
        )
    if problems:
        return problems
    treat = data[sample.treatment]
    if not treat.isin([0, 1]).all():
        problems.append(Problem("treatment must be coded 0/1", field=sample.treatment))
    elif treat.nunique() < 2:
        problems.append(Problem("both arms must be present", field=sample.treatment))
    if sample.cluster is not None and data[sample.cluster].isna().any():
        problems.append(Problem("cluster column has missing values (as vcovCL, NAs are not "
                                "allowed)", field=sample.cluster))
    w = pd.to_numeric(data["weights"], errors="coerce")
    if w.isna().any() or (w < 0).any():
        problems.append(Problem("weights must be non-negative numbers", field="weights"))
    return problems


def estimate_effect(
    sample: AdjustedSample,
    outcome: str | None = None,
    *,
    kind: str = "binary",
    time: str | None = None,
    event: str | None = None,
    confidence_level: float = 0.95,
    conf_level: float | None = None,
    tau: float | None = None,
) -> Effect | SurvivalEffect:
    """Estimate the treatment effect in a matched or weighted sample.

    Parameters
    ----------
    sample : AdjustedSample
        A ``Matching`` or ``Weighting`` (or any ``AdjustedSample``).
    outcome : str
        Outcome column (0/1 for ``kind="binary"``, numeric for ``"continuous"``).
    kind : {"binary", "continuous", "survival"}
        The outcome type. ``"survival"`` needs ``time`` and ``event`` and returns a
        :class:`~regmed.evidence.survival.SurvivalEffect` (weighted Kaplan-Meier, Cox hazard
        ratio with robust SE, RMST difference at ``tau``).
    time, event : str, optional
        Follow-up time and event indicator (1 = event) for ``kind="survival"``.
    confidence_level : float
        Confidence level of every interval (RD, RR, OR, MD; HR and RMST for survival), as the
        plan's ``achievement_criteria[].confidence_level``. Default 0.95.
    conf_level : float, optional
        Older name of ``confidence_level``; used when given (both given and different is an
        error).
    tau : float, optional
        RMST horizon for ``kind="survival"`` (default: the smaller of the arms' last times).

    Returns
    -------
    Effect or SurvivalEffect

    References
    ----------
    .. [1] Greifer N, Stuart EA. MatchIt vignette "Estimating effects after matching"
       (MatchIt 4.x, CRAN).
    .. [2] Austin PC (2014). The use of propensity score methods with survival or time-to-event
       outcomes. Statistics in Medicine 33:1242-1258.
    .. [3] Zeileis A, Köll S, Graham N (2020). Various versatile variances. JSS 95(1).

    Examples
    --------
    >>> import pandas as pd
    >>> from regmed.evidence.sample import AdjustedSample
    >>> d = pd.DataFrame({"treat": [1, 1, 0, 0], "y": [1, 0, 0, 0],
    ...                   "weights": 1.0, "subclass": [1, 2, 1, 2]})
    >>> s = AdjustedSample(d, d, "treat", (), "ATT", "matching", "subclass")
    >>> round(estimate_effect(s, outcome="y").risk_difference, 2)
    0.5
    """
    if kind not in _KINDS:
        raise DataError(f"kind must be one of {', '.join(_KINDS)}, not {kind!r}.")
    if conf_level is None:
        conf_level = confidence_level
    elif confidence_level not in (0.95, conf_level):
        raise DataError("give confidence_level or conf_level, not two different levels.")
    if not 0.0 < conf_level < 1.0:
        raise DataError("confidence_level must lie between 0 and 1.")
    if kind == "survival":
        from regmed.evidence.survival import estimate_survival_effect

        if time is None or event is None:
            raise DataError("kind='survival' needs both time= and event= columns.")
        return estimate_survival_effect(sample, time=time, event=event, conf_level=conf_level,
                                        tau=tau)
    if outcome is None:
        raise DataError(f"kind={kind!r} needs an outcome= column.")
    problems = _check_sample(sample, [outcome])
    if problems:
        raise DataError("The adjusted sample cannot be analysed.", problems)
    data = sample.data
    y_all = pd.to_numeric(data[outcome], errors="coerce")
    keep = y_all.notna().to_numpy()
    n_missing = int((~keep).sum())
    y = y_all.to_numpy(dtype=float)[keep]
    t = data[sample.treatment].to_numpy(dtype=float)[keep]
    w = data["weights"].to_numpy(dtype=float)[keep]
    cl = None if sample.cluster is None else data[sample.cluster].to_numpy()[keep]
    if kind == "binary" and not np.isin(y, (0.0, 1.0)).all():
        raise DataError(
            "A binary outcome must be coded 0/1.", [Problem("values other than 0/1", field=outcome)]
        )
    if (t == 1).sum() == 0 or (t == 0).sum() == 0:
        raise DataError("Both arms need rows with an observed outcome.")
    x = np.column_stack([np.ones_like(t), t])
    r1 = float(np.average(y[t == 1], weights=w[t == 1]))
    r0 = float(np.average(y[t == 0], weights=w[t == 0]))
    rows: list[dict[str, Any]] = []
    lin = fit_glm(x, y, w, "gaussian", cl)
    diff_row = _row(
        "risk_difference" if kind == "binary" else "mean_difference",
        float(lin.coef[1]), float(math.sqrt(lin.vcov[1, 1])), lin.df_residual, conf_level,
    )
    rows.append(diff_row)
    if kind == "binary":
        ratio_models = (("poisson_log", "log_risk_ratio"), ("binomial_logit", "log_odds_ratio"))
        for family, term in ratio_models:
            bad = (r1, r0) if family == "poisson_log" else (r1, r0, 1.0 - r1, 1.0 - r0)
            if min(bad) <= 0.0:
                rows.append(_row(term, math.nan, math.nan, math.inf, conf_level))
                continue
            fit = fit_glm(x, y, w, family, cl)
            rows.append(_row(term, float(fit.coef[1]), float(math.sqrt(fit.vcov[1, 1])),
                             math.inf, conf_level))
    extra = effect_fields(kind, rows)
    options = _options(sample, outcome=outcome, kind=kind, conf_level=conf_level,
                       confidence_level=conf_level)
    return Effect(
        kind=kind,
        measure="risk_difference" if kind == "binary" else "mean_difference",
        outcome=outcome,
        estimates=pd.DataFrame(rows, columns=list(ESTIMATE_COLUMNS)),
        risk_treated=r1,
        risk_control=r0,
        n_treated=int((t == 1).sum()),
        n_control=int((t == 0).sum()),
        n_clusters=None if cl is None else int(pd.Series(cl).nunique()),
        n_missing_outcome=n_missing,
        options=options,
        **extra,
    )


def effect_fields(kind: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The :class:`Effect` fields of its estimate rows (risk difference, log risk ratio and
    log odds ratio for ``binary``; the mean difference otherwise), ratios exponentiated."""
    if kind == "binary":
        rd, lrr, lor = rows
        return {
            "risk_difference": rd["estimate"], "risk_difference_se": rd["std_error"],
            "risk_difference_ci": (rd["ci_lower"], rd["ci_upper"]),
            "risk_difference_p": rd["p_value"],
            "log_risk_ratio": lrr["estimate"], "log_risk_ratio_se": lrr["std_error"],
            "risk_ratio": math.exp(lrr["estimate"]),
            "risk_ratio_ci": (math.exp(lrr["ci_lower"]), math.exp(lrr["ci_upper"])),
            "log_odds_ratio": lor["estimate"], "log_odds_ratio_se": lor["std_error"],
            "odds_ratio": math.exp(lor["estimate"]),
            "odds_ratio_ci": (math.exp(lor["ci_lower"]), math.exp(lor["ci_upper"])),
        }
    (diff_row,) = rows
    return {
        "mean_difference": diff_row["estimate"],
        "mean_difference_se": diff_row["std_error"],
        "mean_difference_ci": (diff_row["ci_lower"], diff_row["ci_upper"]),
        "mean_difference_p": diff_row["p_value"],
    }


def _options(sample: AdjustedSample, **given: Any) -> dict[str, Any]:
    variance = (
        f"cluster-robust on {sample.cluster} (sandwich::vcovCL)"
        if sample.cluster is not None
        else "HC0 sandwich (sandwich::vcovHC type HC0)"
    )
    out: Mapping[str, Any] = {
        **given,
        "variance": variance,
        "cluster": sample.cluster,
        "method": sample.method,
        "estimand": sample.estimand,
        "treatment": sample.treatment,
    }
    return dict(out)
