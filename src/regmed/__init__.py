"""regmed — the evidence platform for regenerative-medicine products after conditional approval.

Subpackages are imported lazily so that ``import regmed`` has no side effects and stays fast::

    import regmed as rg
    rg.design.sample_size_rates(p_treated=0.45, p_control=0.25, allocation_ratio=0.5)
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBPACKAGES = (
    "design",
    "evidence",
    "plan",
    "registry",
    "evaluate",
    "report",
    "quality",
    "singlecell",
    "study",
    "demo",
    "errors",
    "results",
)

__all__ = ["__version__", *_SUBPACKAGES]


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f"regmed.{name}")
    raise AttributeError(f"module 'regmed' has no attribute {name!r}")
