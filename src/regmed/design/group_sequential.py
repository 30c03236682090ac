"""Group-sequential designs with Lan-DeMets alpha spending and beta-spending futility bounds."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
from scipy import optimize, stats

from regmed.design._base import DesignResult
from regmed.design._checks import Checker
from regmed.design._recursion import Walk
from regmed.design.spending import SPENDING_TYPES, spending_value
from regmed.errors import ConvergenceError, Problem

__all__ = ["GroupSequentialResult", "group_sequential", "rejection_probabilities"]

_UPPER_CAP = 40.0
#: rpact reports an efficacy bound above this value as infinite (no stopping at that stage).
EFFICACY_CAP = 7.5
#: rpact's lowest futility bound (``C_FUTILITY_BOUNDS_DEFAULT``).
FUTILITY_FLOOR = -6.0


@dataclasses.dataclass(frozen=True)
class GroupSequentialResult(DesignResult):
    """A group-sequential design (rpact ``getDesignGroupSequential`` + characteristics).

    Attributes
    ----------
    information_rates : list of float
        Information fraction of each stage (the last is 1).
    critical_values : list of float
        Efficacy boundaries on the z scale (two-sided: reject when ``|Z_k| >= c_k``).
    alpha_spent : list of float
        Cumulative type I error spent (both sides together when ``sided = 2``).
    stage_levels : list of float
        One-sided nominal significance level of each stage, ``1 - Phi(c_k)``.
    futility_bounds : list of float
        Non-binding futility bounds on the z scale for stages 1..K-1 (empty without).
    beta_spent : list of float
        Cumulative type II error spent (empty without futility bounds).
    n_fixed : float
        ``(z_{alpha/sided} + z_beta)^2``, the squared drift of the fixed design.
    shift : float
        The squared drift at full information that gives power ``1 - beta``.
    inflation_factor : float
        ``shift / n_fixed``: maximum sample size relative to the fixed design.
    power : list of float
        Cumulative probability of rejecting H0 by each stage under H1.
    futility_probabilities : list of float
        Probability of stopping for futility at each interim under H1 (empty without).
    expected_sample_size_h0, expected_sample_size_h1 : float
        Expected sample size relative to the fixed design, under H0 and H1.
    stopping_probabilities_h1 : list of float
        Probability under H1 that the trial ends at each stage (efficacy on either side or
        futility; the last stage takes the rest), the weights of rpact's expected number of
        subjects and study duration under H1.
    """

    information_rates: list[float]
    critical_values: list[float]
    alpha_spent: list[float]
    stage_levels: list[float]
    futility_bounds: list[float]
    beta_spent: list[float]
    n_fixed: float
    shift: float
    inflation_factor: float
    power: list[float]
    futility_probabilities: list[float]
    expected_sample_size_h0: float
    expected_sample_size_h1: float
    stopping_probabilities_h1: list[float]

    @property
    def k_max(self) -> int:
        return len(self.information_rates)

    def stages(self):
        """The design as a frame: one row per stage."""
        import pandas as pd

        k = self.k_max
        fut = list(self.futility_bounds) + [math.nan] * (k - len(self.futility_bounds))
        beta = list(self.beta_spent) or [math.nan] * k
        return pd.DataFrame(
            {
                "stage": np.arange(1, k + 1),
                "information_rate": self.information_rates,
                "critical_value": self.critical_values,
                "stage_level": self.stage_levels,
                "alpha_spent": self.alpha_spent,
                "futility_bound": fut,
                "beta_spent": beta,
                "power": self.power,
            }
        )

    def summary(self) -> str:
        from regmed.results import format_table

        head = (
            f"GroupSequentialResult: {self.options['spending']} spending, "
            f"alpha {self.options['alpha']}, sided {self.options['sided']}, "
            f"inflation factor {self.inflation_factor:.6g}, n_fixed {self.n_fixed:.6g}"
        )
        return head + "\n" + format_table(self.stages(), digits=6)


def _drift_walk(rates: np.ndarray, theta: float) -> Walk:
    increments = np.diff(np.concatenate([[0.0], rates]))
    return Walk(theta * increments, increments)


def rejection_probabilities(
    rates: Sequence[float] | np.ndarray,
    critical_values: Sequence[float],
    theta: float,
    *,
    sided: int = 1,
    futility_bounds: Sequence[float] = (),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stage-wise probabilities of crossing each boundary when the drift is ``theta``.

    ``Z_k`` has mean ``theta sqrt(t_k)``. Returns (upper crossings, lower crossings,
    futility stops) per stage; two-sided designs cross below at ``-c_k``.
    """
    t = np.asarray(rates, dtype=float)
    walk = _drift_walk(t, theta)
    up, low, fut = [], [], []
    for k, (tk, c) in enumerate(zip(t, critical_values, strict=True)):
        s = math.sqrt(tk)
        lower_eff = -c * s if sided == 2 else -math.inf
        f = futility_bounds[k] * s if (sided == 1 and k < len(futility_bounds)) else -math.inf
        pu, pl = walk.probabilities(c * s, max(lower_eff, f))
        up.append(pu)
        if sided == 2:
            low.append(pl)
            fut.append(0.0)
        else:
            low.append(0.0)
            fut.append(pl)
        if k < len(t) - 1:
            walk.advance(c * s, max(lower_eff, f))
    return np.array(up), np.array(low), np.array(fut)


