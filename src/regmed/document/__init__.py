"""regmed.document — the evaluation document: the one contract between evaluate and report.

``regmed.evaluate`` builds the document and validates it here **before** anything is stored;
``regmed.report`` only renders a validated document. The shape (typed, with every key's
meaning) lives in :mod:`regmed.document.schema` as typed models that pydantic validates in
strict mode (:func:`validate_document`: keys, types and allowed values, then cross-field
consistency; every problem with its key path). The standalone quality document is
:mod:`regmed.document.quality`.

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
