"""Cross-table rules shared by the bulk importer and the single-record path.

The column dictionary (``dictionary.yaml``) holds the column-level rules; this module holds the
rules that look at other tables — which date column of a table may not precede the patient's
birth year, index date or enrollment, or the lot's manufacture — and their messages, so that
:func:`regmed.registry.import_tables` and :func:`regmed.registry.save_row` apply the same rules
with the same words.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Mapping, Sequence

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
    "CODED_BY",
    "FATAL_GRADE",
    "DUPLICATE_VISIT",
    "future_problem",
    "coded_problem",
    "fatal_problem",
]

#: The column that names a coded endpoint or variable (``coded_values`` in the dictionary).
CODED_BY = {"assessments": "endpoint", "baseline": "variable"}
#: The adverse-event grade of death (CTCAE): its outcome must be ``fatal``.
FATAL_GRADE = 5
DUPLICATE_VISIT = "this assessor has assessed this endpoint at this visit of the patient"

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


def future_problem(value: dt.date | None, today: dt.date | None) -> str | None:
    """The message for a date after ``today`` (None when it is not, or nothing is checked)."""
    if value is None or today is None or value <= today:
        return None
    return f"is in the future (after today, {today.isoformat()})"


def coded_problem(name: str | None, value: object, value_text: str | None,
                  coded: Mapping[str, Sequence[str]]) -> tuple[str, str, str | None] | None:
    """Check a result of a coded endpoint or variable ``name``.

    Returns None when ``name`` is not coded or the result is one of its values, else
    ``(field, message, normalized)``; ``normalized`` is the NFKC of ``value_text`` when that
    is one of the values (``Ａ`` is ``A``: a fix, not a problem; the message is then empty).
    """
    if name is None or name not in coded:
        return None
    values = coded[name]
    if value_text is None:
        if value is None:
            return None  # "give value or value_text" is reported already
        return ("value_text", f"{name} is coded: give value_text, one of {', '.join(values)}",
                None)
    text = unicodedata.normalize("NFKC", value_text).strip()
    if text in values:
        return None if text == value_text else ("value_text", "", text)
    return ("value_text", f"not a {name} (one of {', '.join(values)})", None)


def fatal_problem(grade: object, outcome: object) -> str | None:
    """The message for an adverse event of grade 5 (death) whose outcome is not fatal."""
    if grade == FATAL_GRADE and outcome is not None and outcome != "fatal":
        return f"grade {FATAL_GRADE} is death: the outcome must be fatal, not {outcome!r}"
    return None