def _critical_values(t: np.ndarray, spent: np.ndarray, sided: int) -> list[float]:
    walk = _drift_walk(t, 0.0)
    values = []
    previous = 0.0
    for k, tk in enumerate(t):
        s = math.sqrt(tk)
        target = (spent[k] - previous) / sided
        previous = spent[k]

        def excess(c: float, s: float = s, target: float = target) -> float:
            return walk.probabilities(c * s, -c * s if sided == 2 else -math.inf)[0] - target

        if target <= 0 or excess(_UPPER_CAP) >= 0:
            c = _UPPER_CAP
        else:
            lo = -_UPPER_CAP if sided == 1 else 0.0
            c = optimize.brentq(excess, lo, _UPPER_CAP, xtol=1e-12, rtol=1e-14)
        if c > EFFICACY_CAP:
            c = math.inf
        values.append(float(c))
        if k < len(t) - 1:
            walk.advance(c * s, -c * s if sided == 2 else -math.inf)
    return values


def _futility_for_drift(t, crit, beta_spent, theta) -> tuple[list[float], float]:
    """Futility bounds spending ``beta_spent`` under drift ``theta``; return the final gap."""
    walk = _drift_walk(t, theta)
    bounds: list[float] = []
    previous = 0.0
    for k, tk in enumerate(t):
        s = math.sqrt(tk)
        target = beta_spent[k] - previous
        previous = beta_spent[k]
        if k == len(t) - 1:
            return bounds, walk.probabilities(math.inf, crit[k] * s)[1] - target

        def excess(b: float, s: float = s, target: float = target) -> float:
            return walk.probabilities(math.inf, b * s)[1] - target

        top = min(crit[k], _UPPER_CAP)
        if excess(top) <= 0:
            b = top
        elif excess(FUTILITY_FLOOR) >= 0:
            b = FUTILITY_FLOOR
        else:
            b = optimize.brentq(excess, FUTILITY_FLOOR, top, xtol=1e-12, rtol=1e-14)
        bounds.append(float(b))
        walk.advance(crit[k] * s, b * s)
    return bounds, 0.0


def _root(function, hi: float, field: str) -> float:
    """The drift where ``function`` changes sign in (0, hi), or a ConvergenceError."""
    if function(0.0) * function(hi) > 0:
        raise ConvergenceError(
            "group_sequential: no drift reaches the requested power",
            [Problem("the design's power equation has no root; check beta and the bounds",
                     field=field)],
        )
    return float(optimize.brentq(function, 0.0, hi, xtol=1e-12, rtol=1e-14))


