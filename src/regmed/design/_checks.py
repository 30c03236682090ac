"""Input validation shared by the design functions: collect every problem, then raise once."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from regmed.errors import DataError, PlanError, Problem

__all__ = ["Checker"]


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    try:
        f = float(value)
    except (TypeError, ValueError):
        return False
    return not math.isnan(f)


class Checker:
    """Collects problems with named arguments and raises one error listing them all.

    Parameters
    ----------
    function : str
        The public function being validated (used in the error message).
    error : type
        ``PlanError`` for design options (the default) or ``DataError`` for observed data.
    """

    def __init__(self, function: str, error: type[PlanError] | type[DataError] = PlanError):
        self.function = function
        self.error = error
        self.problems: list[Problem] = []

    def add(self, field: str, message: str) -> None:
        self.problems.append(Problem(message, field=field))

    def number(
        self,
        field: str,
        value: Any,
        *,
        low: float | None = None,
        high: float | None = None,
        low_open: bool = False,
        high_open: bool = False,
        integer: bool = False,
    ) -> bool:
        """Check that ``value`` is a number in the given range; return whether it is."""
        if not _is_number(value):
            self.add(field, f"must be a number, got {value!r}")
            return False
        f = float(value)
        if integer and (not math.isfinite(f) or f != int(f)):
            self.add(field, f"must be a whole number, got {value!r}")
            return False
        if low is not None and (f < low or (low_open and f == low)):
            self.add(field, f"must be {'>' if low_open else '>='} {low}, got {value!r}")
            return False
        if high is not None and (f > high or (high_open and f == high)):
            self.add(field, f"must be {'<' if high_open else '<='} {high}, got {value!r}")
            return False
        if not math.isfinite(f) and low is None and high is None:
            self.add(field, f"must be finite, got {value!r}")
            return False
        return True

    def probability(self, field: str, value: Any) -> bool:
        """A probability strictly between 0 and 1."""
        return self.number(field, value, low=0.0, high=1.0, low_open=True, high_open=True)

    def choice(self, field: str, value: Any, allowed: Sequence[Any]) -> bool:
        if value not in allowed:
            self.add(field, f"must be one of {', '.join(repr(a) for a in allowed)}, got {value!r}")
            return False
        return True

    def sided(self, value: Any) -> bool:
        return self.choice("sided", value, (1, 2))

    def raise_if_any(self) -> None:
        if self.problems:
            raise self.error(f"{self.function}: invalid arguments", self.problems)
