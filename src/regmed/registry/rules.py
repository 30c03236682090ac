"""Cross-table rules shared by the bulk importer and the single-record path.

The column dictionary (``dictionary.yaml``) holds the column-level rules; this module holds the
rules that look at other tables — which date column of a table may not precede the patient's
birth year, index date or enrollment, or the lot's manufacture — and their messages, so that
:func:`regmed.registry.import_tables` and :func:`regmed.registry.save_row` apply the same rules
with the same words.
"""

from __future__ import annotations

from regmed.errors import Problem

__all__ = [
    "BIRTH_YEAR_CHECK",
    "INDEX_DATE_CHECK",
    "ENROLLED_CHECK",
    "MANUFACTURED_CHECK",
    "BEFORE_BIRTH",
    "BEFORE_INDEX",
    "BEFORE_ENROLLED",
    "BEFORE_MANUFACTURED",
    "UNKNOWN_PATIENT",
    "WRONG_SITE",
    "change_needs_reason",
]

#: Date column (per table) whose year may not precede the patient's birth year.
BIRTH_YEAR_CHECK = {
    "assessments": "assessed_on",
    "adverse_events": "onset_on",
    "enrollments": "index_on",
    "administrations": "administered_on",
    "follow_ups": "last_contact_on",
}
#: Date column (per table) that may not precede the patient's index date.
INDEX_DATE_CHECK = {
    "assessments": "assessed_on",
    "adverse_events": "onset_on",
    "follow_ups": "last_contact_on",
}
#: Date column (per table) that may not precede the patient's enrollment.
ENROLLED_CHECK = {"administrations": "administered_on"}
#: Date column (per table) that may not precede the manufacture of its lot.
MANUFACTURED_CHECK = {"administrations": "administered_on", "shipments": "shipped_on"}

BEFORE_BIRTH = "is before the patient's birth year"
BEFORE_INDEX = "is before the patient's index date"
BEFORE_ENROLLED = "is before the enrollment"
BEFORE_MANUFACTURED = "is before the lot was manufactured"
UNKNOWN_PATIENT = "unknown patient at this site"
WRONG_SITE = "is not the patient's site"


def change_needs_reason(record_id: int, columns: list[str], file: str, row: int) -> Problem:
    """The problem of a row that changes a stored record without a reason."""
    return Problem(
        f"changes the stored record (id {record_id}) in {', '.join(columns)}; "
        "a reason is required",
        file=file,
        row=row,
        field=columns[0],
    )
