"""Events, subjects and analysis times of a two-group survival design (rpact)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
from scipy import optimize

from regmed.design._checks import Checker
from regmed.design.group_sequential import GroupSequentialResult
from regmed.design.sample_size import SampleSizeResult, _common, _groups, _levels, _result, _z

__all__ = ["SurvivalSampleSizeResult", "sample_size_survival"]


@dataclasses.dataclass(frozen=True)
class SurvivalSampleSizeResult(SampleSizeResult):
    """Events and subjects of a two-group survival design (rpact ``getSampleSizeSurvival``).

    ``events`` is the unrounded number of events (Schoenfeld; the maximum with a
    group-sequential design), ``events_rounded`` its ceiling, ``events_by_stage`` the
    cumulative events at each analysis; ``analysis_times`` the calendar time (from the start
    of accrual) at which each analysis expects its events, and ``n_total_by_stage`` the
    subjects enrolled by then (rpact ``analysisTime``, ``numberOfSubjects``);
    ``expected_n_total_h1``, ``expected_events_h1`` and ``study_duration_h1`` the expected
    subjects, events and study duration under H1 (rpact ``expectedNumberOfSubjectsH1``,
    ``expectedEventsH1``, ``studyDuration``); ``lambda_treated``/``lambda_control`` the
    exponential hazards; ``accrual_intensity`` the subjects per time unit in each accrual
    interval; ``event_probability`` the probability that a subject has had the event at the
    end of the study (both groups pooled by allocation).
    """

    events: float
    events_rounded: int
    events_by_stage: list[float]
    analysis_times: list[float]
    expected_events_h1: float
    study_duration_h1: float
    lambda_treated: float
    lambda_control: float
    accrual_intensity: list[float]
    event_probability: float


@dataclasses.dataclass(frozen=True)
class _Accrual:
    """Piecewise-uniform entry: ``edges`` 0 = a_0 < ... < a_m, ``density`` the fraction of all
    subjects entering per time unit in each interval (it integrates to 1)."""

    edges: np.ndarray
    density: np.ndarray

    @property
    def end(self) -> float:
        return float(self.edges[-1])

    def enrolled(self, t: float) -> float:
        """Fraction of the subjects enrolled by calendar time ``t``."""
        if self.end <= 0:
            return 1.0
        width = np.clip(t - self.edges[:-1], 0.0, np.diff(self.edges))
        return float(min(1.0, (self.density * width).sum()))

    def event_probability(self, t: float, lam: float, drop: float) -> float:
        """P(a subject has had the event by calendar time ``t``): the exponential event
        distribution with competing exponential dropout, averaged over the entry times."""
        h = lam + drop

        def integral(x: np.ndarray) -> np.ndarray:  # int_0^x lam/h (1 - exp(-h u)) du
            x = np.maximum(x, 0.0)
            return lam / h * (x + np.expm1(-h * x) / h)

        if self.end <= 0:
            return float(lam / h * -math.expm1(-h * max(t, 0.0)))
        lo, hi = self.edges[:-1], self.edges[1:]
        return float((self.density * (integral(t - lo) - integral(t - hi))).sum())


def _accrual(check: Checker, accrual_time, accrual_intensity) -> _Accrual | None:
    """rpact's ``accrualTime``/``accrualIntensity``: one end time (uniform entry), or the
    interval edges starting at 0 with one relative intensity per interval."""
    if isinstance(accrual_time, Sequence) and not isinstance(accrual_time, str):
        edges = list(accrual_time)
    else:
        edges = [0.0, accrual_time]
    ok = all(check.number(f"accrual_time[{i}]", e, low=0.0) for i, e in enumerate(edges))
    if not ok:
        return None
    edges_f = np.array(edges, dtype=float)
    if len(edges_f) < 2 or edges_f[0] != 0:
        check.add("accrual_time", "give the end of accrual or interval edges starting at 0")
        return None
    if len(edges_f) > 2 and (np.diff(edges_f) <= 0).any():
        check.add("accrual_time", "interval edges must increase")
        return None
    n_int = len(edges_f) - 1
    weights = [1.0] * n_int if accrual_intensity is None else list(accrual_intensity)
    if len(weights) != n_int:
        check.add("accrual_intensity", f"give one intensity per accrual interval ({n_int})")
        return None
    if not all(check.number(f"accrual_intensity[{i}]", w, low=0.0, low_open=True)
               for i, w in enumerate(weights)):
        return None
    w = np.array(weights, dtype=float)
    span = np.diff(edges_f)
    total = float((w * span).sum())
    return _Accrual(edges_f, w / total if total > 0 else w)


def _analysis_time(events_share: float, probability, end: float) -> float:
    """Calendar time at which the expected share of subjects with an event is reached."""
    if events_share >= probability(end) * (1 - 1e-14):
        return end
    return float(optimize.brentq(lambda x: probability(x) - events_share, 0.0, end,
                                 xtol=1e-13, rtol=4 * np.finfo(float).eps))


def sample_size_survival(
    *,
    hazard_ratio: float,
    median_control: float | None = None,
    lambda_control: float | None = None,
    accrual_time: float | Sequence[float],
    follow_up_time: float,
    accrual_intensity: Sequence[float] | None = None,
    alpha: float | None = None,
    power: float | None = None,
    sided: int | None = None,
    allocation_ratio: float = 1.0,
    dropout_rate: float = 0.0,
    dropout_time: float = 12.0,
    design: GroupSequentialResult | None = None,
) -> SurvivalSampleSizeResult:
    """Events (Schoenfeld) and subjects for a log-rank comparison, as rpact.

    Events: ``(1 + r)^2 / r * (z_{alpha/sided} + z_beta)^2 / log(HR)^2`` (times the
    design's inflation factor, split by its information rates). Subjects: entry over the
    accrual period (uniform, or piecewise uniform with relative ``accrual_intensity``), a
    further ``follow_up_time`` of follow-up, exponential event times (hazard
    ``lambda_control`` or ``log(2) / median_control`` in the control group, ``hazard_ratio``
    times that in the treated group) and exponential dropout with ``dropout_rate`` =
    probability of dropping out by ``dropout_time`` (both groups), as
    ``rpact::getSampleSizeSurvival(accrualTime, accrualIntensity, followUpTime,
    dropoutRate1/2, dropoutTime)``. The maximum number of subjects is the maximum number of
    events over the probability of an event by the end of the study. With a design, each
    interim is held at the calendar time when its events are expected, and its subjects are
    those enrolled by then; the expected subjects under H1 weight these by the probability
    of stopping at each stage (rpact ``.getSampleSizeSequentialSurvival``,
    R/f_design_plan_survival.R). rpact finds the analysis times with a root finder of
    tolerance 1e-6 and integrates numerically; here the integrals are exact and the roots
    are found to 1e-13, so subjects per stage may differ from rpact's in the 7th digit.

    Parameters
    ----------
    hazard_ratio : float
        Hazard ratio treated / control under H1.
    median_control, lambda_control : float
        Control-group median survival or hazard (give exactly one).
    accrual_time : float or sequence of float
        End of the accrual period, or the edges of accrual intervals starting at 0 (rpact
        ``accrualTime = c(0, 6, 24)``).
    follow_up_time : float
        Follow-up after accrual ends.
    accrual_intensity : sequence of float, optional
        Relative entry rate in each accrual interval (uniform when omitted); rpact's
        relative ``accrualIntensity``. The absolute intensities are reported.
    alpha, power, sided, allocation_ratio, design
        As in :func:`regmed.design.sample_size_rates` (with a design, events and subjects
        are the maxima).
    dropout_rate, dropout_time : float
        Probability of dropout by ``dropout_time`` (0 means none).

    Returns
    -------
    SurvivalSampleSizeResult

    References
    ----------
    Schoenfeld DA (1981). The asymptotic properties of nonparametric tests for comparing
    survival distributions. Biometrika 68:316-319. Lachin JM, Foulkes MA (1986). Biometrics
    42:507-519. rpact 3.3.4, ``getSampleSizeSurvival``.

    Examples
    --------
    >>> r = sample_size_survival(hazard_ratio=0.6, median_control=18, accrual_time=24,
    ...                          follow_up_time=12)
    >>> round(r.events, 2), r.n_total_rounded
    (120.32, 240)
    """
    check = Checker("sample_size_survival")
    if check.number("hazard_ratio", hazard_ratio, low=0.0, low_open=True) and hazard_ratio == 1:
        check.add("hazard_ratio", "must differ from 1")
    if (median_control is None) == (lambda_control is None):
        check.add("median_control", "give exactly one of median_control and lambda_control")
    elif median_control is not None:
        check.number("median_control", median_control, low=0.0, low_open=True)
    else:
        check.number("lambda_control", lambda_control, low=0.0, low_open=True)
    accrual = _accrual(check, accrual_time, accrual_intensity)
    check.number("follow_up_time", follow_up_time, low=0.0)
    check.number("dropout_rate", dropout_rate, low=0.0, high=1.0, high_open=True)
    check.number("dropout_time", dropout_time, low=0.0, low_open=True)
    alpha, power, sided = _levels(check, design, alpha, power, sided)
    _common(check, alpha, power, sided, allocation_ratio)
    check.raise_if_any()
    assert accrual is not None
    end = accrual.end + float(follow_up_time)
    if end <= 0:
        check.add("follow_up_time", "accrual_time + follow_up_time must be positive")
        check.raise_if_any()
    r = float(allocation_ratio)
    lam2 = (
        float(lambda_control) if lambda_control is not None
        else math.log(2) / float(median_control)  # type: ignore[arg-type]
    )
    lam1 = hazard_ratio * lam2
    za, zb = _z(alpha / sided), _z(1 - power)
    events_fixed = (1 + r) ** 2 / r * (za + zb) ** 2 / math.log(hazard_ratio) ** 2
    drop = -math.log(1 - dropout_rate) / dropout_time if dropout_rate > 0 else 0.0

    def probability(t: float) -> float:
        p1 = accrual.event_probability(t, lam1, drop)
        p2 = accrual.event_probability(t, lam2, drop)
        return (r * p1 + p2) / (1 + r)

    prob = probability(end)
    n_fixed = events_fixed / prob
    inflation = 1.0 if design is None else design.inflation_factor
    rates = [1.0] if design is None else list(design.information_rates)
    stops = [1.0] if design is None else list(design.stopping_probabilities_h1)
    events = events_fixed * inflation
    n_max = n_fixed * inflation
    events_by_stage = [t * events for t in rates]
    times = [_analysis_time(e / n_max, probability, end) for e in events_by_stage[:-1]] + [end]
    by_stage = [accrual.enrolled(t) * n_max for t in times]
    n_treated, n_control = _groups(n_fixed, r)
    options = dict(
        hazard_ratio=hazard_ratio, median_control=median_control, lambda_control=lambda_control,
        accrual_time=list(accrual_time) if isinstance(accrual_time, Sequence) else accrual_time,
        accrual_intensity=None if accrual_intensity is None else list(accrual_intensity),
        follow_up_time=follow_up_time, alpha=alpha, power=power,
        sided=sided, allocation_ratio=allocation_ratio, dropout_rate=dropout_rate,
        dropout_time=dropout_time, design=None if design is None else design.options,
    )
    expected_events = events_fixed * (1.0 if design is None else design.expected_sample_size_h1)
    return _result(
        SurvivalSampleSizeResult, options, n_treated, n_control, design,
        by_stage=by_stage, expected=float(np.dot(by_stage, stops)),
        events=float(events), events_rounded=int(math.ceil(events - 1e-9)),
        events_by_stage=[float(e) for e in events_by_stage],
        analysis_times=[float(t) for t in times],
        expected_events_h1=float(expected_events),
        study_duration_h1=float(np.dot(times, stops)),
        lambda_treated=float(lam1), lambda_control=float(lam2),
        accrual_intensity=[float(d * n_max) for d in accrual.density] if accrual.end > 0
        else [float("inf")],
        event_probability=float(prob),
    )
