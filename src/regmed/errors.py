"""The small error hierarchy every regmed package raises.

``RegmedError`` is the root. Validation errors collect *all* problems before raising, each
naming where it is (file, row and field, or a key path), so that a user can fix everything in
one pass. The command line prints ``str(error)`` — one sentence plus the list — never a
traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "RegmedError",
    "DataError",
    "PlanError",
    "ConvergenceError",
    "AccessDenied",
    "Problem",
]


@dataclass(frozen=True)
class Problem:
    """One problem found while validating input.

    Parameters
    ----------
    message : str
        What is wrong, in a sentence.
    file : str, optional
        The file the problem is in.
    row : int, optional
        The 1-based data row (the header is row 0), as a spreadsheet user counts it.
    field : str, optional
        The column or the key path (``controls[1].period.start``).
    """

    message: str
    file: str | None = None
    row: int | None = None
    field: str | None = None

    def where(self) -> str:
        """Return ``file, row N, field`` with the parts that are known."""
        parts = []
        if self.file:
            parts.append(str(self.file))
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.field:
            parts.append(str(self.field))
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        return f"{where}: {self.message}" if where else self.message

    def to_dict(self) -> dict[str, object]:
        return {"file": self.file, "row": self.row, "field": self.field, "message": self.message}


class RegmedError(Exception):
    """Root of regmed's errors: a user-facing sentence, optionally with a list of problems."""

    def __init__(self, message: str, problems: Iterable[Problem] = ()) -> None:
        self.message = message
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__(message)

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        n = len(self.problems)
        lines = [f"{self.message} ({n} problem{'s' if n != 1 else ''}):"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class DataError(RegmedError):
    """Input data are wrong: bad rows, unknown references, impossible values."""


class PlanError(RegmedError):
    """The evaluation plan is malformed, fails its checks, or is not locked as required."""


class ConvergenceError(RegmedError):
    """A numerical procedure did not converge."""


class AccessDenied(RegmedError):
    """The user's role does not allow the operation."""
