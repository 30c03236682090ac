"""Sites and eras: between-site heterogeneity, Mantel-Haenszel effects, calendar-time trends,
and whether the control collection period covers the treated period (index item 6-D-6).

References
----------
.. [1] Cochran WG (1954). The combination of estimates from different experiments. Biometrics
   10:101-129.
.. [2] Higgins JPT, Thompson SG (2002). Quantifying heterogeneity in a meta-analysis. Statistics
   in Medicine 21:1539-1558 (I^2).
.. [3] DerSimonian R, Laird N (1986). Meta-analysis in clinical trials. Controlled Clinical
   Trials 7:177-188.
.. [4] Mantel N, Haenszel W (1959). J Natl Cancer Inst 22:719-748; Robins J, Breslow N,
   Greenland S (1986). Biometrics 42:311-323 (variance of the log MH odds ratio); Greenland S,
   Robins JM (1985). Biometrics 41:55-68 (MH risk ratio); Sato T, Greenland S, Robins JM
   (1989). Biometrics 45:1323-1324 (MH risk difference).
.. [5] Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. JSS 36(3)
   (``escalc``, ``rma``, ``rma.mh``: the conventions reproduced here).
.. [6] Pocock SJ (1976). The combination of randomized and historical controls in clinical
   trials. J Chronic Dis 29:175-188 (conditions on historical controls).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from regmed.errors import DataError, Problem
from regmed.evidence._glm import fit_glm
from regmed.evidence.effects import Effect, estimate_effect
from regmed.evidence.sample import AdjustedSample
from regmed.results import ESTIMATE_COLUMNS, Result, format_table

__all__ = [
    "Heterogeneity",
    "MantelHaenszel",
    "CalendarTrend",
    "PeriodCoverage",
    "cochran_q",
    "site_heterogeneity",
    "site_effects",
    "mantel_haenszel",
    "calendar_trend",
    "period_coverage",
]


@dataclasses.dataclass(frozen=True)
class Heterogeneity(Result):
    """Per-site effects and the test of between-site heterogeneity.

    Attributes
    ----------
    sites : pandas.DataFrame
        ``site, estimate, std_error, ci_lower, ci_upper, weight`` (fixed-effect weight share).
    estimates : pandas.DataFrame
        Tidy rows ``fixed`` (inverse-variance) and ``random`` (DerSimonian-Laird) pooled effects.
    q, q_df, q_p : float
        Cochran's Q, its degrees of freedom (sites - 1) and chi-square p-value.
    i2 : float
        I^2 in percent, max(0, (Q - df) / Q) * 100.
    tau2 : float
        DerSimonian-Laird between-site variance.
    measure : str
        ``risk_difference``, ``log_odds_ratio``, ``log_risk_ratio``, ``mean_difference`` or
        ``given`` (for :func:`cochran_q`).
    options : dict
    """

    sites: pd.DataFrame
    estimates: pd.DataFrame
    q: float
    q_df: int
    q_p: float
    i2: float
    tau2: float
    measure: str
    options: dict[str, Any]

    def summary(self) -> str:
        head = (f"Between-site heterogeneity of the {self.measure}: Q = {self.q:.4g} on "
                f"{self.q_df} df, p = {self.q_p:.4g}, I2 = {self.i2:.1f}%")
        return format_table(self.sites, title=head)


def _z(conf_level: float) -> float:
    return float(stats.norm.ppf(0.5 + conf_level / 2))


def _tidy(term: str, est: float, se: float, z: float) -> dict[str, Any]:
    stat = est / se
    return {"term": term, "estimate": est, "std_error": se, "ci_lower": est - z * se,
            "ci_upper": est + z * se, "statistic": stat,
            "p_value": float(2 * stats.norm.sf(abs(stat)))}


def cochran_q(
    estimates: Sequence[float] | np.ndarray,
    std_errors: Sequence[float] | np.ndarray,
    labels: Sequence[Any] | None = None,
    *,
    conf_level: float = 0.95,
    measure: str = "given",
) -> Heterogeneity:
    """Cochran's Q, I^2 and fixed/random pooled effects from per-site estimates and SEs.

    As ``metafor::rma(yi, vi, method = "FE")`` for Q and the fixed effect, and
    ``method = "DL"`` for tau^2, I^2 and the random-effects estimate.

    References
    ----------
    .. [1] Cochran WG (1954). Biometrics 10:101-129.
    .. [2] Higgins JPT, Thompson SG (2002). Statistics in Medicine 21:1539-1558.
    .. [3] DerSimonian R, Laird N (1986). Controlled Clinical Trials 7:177-188.

    Examples
    --------
    >>> h = cochran_q([0.1, 0.3, 0.2], [0.05, 0.05, 0.05])
    >>> round(h.q, 2), round(h.i2, 1)
    (8.0, 75.0)
    """
    y = np.asarray(estimates, dtype=float)
    se = np.asarray(std_errors, dtype=float)
    labs = list(labels) if labels is not None else list(range(1, len(y) + 1))
    problems = []
    if len(y) != len(se) or len(y) != len(labs):
        problems.append(Problem("estimates, std_errors and labels differ in length"))
    elif len(y) < 2:
        problems.append(Problem("at least two sites are needed"))
    elif not (np.isfinite(y).all() and np.isfinite(se).all() and (se > 0).all()):
        problems.append(Problem("estimates must be finite and std_errors positive"))
    if problems:
        raise DataError("The heterogeneity test cannot be computed.", problems)
    w = 1 / se**2
    fe = float(np.sum(w * y) / np.sum(w))
    q = float(np.sum(w * (y - fe) ** 2))
    df = len(y) - 1
    tau2 = max(0.0, (q - df) / (np.sum(w) - np.sum(w**2) / np.sum(w)))
    wr = 1 / (se**2 + tau2)
    re = float(np.sum(wr * y) / np.sum(wr))
    z = _z(conf_level)
    sites = pd.DataFrame({"site": labs, "estimate": y, "std_error": se, "ci_lower": y - z * se,
                          "ci_upper": y + z * se, "weight": w / w.sum()})
    est = pd.DataFrame([_tidy("fixed", fe, float(math.sqrt(1 / w.sum())), z),
                        _tidy("random", re, float(math.sqrt(1 / wr.sum())), z)],
                       columns=list(ESTIMATE_COLUMNS))
    return Heterogeneity(
        sites=sites, estimates=est, q=q, q_df=df, q_p=float(stats.chi2.sf(q, df)),
        i2=max(0.0, (q - df) / q) * 100 if q > 0 else 0.0, tau2=float(tau2), measure=measure,
        options={"conf_level": conf_level},
    )


def _counts(df: pd.DataFrame, outcome: str, treatment: str, stratum: str) -> pd.DataFrame:
    problems = [Problem(f"column {c!r} is not in the data", field=c)
                for c in (outcome, treatment, stratum) if c not in df.columns]
    if problems:
        raise DataError("The stratified analysis cannot be run.", problems)
    d = df[[outcome, treatment, stratum]].dropna()
    if not d[treatment].isin([0, 1]).all():
        problems.append(Problem("treatment must be 0/1", field=treatment))
    if not d[outcome].isin([0, 1]).all():
        problems.append(Problem("a binary outcome must be 0/1", field=outcome))
    if problems:
        raise DataError("The stratified analysis cannot be run.", problems)
    t = d[treatment].astype(int)
    y = d[outcome].astype(int)
    g = pd.DataFrame({"s": d[stratum], "a": y * t, "n1": t, "c": y * (1 - t), "n0": 1 - t})
    tab = g.groupby("s", sort=True).sum()
    tab["b"] = tab["n1"] - tab["a"]
    tab["d"] = tab["n0"] - tab["c"]
    return tab.astype(float)


def site_heterogeneity(
    df: pd.DataFrame,
    outcome: str,
    treatment: str,
    site: str,
    *,
    measure: str = "risk_difference",
    conf_level: float = 0.95,
) -> Heterogeneity:
    """Effect per site and Cochran's Q / I^2 test of between-site heterogeneity.

    Per-site effects follow ``metafor::escalc``: for binary outcomes (``risk_difference``,
    ``log_risk_ratio``, ``log_odds_ratio``) 1/2 is added to every cell of a site's 2x2 table
    that has a zero cell (``add = 1/2, to = "only0"``); ``mean_difference`` uses the sample
    SDs (``vi = sd1^2/n1 + sd0^2/n0``). Sites lacking an arm are dropped (``options``).

    References
    ----------
    .. [1] Cochran WG (1954). Biometrics 10:101-129.
    .. [2] Viechtbauer W (2010). JSS 36(3).
    """
    measures = ("risk_difference", "log_risk_ratio", "log_odds_ratio", "mean_difference")
    if measure not in measures:
        raise DataError(f"measure must be one of {', '.join(measures)}, not {measure!r}.")
    if measure == "mean_difference":
        cols = [outcome, treatment, site]
        missing = [Problem(f"column {c!r} is not in the data", field=c)
                   for c in cols if c not in df.columns]
        if missing:
            raise DataError("The stratified analysis cannot be run.", missing)
        d = df[cols].dropna()
        st = d.groupby([site, treatment])[outcome].agg(["mean", "var", "count"]).unstack()
        ok = (st["count"].fillna(0) >= 2).all(axis=1)
        st = st[ok]
        yi = st[("mean", 1)] - st[("mean", 0)]
        vi = st[("var", 1)] / st[("count", 1)] + st[("var", 0)] / st[("count", 0)]
        labels = list(st.index)
    else:
        tab = _counts(df, outcome, treatment, site)
        ok = (tab["n1"] > 0) & (tab["n0"] > 0)
        tab = tab[ok]
        zero = (tab[["a", "b", "c", "d"]] == 0).any(axis=1)
        a, b, c, dd = (tab[k] + 0.5 * zero for k in ("a", "b", "c", "d"))
        n1, n0 = a + b, c + dd
        if measure == "risk_difference":
            yi = a / n1 - c / n0
            vi = a * b / n1**3 + c * dd / n0**3
        elif measure == "log_risk_ratio":
            yi = np.log((a / n1) / (c / n0))
            vi = 1 / a - 1 / n1 + 1 / c - 1 / n0
        else:
            yi = np.log(a * dd / (b * c))
            vi = 1 / a + 1 / b + 1 / c + 1 / dd
        labels = list(tab.index)
    res = cochran_q(np.asarray(yi, float), np.sqrt(np.asarray(vi, float)), labels,
                    conf_level=conf_level, measure=measure)
    dropped = [str(s) for s, keep in ok.items() if not keep]
    return dataclasses.replace(res, options={"outcome": outcome, "treatment": treatment,
                                             "site": site, "measure": measure,
                                             "conf_level": conf_level,
                                             "dropped_sites": dropped})


def site_effects(
    sample: AdjustedSample,
    outcome: str,
    site: str,
    *,
    kind: str = "binary",
    measure: str | None = None,
    conf_level: float = 0.95,
) -> Heterogeneity:
    """Effect per site within an adjusted sample, with design SEs, and their heterogeneity.

    Each site's rows of ``sample.data`` are analysed with :func:`estimate_effect` (cluster-robust
    on matched sets, or the HC0 sandwich for weights); the per-site estimates are then pooled
    and tested with :func:`cochran_q`. For matching, keep matched sets within one site (match
    exactly on site) so that no cluster is split.

    Parameters
    ----------
    sample : AdjustedSample
    outcome, site : str
        Outcome column and site column (in ``sample.data``).
    kind : {"binary", "continuous"}
    measure : str, optional
        A term of the effect's ``estimates`` table: ``risk_difference`` (default for binary),
        ``log_risk_ratio``, ``log_odds_ratio`` or ``mean_difference`` (continuous).

    References
    ----------
    .. [1] Cochran WG (1954). Biometrics 10:101-129.
    .. [2] Higgins JPT, Thompson SG (2002). Statistics in Medicine 21:1539-1558.
    """
    if site not in sample.data.columns:
        raise DataError("The site column is missing.",
                        [Problem(f"column {site!r} is not in the adjusted sample", field=site)])
    term = measure or ("risk_difference" if kind == "binary" else "mean_difference")
    labels, ests, ses, skipped = [], [], [], []
    for level, rows in sample.data.groupby(site, sort=True):
        part = dataclasses.replace(sample, data=rows)
        if rows[sample.treatment].nunique() < 2:
            skipped.append(str(level))
            continue
        eff = estimate_effect(part, outcome=outcome, kind=kind, conf_level=conf_level)
        assert isinstance(eff, Effect)
        row = eff.estimates.set_index("term")
        if term not in row.index:
            raise DataError(f"The {kind} effect has no term {term!r}.")
        est, se = float(row.loc[term, "estimate"]), float(row.loc[term, "std_error"])
        if not (math.isfinite(est) and math.isfinite(se) and se > 0):
            skipped.append(str(level))
            continue
        labels.append(level)
        ests.append(est)
        ses.append(se)
    res = cochran_q(ests, ses, labels, conf_level=conf_level, measure=term)
    return dataclasses.replace(res, options={"outcome": outcome, "site": site, "kind": kind,
                                             "measure": term, "conf_level": conf_level,
                                             "dropped_sites": skipped,
                                             "variance": sample.cluster or "HC0"})


@dataclasses.dataclass(frozen=True)
class MantelHaenszel(Result):
    """Mantel-Haenszel effects with site (or era) as stratum.

    Attributes
    ----------
    estimates : pandas.DataFrame
        Tidy rows ``risk_difference``, ``log_risk_ratio``, ``log_odds_ratio``.
    odds_ratio, odds_ratio_ci, risk_ratio, risk_ratio_ci, risk_difference, risk_difference_ci
        On their natural scales.
    cmh_statistic, cmh_p : float
        Cochran-Mantel-Haenszel chi-square (with continuity correction, as
        ``mantelhaen.test``) and its p-value.
    strata : int
    options : dict
    """

    estimates: pd.DataFrame
    odds_ratio: float
    odds_ratio_ci: tuple[float, float]
    risk_ratio: float
    risk_ratio_ci: tuple[float, float]
    risk_difference: float
    risk_difference_ci: tuple[float, float]
    cmh_statistic: float
    cmh_p: float
    strata: int
    options: dict[str, Any]

    def summary(self) -> str:
        return format_table(self.estimates, title=f"Mantel-Haenszel ({self.strata} strata)")


def mantel_haenszel(
    df: pd.DataFrame,
    outcome: str,
    treatment: str,
    stratum: str,
    *,
    conf_level: float = 0.95,
    correct: bool = True,
) -> MantelHaenszel:
    """Mantel-Haenszel odds ratio, risk ratio and risk difference over strata (e.g. sites).

    Variances: Robins-Breslow-Greenland (log OR), Greenland-Robins (log RR), Sato (RD), as
    ``metafor::rma.mh``; the CMH test as ``mantelhaen.test`` (``correct`` continuity
    correction).

    References
    ----------
    .. [1] Mantel N, Haenszel W (1959). J Natl Cancer Inst 22:719-748.
    .. [2] Robins J, Breslow N, Greenland S (1986). Biometrics 42:311-323.
    .. [3] Greenland S, Robins JM (1985). Biometrics 41:55-68.
    .. [4] Sato T, Greenland S, Robins JM (1989). Biometrics 45:1323-1324.
    """
    tab = _counts(df, outcome, treatment, stratum)
    tab = tab[(tab["n1"] > 0) & (tab["n0"] > 0)]
    if len(tab) == 0:
        raise DataError("No stratum has both arms.", [Problem("no usable strata", field=stratum)])
    a, b, c, d, n1, n0 = (tab[k].to_numpy() for k in ("a", "b", "c", "d", "n1", "n0"))
    n = n1 + n0
    z = _z(conf_level)
    # odds ratio (RBG)
    r, s = a * d / n, b * c / n
    p, q = (a + d) / n, (b + c) / n
    lor = math.log(r.sum() / s.sum())
    v_or = (np.sum(p * r) / (2 * r.sum() ** 2) + np.sum(p * s + q * r) / (2 * r.sum() * s.sum())
            + np.sum(q * s) / (2 * s.sum() ** 2))
    # risk ratio (Greenland-Robins)
    rr_num, rr_den = np.sum(a * n0 / n), np.sum(c * n1 / n)
    lrr = math.log(rr_num / rr_den)
    v_rr = np.sum((n1 * n0 * (a + c) - a * c * n) / n**2) / (rr_num * rr_den)
    # risk difference (Sato 1989)
    wsum = np.sum(n1 * n0 / n)
    rd = float(np.sum((a * n0 - c * n1) / n) / wsum)
    pk = (n1**2 * c - n0**2 * a + n1 * n0 * (n0 - n1) / 2) / n**2
    qk = (a * (n0 - c) + c * (n1 - a)) / (2 * n)
    v_rd = (rd * np.sum(pk) + np.sum(qk)) / wsum**2
    # CMH test
    m1 = a + c
    ea = n1 * m1 / n
    va = n1 * n0 * m1 * (n - m1) / (n**2 * (n - 1))
    dev = abs(np.sum(a - ea)) - (0.5 if correct else 0.0)
    cmh = float(dev**2 / np.sum(va))
    rows = [_tidy("risk_difference", rd, math.sqrt(v_rd), z),
            _tidy("log_risk_ratio", lrr, math.sqrt(v_rr), z),
            _tidy("log_odds_ratio", lor, math.sqrt(v_or), z)]
    est = pd.DataFrame(rows, columns=list(ESTIMATE_COLUMNS))
    return MantelHaenszel(
        estimates=est,
        odds_ratio=math.exp(lor),
        odds_ratio_ci=(math.exp(rows[2]["ci_lower"]), math.exp(rows[2]["ci_upper"])),
        risk_ratio=math.exp(lrr),
        risk_ratio_ci=(math.exp(rows[1]["ci_lower"]), math.exp(rows[1]["ci_upper"])),
        risk_difference=rd,
        risk_difference_ci=(rows[0]["ci_lower"], rows[0]["ci_upper"]),
        cmh_statistic=cmh,
        cmh_p=float(stats.chi2.sf(cmh, 1)),
        strata=len(tab),
        options={"outcome": outcome, "treatment": treatment, "stratum": stratum,
                 "conf_level": conf_level, "correct": correct},
    )


@dataclasses.dataclass(frozen=True)
class CalendarTrend(Result):
    """Outcome rate by calendar year and a logistic trend test.

    Attributes
    ----------
    by_year : pandas.DataFrame
        ``year, n, events, rate``.
    estimates : pandas.DataFrame
        Tidy row ``year``: log odds ratio per calendar year from ``glm(y ~ year, binomial)``,
        model-based SE, Wald z and p-value.
    options : dict
    """

    by_year: pd.DataFrame
    estimates: pd.DataFrame
    options: dict[str, Any]

    def summary(self) -> str:
        return format_table(self.by_year, title="Outcome rate by calendar year")


def calendar_trend(
    df: pd.DataFrame, outcome: str, date: str, *, conf_level: float = 0.95
) -> CalendarTrend:
    """Calendar-time diagnostic for historical controls: rate per year and a trend test.

    ``date`` may hold dates (the calendar year is taken) or years as numbers.

    References
    ----------
    .. [1] Pocock SJ (1976). J Chronic Dis 29:175-188.
    """
    problems = [Problem(f"column {c!r} is not in the data", field=c)
                for c in (outcome, date) if c not in df.columns]
    if problems:
        raise DataError("The calendar-time diagnostic cannot be run.", problems)
    d = df[[outcome, date]].dropna()
    col = d[date]
    if pd.api.types.is_numeric_dtype(col):
        year = col.astype(float)
    else:
        year = pd.to_datetime(col, errors="coerce").dt.year.astype(float)
        if year.isna().any():
            problems.append(Problem("dates could not be read", field=date))
    if not d[outcome].isin([0, 1]).all():
        problems.append(Problem("a binary outcome must be 0/1", field=outcome))
    if not problems and year.nunique() < 2:
        problems.append(Problem("at least two calendar years are needed", field=date))
    if problems:
        raise DataError("The calendar-time diagnostic cannot be run.", problems)
    y = d[outcome].to_numpy(float)
    x = np.column_stack([np.ones(len(y)), year.to_numpy()])
    fit = fit_glm(x, y, np.ones(len(y)), "binomial_logit", None)
    by = (pd.DataFrame({"year": year.astype(int), "y": y}).groupby("year")["y"]
          .agg(n="count", events="sum", rate="mean").reset_index())
    est = pd.DataFrame([_tidy("year", float(fit.coef[1]), float(math.sqrt(fit.bread[1, 1])),
                              _z(conf_level))], columns=list(ESTIMATE_COLUMNS))
    return CalendarTrend(by_year=by, estimates=est,
                         options={"outcome": outcome, "date": date, "conf_level": conf_level})


@dataclasses.dataclass(frozen=True)
class PeriodCoverage(Result):
    """Whether the control collection period covers the treated period (index item 6-D-6).

    Attributes
    ----------
    covers : bool
        True when controls were collected from (at or before) the first treated date until
        (at or after) the last.
    treated_start, treated_end, control_start, control_end : datetime.date
    gap_before_days : int
        Days the control period starts after the treated period does (0 if not).
    gap_after_days : int
        Days the control period ends before the treated period does (0 if not).
    overlap_days : int
        Days both periods share (0 if disjoint).
    overlap_fraction : float
        Share of the treated period's days covered by the control period.
    """

    covers: bool
    treated_start: dt.date
    treated_end: dt.date
    control_start: dt.date
    control_end: dt.date
    gap_before_days: int
    gap_after_days: int
    overlap_days: int
    overlap_fraction: float


def _dates(values: Iterable[Any], field: str) -> pd.Series:
    s = pd.to_datetime(pd.Series(list(values)), errors="coerce")
    if s.notna().sum() == 0:
        raise DataError("The period check needs dates.",
                        [Problem("no readable dates", field=field)])
    return s.dropna()


def period_coverage(treated_dates: Iterable[Any], control_dates: Iterable[Any]) -> PeriodCoverage:
    """Check that the control collection period covers the treated period, with the gaps.

    Periods run from the earliest to the latest date, both inclusive (day resolution).

    Examples
    --------
    >>> pc = period_coverage(["2021-04-01", "2023-03-31"], ["2020-01-01", "2022-12-31"])
    >>> pc.covers, pc.gap_after_days
    (False, 90)
    """
    t = _dates(treated_dates, "treated_dates")
    c = _dates(control_dates, "control_dates")
    ts, te = t.min().normalize(), t.max().normalize()
    cs, ce = c.min().normalize(), c.max().normalize()
    before = max(0, (cs - ts).days)
    after = max(0, (te - ce).days)
    overlap = max(0, (min(te, ce) - max(ts, cs)).days + 1)
    length = (te - ts).days + 1
    return PeriodCoverage(
        covers=before == 0 and after == 0,
        treated_start=ts.date(), treated_end=te.date(),
        control_start=cs.date(), control_end=ce.date(),
        gap_before_days=before, gap_after_days=after, overlap_days=overlap,
        overlap_fraction=overlap / length,
    )
