"""regmed.document — the evaluation document: the one contract between evaluate and report.

``regmed.evaluate`` builds the document and validates it here **before** anything is stored;
``regmed.report`` only renders a validated document. The shape (typed, with every key's
meaning) lives in :mod:`regmed.document.schema`; :func:`validate_document` checks keys,
types, allowed values and cross-field consistency and lists every problem with its path.

``regmed.document`` imports only ``regmed.errors`` (and ``regmed.results``).
"""

from __future__ import annotations

from regmed.document.schema import (
    RATIO_MEASURES,
    Analysis,
    AnalysisSpecEntry,
    EvaluationDocument,
    null_value,
    read_document,
    validate_document,
)

__all__ = [
    "EvaluationDocument",
    "Analysis",
    "AnalysisSpecEntry",
    "validate_document",
    "read_document",
    "RATIO_MEASURES",
    "null_value",
]
