"""The standalone quality document (``regmed quality report``): ``meta`` and ``quality``.

Like the evaluation document, it is validated (:func:`validate_quality_document`) before it
is written, and the report only renders it.
"""

# No ``from __future__ import annotations``: the TypedDicts' NotRequired keys need real
# annotation objects (see regmed.document.schema).

import typing
from typing import Any, NotRequired

from typing_extensions import TypedDict

from regmed.document.schema import Quality, schema_problems
from regmed.errors import DataError

__all__ = ["QualityPlan", "QualityMeta", "QualityDocument", "validate_quality_document"]


class QualityPlan(TypedDict):
    """The plan the quality analyses followed (its lock hash when locked)."""

    name: str
    version: str | int
    sha256: str


class QualityMeta(TypedDict):
    """Provenance of a standalone quality report."""

    created_at: str
    regmed_version: str
    data_hash: str
    product: str
    plan: QualityPlan | None
    exploratory: NotRequired[bool]


class QualityDocument(TypedDict):
    """A standalone quality document."""

    meta: QualityMeta
    quality: Quality


def validate_quality_document(doc: Any) -> QualityDocument:
    """Check a quality document against :class:`QualityDocument`; every problem by key path.

    Raises
    ------
    regmed.errors.DataError
        When anything is missing or malformed (each problem's ``field`` is its key path).

    Examples
    --------
    >>> validate_quality_document({"meta": {}})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    regmed.errors.DataError: The quality document is incomplete or malformed (6 problems):
      - meta.created_at: missing key
    ...
    """
    problems = schema_problems(doc, QualityDocument)
    if problems:
        raise DataError("The quality document is incomplete or malformed", problems)
    return typing.cast(QualityDocument, doc)
