"""Lan-DeMets spending functions (O'Brien-Fleming-type, Pocock-type, Hwang-Shih-DeCani)."""

from __future__ import annotations

import math

from scipy import stats

__all__ = ["SPENDING_TYPES", "spending_value"]

#: The spending families: "OF" (O'Brien-Fleming type), "P" (Pocock type), "HSD" (gamma family).
SPENDING_TYPES = ("OF", "P", "HSD")


def spending_value(kind: str, level: float, t: float, gamma: float | None = None) -> float:
    """Cumulative error spent by information fraction ``t`` for a total ``level``.

    ``OF``: ``2 (1 - Phi(z_{1-level/2} / sqrt(t)))``; ``P``: ``level log(1 + (e - 1) t)``;
    ``HSD``: ``level (1 - exp(-gamma t)) / (1 - exp(-gamma))`` (``level t`` for gamma 0).
    These are rpact's ``asOF``/``asP``/``asHSD`` (and ``bsOF``/``bsP``/``bsHSD`` with beta).

    References
    ----------
    Lan KKG, DeMets DL (1983). Discrete sequential boundaries for clinical trials.
    Biometrika 70:659-663. Hwang IK, Shih WJ, DeCani JS (1990). Group sequential designs
    using a family of type I error probability spending functions. Statistics in Medicine
    9:1439-1445.
    """
    if t <= 0:
        return 0.0
    if t >= 1:
        return level
    if kind == "OF":
        return float(2.0 * stats.norm.sf(stats.norm.isf(level / 2.0) / math.sqrt(t)))
    if kind == "P":
        return level * math.log(1.0 + (math.e - 1.0) * t)
    if kind == "HSD":
        g = 0.0 if gamma is None else float(gamma)
        if g == 0:
            return level * t
        return level * (1.0 - math.exp(-g * t)) / (1.0 - math.exp(-g))
    raise ValueError(f"unknown spending type {kind!r}")
