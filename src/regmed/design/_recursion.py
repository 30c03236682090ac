"""Numerical integration of a Gaussian random walk with stopping boundaries.

The canonical joint distribution of group-sequential statistics (Jennison and Turnbull 2000,
ch. 19; Armitage, McPherson and Rowe 1969): the score process ``S_k = S_{k-1} + X_k`` has
independent increments ``X_k ~ N(m_k, v_k)``; at stage ``k`` the walk stops upward when
``S_k >= upper_k`` and downward when ``S_k <= lower_k``. The density of ``S_k`` on the
continuation region is carried from stage to stage on a Simpson grid.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

__all__ = ["Walk"]

_SD_RANGE = 10.0  # the continuation grid spans mean +- 10 standard deviations
_POINTS_PER_SD = 24.0
_MAX_POINTS = 3001
_SQRT_2PI = math.sqrt(2.0 * math.pi)


def _simpson_grid(a: float, b: float, step: float) -> tuple[np.ndarray, np.ndarray]:
    m = max(2, int(math.ceil((b - a) / step)))
    m = min(m + (m % 2), _MAX_POINTS - 1)
    x = np.linspace(a, b, m + 1)
    w = np.ones(m + 1)
    w[1:-1:2] = 4.0
    w[2:-1:2] = 2.0
    return x, w * (b - a) / (3.0 * m)


class Walk:
    """A Gaussian random walk observed at stages, stopped at boundaries.

    Parameters
    ----------
    means, variances : sequence of float
        Mean and variance of each stage's increment.
    start : float
        The walk's value before the first increment.
    """

    def __init__(self, means, variances, start: float = 0.0) -> None:
        self.means = np.asarray(means, dtype=float)
        self.variances = np.asarray(variances, dtype=float)
        self.stage = 0
        self._locs = np.array([float(start)])
        self._mass = np.array([1.0])
        self._mean = float(start)
        self._var = 0.0

    def _transition(self) -> tuple[np.ndarray, float]:
        k = self.stage
        return self._locs + self.means[k], math.sqrt(self.variances[k])

    def probabilities(self, upper: float, lower: float = -math.inf) -> tuple[float, float]:
        """P(continued so far and S_k >= upper), P(continued so far and S_k <= lower)."""
        mu, sd = self._transition()
        p_up = float(self._mass @ special.ndtr((mu - upper) / sd)) if upper < math.inf else 0.0
        p_low = float(self._mass @ special.ndtr((lower - mu) / sd)) if lower > -math.inf else 0.0
        return p_up, p_low

    def advance(self, upper: float, lower: float = -math.inf) -> None:
        """Condition on continuing at this stage and move to the next one."""
        mu, sd = self._transition()
        k = self.stage
        self._mean += self.means[k]
        self._var += self.variances[k]
        spread = math.sqrt(self._var)
        a = max(lower, self._mean - _SD_RANGE * spread)
        b = min(upper, self._mean + _SD_RANGE * spread)
        self.stage += 1
        if b <= a:
            self._locs, self._mass = np.array([0.0]), np.array([0.0])
            return
        scale = min(spread, sd)
        if self.stage < len(self.variances):
            scale = min(scale, math.sqrt(self.variances[self.stage]))
        x, w = _simpson_grid(a, b, scale / _POINTS_PER_SD)
        u = (x[:, None] - mu[None, :]) / sd
        dens = (np.exp(-0.5 * u * u) @ self._mass) / (sd * _SQRT_2PI)
        self._locs, self._mass = x, dens * w