def group_sequential(
    *,
    information_rates: Sequence[float],
    alpha: float = 0.025,
    beta: float = 0.2,
    sided: int = 1,
    spending: str = "OF",
    gamma: float | None = None,
    futility: str | None = None,
    futility_gamma: float | None = None,
) -> GroupSequentialResult:
    """Lan-DeMets alpha-spending group-sequential design, as rpact.

    Efficacy boundaries spend ``alpha`` with the chosen spending function; each boundary
    solves the crossing probability of the canonical joint normal distribution, computed by
    recursive numerical integration (Armitage, McPherson and Rowe). Two-sided designs are
    symmetric and spend ``alpha / 2`` on each side. As in rpact, a bound above 7.5 (a stage
    that spends almost nothing) is reported as infinite, and futility bounds are floored
    at -6. With ``futility`` the design gets
    non-binding futility bounds that spend ``beta`` (rpact ``typeBetaSpending``); the drift
    is then chosen so that the last futility bound meets the last critical value. The
    inflation factor is rpact's ``getDesignCharacteristics(design)$inflationFactor``.
    When a futility bound would exceed the efficacy bound at an interim it is set equal to
    it (rpact's ``betaAdjustment`` re-spends beta in that rare case; not reproduced).

    Parameters
    ----------
    information_rates : sequence of float
        Increasing information fractions, the last equal to 1 (2 to 10 stages, or 1).
    alpha : float
        Total type I error (both sides together when ``sided = 2``).
    beta : float
        Type II error used for the characteristics and the futility bounds.
    sided : {1, 2}
        One-sided or symmetric two-sided boundaries.
    spending : {"OF", "P", "HSD"}
        O'Brien-Fleming-type, Pocock-type or Hwang-Shih-DeCani alpha spending.
    gamma : float, optional
        HSD parameter (-10 to 5), required with ``spending="HSD"``.
    futility : {"OF", "P", "HSD"}, optional
        Beta-spending family for non-binding futility bounds (one-sided designs only).
    futility_gamma : float, optional
        HSD parameter of the beta spending.

    Returns
    -------
    GroupSequentialResult

    References
    ----------
    Armitage P, McPherson CK, Rowe BC (1969). Repeated significance tests on accumulating
    data. JRSS A 132:235-244. Lan KKG, DeMets DL (1983). Biometrika 70:659-663. Jennison C,
    Turnbull BW (2000). Group Sequential Methods with Applications to Clinical Trials,
    ch. 7 and 19. Wassmer G, Brannath W (2016), Springer. rpact 3.3.4,
    ``getDesignGroupSequential``, ``getDesignCharacteristics``.

    Examples
    --------
    >>> d = group_sequential(information_rates=[0.5, 1], alpha=0.025, spending="OF")
    >>> [round(c, 4) for c in d.critical_values]
    [2.9626, 1.9686]
    """
    check = Checker("group_sequential")
    rates: list[float] = []
    try:
        rates = [float(x) for x in information_rates]
    except (TypeError, ValueError):
        check.add("information_rates", "must be a sequence of numbers")
    if rates:
        if not 1 <= len(rates) <= 20:
            check.add("information_rates", "must have 1 to 20 stages")
        if any(not (0 < x <= 1) for x in rates) or any(np.diff(rates) <= 0):
            check.add("information_rates", "must increase strictly within (0, 1]")
        elif rates[-1] != 1:
            check.add("information_rates", "the last information rate must be 1")
    elif not check.problems:
        check.add("information_rates", "must not be empty")
    check.probability("alpha", alpha)
    check.probability("beta", beta)
    check.sided(sided)
    check.choice("spending", spending, SPENDING_TYPES)
    if spending == "HSD":
        if gamma is None:
            check.add("gamma", "is required with spending='HSD'")
        else:
            check.number("gamma", gamma, low=-10.0, high=5.0)
    elif gamma is not None:
        check.add("gamma", "is only used with spending='HSD'")
    if futility is not None:
        check.choice("futility", futility, SPENDING_TYPES)
        if sided == 2:
            check.add("futility", "futility bounds are available for one-sided designs only")
        if futility == "HSD":
            if futility_gamma is None:
                check.add("futility_gamma", "is required with futility='HSD'")
            else:
                check.number("futility_gamma", futility_gamma, low=-10.0, high=5.0)
    elif futility_gamma is not None:
        check.add("futility_gamma", "is only used with futility='HSD'")
    check.raise_if_any()
    if futility is not None and len(rates) < 2:
        check.add("futility", "futility bounds need at least two stages")
        check.raise_if_any()

    t = np.asarray(rates)
    per_side = alpha / sided
    spent_side = np.array([spending_value(spending, per_side, x, gamma) for x in t])
    crit = _critical_values(t, spent_side * sided, sided)
    n_fixed = (stats.norm.isf(per_side) + stats.norm.isf(beta)) ** 2

    futility_bounds: list[float] = []
    beta_spent: list[float] = []
    if futility is not None:
        beta_spent = [spending_value(futility, beta, x, futility_gamma) for x in t]

        def gap(theta: float) -> float:
            return _futility_for_drift(t, crit, beta_spent, theta)[1]

        hi = 1.0
        while gap(hi) > 0 and hi < 100:
            hi *= 2
        theta = _root(gap, hi, "futility")
        futility_bounds = _futility_for_drift(t, crit, beta_spent, theta)[0]
    else:

        def shortfall(theta: float) -> float:
            up, _, _ = rejection_probabilities(t, crit, theta, sided=sided)
            return float(up.sum()) - (1 - beta)

        hi = 1.0
        while shortfall(hi) < 0 and hi < 100:
            hi *= 2
        theta = _root(shortfall, hi, "beta")

    up1, low1, fut1 = rejection_probabilities(t, crit, theta, sided=sided,
                                           futility_bounds=futility_bounds)
    up0, low0, fut0 = rejection_probabilities(t, crit, 0.0, sided=sided,
                                              futility_bounds=futility_bounds)
    shift = theta**2

    def stopping(stop: np.ndarray) -> np.ndarray:
        stop = stop.copy()
        stop[-1] = 1.0 - stop[:-1].sum()
        return stop

    def expected(stop: np.ndarray) -> float:
        return float(shift / n_fixed * (stopping(stop) * t).sum())

    options = dict(
        information_rates=rates, alpha=alpha, beta=beta, sided=sided, spending=spending,
        gamma=gamma, futility=futility, futility_gamma=futility_gamma,
    )
    return GroupSequentialResult(
        options=options,
        information_rates=rates,
        critical_values=crit,
        alpha_spent=[float(x) for x in spent_side * sided],
        stage_levels=[float(stats.norm.sf(c)) for c in crit],
        futility_bounds=futility_bounds,
        beta_spent=[float(x) for x in beta_spent],
        n_fixed=float(n_fixed),
        shift=float(shift),
        inflation_factor=float(shift / n_fixed),
        power=[float(x) for x in np.cumsum(up1)],
        futility_probabilities=[float(x) for x in fut1[:-1]] if futility else [],
        expected_sample_size_h0=expected(up0 + low0 + fut0),
        expected_sample_size_h1=expected(up1 + low1 + fut1),
        stopping_probabilities_h1=[float(x) for x in stopping(up1 + low1 + fut1)],
    )
