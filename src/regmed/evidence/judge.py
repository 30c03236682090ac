"""Verdicts: does an estimated effect meet the plan's pre-set achievement criterion?

A criterion names a measure, an optional threshold for the point estimate and an optional
bound for the confidence interval, with an explicit direction, e.g. "risk difference >= 0.15
and lower 95% bound > 0" is ``{"measure": "risk_difference", "threshold": 0.15,
"direction": "greater", "ci_lower_above": 0}``.

References
----------
.. [1] ICH E9 Statistical principles for clinical trials (1998), §5.5 (estimation and
   confidence intervals as the basis of conclusions).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, Protocol

from regmed.errors import PlanError, Problem
from regmed.results import Result

__all__ = ["Criterion", "Verdict", "judge"]

_MEASURES = ("risk_difference", "risk_ratio", "odds_ratio", "mean_difference", "hazard_ratio",
             "rmst_difference", "proportion", "mean", "median_survival")


class _HasMeasure(Protocol):
    def measure_value(self, measure: str) -> tuple[float, float, float]: ...


@dataclasses.dataclass(frozen=True)
class Criterion:
    """An achievement criterion.

    Parameters
    ----------
    measure : str
        ``risk_difference``, ``risk_ratio``, ``odds_ratio``, ``mean_difference``,
        ``hazard_ratio``, ``rmst_difference``, or the single-arm ``proportion``, ``mean``,
        ``median_survival`` (:func:`~regmed.evidence.single_arm`).
    threshold : float, optional
        The point estimate must be ``>= threshold`` (``direction="greater"``) or
        ``<= threshold`` (``direction="less"``).
    direction : {"greater", "less"}, optional
        Which side is better. Default ``"less"`` for ``hazard_ratio`` and ``"greater"``
        otherwise.
    ci_lower_above : float, optional
        The lower confidence limit must be strictly above this value.
    ci_upper_below : float, optional
        The upper confidence limit must be strictly below this value.
    """

    measure: str
    threshold: float | None = None
    direction: str | None = None
    ci_lower_above: float | None = None
    ci_upper_below: float | None = None

    def resolved_direction(self) -> str:
        """The direction, with the measure's default filled in."""
        if self.direction is not None:
            return self.direction
        return "less" if self.measure == "hazard_ratio" else "greater"


@dataclasses.dataclass(frozen=True)
class Verdict(Result):
    """Whether the criterion is met, with the numbers and a one-sentence reason.

    Attributes
    ----------
    met : bool
    measure : str
    estimate, ci_lower, ci_upper : float
        The estimate and CI on the measure's natural scale.
    threshold, direction, ci_lower_above, ci_upper_below
        The criterion.
    checks : dict
        Each part of the criterion and whether it held.
    reason : str
    """

    met: bool
    measure: str
    estimate: float
    ci_lower: float
    ci_upper: float
    threshold: float | None
    direction: str
    ci_lower_above: float | None
    ci_upper_below: float | None
    checks: dict[str, bool]
    reason: str


def _criterion(criterion: Criterion | Mapping[str, Any] | Any) -> Criterion:
    if isinstance(criterion, Criterion):
        return criterion
    names = ("measure", "threshold", "direction", "ci_lower_above", "ci_upper_below")
    if isinstance(criterion, Mapping):
        unknown = sorted(set(criterion) - set(names))
        if unknown:
            raise PlanError("The criterion has unknown keys.",
                            [Problem(f"unknown key {k!r}", field=k) for k in unknown])
        values: dict[str, Any] = {k: criterion.get(k) for k in names}
    else:
        values = {k: getattr(criterion, k, None) for k in names}
    return Criterion(**values)


def judge(effect: _HasMeasure, criterion: Criterion | Mapping[str, Any] | Any) -> Verdict:
    """Compare an effect estimate with a pre-set achievement criterion.

    Parameters
    ----------
    effect : Effect or SurvivalEffect
        Any result with ``measure_value(measure) -> (estimate, ci_lower, ci_upper)``.
    criterion : Criterion, mapping or object
        With ``measure`` and at least one of ``threshold``, ``ci_lower_above``,
        ``ci_upper_below``; see :class:`Criterion`.

    Returns
    -------
    Verdict
        ``met`` is True only when every stated part holds.

    References
    ----------
    .. [1] ICH E9 (1998), §5.5.

    Examples
    --------
    >>> class E:
    ...     def measure_value(self, m): return (0.21, 0.08, 0.34)
    >>> judge(E(), {"measure": "risk_difference", "threshold": 0.15,
    ...             "ci_lower_above": 0}).met
    True
    """
    c = _criterion(criterion)
    problems = []
    if c.measure not in _MEASURES:
        problems.append(Problem(f"measure must be one of {', '.join(_MEASURES)}",
                                field="measure"))
    direction = c.resolved_direction()
    if direction not in ("greater", "less"):
        problems.append(Problem("direction must be 'greater' or 'less'", field="direction"))
    if c.threshold is None and c.ci_lower_above is None and c.ci_upper_below is None:
        problems.append(Problem("state a threshold or a confidence bound", field="threshold"))
    if problems:
        raise PlanError("The achievement criterion is incomplete.", problems)
    est, lo, hi = effect.measure_value(c.measure)
    checks: dict[str, bool] = {}
    parts: list[str] = []
    label = c.measure.replace("_", " ")
    if c.threshold is not None:
        ok = est >= c.threshold if direction == "greater" else est <= c.threshold
        checks["threshold"] = bool(ok and not math.isnan(est))
        sign = ">=" if direction == "greater" else "<="
        parts.append(f"{label} {est:.4g} {'meets' if checks['threshold'] else 'fails'} "
                     f"{sign} {c.threshold:g}")
    if c.ci_lower_above is not None:
        checks["ci_lower_above"] = bool(lo > c.ci_lower_above)
        parts.append(f"lower limit {lo:.4g} {'is' if checks['ci_lower_above'] else 'is not'} "
                     f"above {c.ci_lower_above:g}")
    if c.ci_upper_below is not None:
        checks["ci_upper_below"] = bool(hi < c.ci_upper_below)
        parts.append(f"upper limit {hi:.4g} {'is' if checks['ci_upper_below'] else 'is not'} "
                     f"below {c.ci_upper_below:g}")
    met = all(checks.values())
    reason = f"Criterion {'met' if met else 'not met'}: " + "; ".join(parts) + "."
    return Verdict(
        met=met, measure=c.measure, estimate=est, ci_lower=lo, ci_upper=hi,
        threshold=c.threshold, direction=direction, ci_lower_above=c.ci_lower_above,
        ci_upper_below=c.ci_upper_below, checks=checks, reason=reason,
    )
