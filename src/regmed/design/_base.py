"""The base of the design results: options, numbers, a readable summary table."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from regmed.results import Result, format_table

__all__ = ["DesignResult"]


def _shown(value: Any) -> Any:
    if isinstance(value, (list, tuple, np.ndarray)):
        return ", ".join(str(_shown(v)) for v in value)
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    return value


@dataclasses.dataclass(frozen=True)
class DesignResult(Result):
    """Base of every design result: ``options`` holds the keyword arguments it ran with.

    Subclasses list their numbers as dataclass fields; ``summary()`` shows them, then the
    options, as a two-column table.
    """

    options: dict[str, Any]

    def table(self) -> pd.DataFrame:
        """The numbers (not the options) as a two-column frame ``quantity``, ``value``."""
        rows = []
        for f in dataclasses.fields(self):
            if f.name == "options" or not f.repr:
                continue
            value = getattr(self, f.name)
            if isinstance(value, pd.DataFrame):
                continue
            rows.append({"quantity": f.name, "value": _shown(value)})
        return pd.DataFrame(rows, columns=["quantity", "value"])

    def summary(self) -> str:
        numbers = format_table(self.table(), title=type(self).__name__)
        opts = pd.DataFrame(
            [{"option": k, "value": _shown(v)} for k, v in self.options.items()],
            columns=["option", "value"],
        )
        return numbers + "\n\n" + format_table(opts, title="options")
