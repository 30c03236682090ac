"""Refused input in plain language, next to the field it belongs to.

The registry's problems name their file, row and field and quote the value as Python wrote it
(``datetime.date(2026, 1, 1)``). A form shows each problem beside its field, without the file
and row, with dates as dates, and in the request's language: the known message shapes are
matched here and translated through the catalogue (:mod:`regmed.web.i18n`).
"""

from __future__ import annotations

import re
from typing import Any

from regmed.errors import DataError, Problem
from regmed.web.i18n import Translator
from regmed.web.studyforms import REASON_NEEDED

__all__ = ["plain", "field_errors", "summary", "reason_asked", "FIELD_LABELS"]

_DATE_REPR = re.compile(r"datetime\.date\((\d{4}), (\d{1,2}), (\d{1,2})\)")
_CHANGE = re.compile(r"^changes the stored record \(id \d+\) in .*; a reason is required$")

#: (pattern of the registry's message, message id of the catalogue with the same groups).
_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), m) for p, m in (
        (r"^above the maximum (?P<n>[^:]+)(?::.*)?$", "above the maximum %(n)s"),
        (r"^below the minimum (?P<n>[^:]+)(?::.*)?$", "below the minimum %(n)s"),
        (r"^not one of (?P<values>[^:]+)(?::.*)?$", "not one of %(values)s"),
        (r"^not a date \(YYYY-MM-DD\)(?::.*)?$", "not a date (YYYY-MM-DD)"),
        (r"^is in the future \(after today, [0-9-]+\)(?::.*)?$", "is in the future"),
        (r"^not a [a-z_]+ \(one of (?P<values>[^)]*)\)(?::.*)?$", "not one of %(values)s"),
        (r"^not a whole number(?::.*)?$", "not a whole number"),
        (r"^not a number(?::.*)?$", "not a number"),
        (r"^not a boolean.*$", "not a boolean (yes or no)"),
        (r"^longer than (?P<n>\d+) characters.*$", "longer than %(n)s characters"),
        (r"^is before (?P<other>[a-z_]+)(?::.*)?$", "is before %(other)s"),
        (r"^is before the patient's index date.*$", "is before the patient's index date"),
        (r"^not a scheduled visit \(one of (?P<values>.*)\)$",
         "not a scheduled visit (one of %(values)s)"),
        (r"^not a field of (?P<table>[a-z_]+).*$", "not a field of %(table)s"),
        (r"^not one of the coded verdicts \((?P<values>.*)\)$",
         "not one of the coded verdicts (%(values)s)"),
        (r"^'(?P<name>[^']*)' is not an active adjudicator$",
         "%(name)s is not an active adjudicator"),
        (r"^not allowed for an? (?P<role>[a-z_]+)$", "not allowed for the role %(role)s"),
        (r"^this assessor has assessed this endpoint at this visit of the patient .*$",
         "this assessor has assessed this endpoint at this visit already: change the saved "
         "assessment instead"),
        (r"^unknown quality attribute of the lot's product(?::.*)?$",
         "not a quality attribute of the lot's product"),
        (r"^differs from '(?P<code>[^']*)' only in letter case.*$",
         "differs from %(code)s only in letter case: use %(code)s"),
    ))

#: Labels of the form fields (message ids), for problems that have no field of their own.
FIELD_LABELS = {
    "patient_ref": "Site's patient id", "sex": "Sex", "birth_year": "Birth year",
    "indication_code": "Indication", "cohort": "Cohort", "direction": "Direction",
    "index_on": "Index date", "enrolled_on": "Enrolled on", "visit": "Visit",
    "endpoint": "Endpoint", "assessed_on": "Date", "value": "Value", "value_text": "Category",
    "assessor": "Assessor", "assessor_role": "Assessor role", "blinded": "Blinded",
    "term": "Term", "onset_on": "Onset", "serious": "Serious", "grade": "Grade (1-5)",
    "related": "Related", "outcome": "Outcome", "lot_code": "Lot",
    "administered_on": "Date", "dose": "Dose", "dose_unit": "Dose unit", "route": "Route",
    "last_contact_on": "Last contact", "status": "Status", "death_on": "Date of death",
    "death_cause": "Cause of death", "reason": "Reason for the change", "field": "Field",
    "question": "Question", "answer": "Answer", "reviewers": "Reviewers",
    # lots, quality results and shipments (regmed.web.lotpages)
    "product_code": "Product", "donor_code": "Donor", "process_version": "Process version",
    "manufactured_on": "Manufactured on", "released_on": "Released on",
    "coa_reference": "Certificate of analysis (reference)",
    "attribute_code": "Quality attribute", "measured_on": "Measured on",
    "shipment_code": "Shipment code", "site_code": "Site", "shipped_on": "Shipped on",
    "received_on": "Received on", "receipt_temperature_c": "Temperature at receipt (°C)",
    "time_out_of_storage_min": "Time out of storage (min)",
    "viability_at_receipt_pct": "Viability at receipt (%)",
    "deviation_reference": "Deviation report (reference)",
}


def _dates(text: str) -> str:
    return _DATE_REPR.sub(lambda m: f"{int(m[1]):04d}-{int(m[2]):02d}-{int(m[3]):02d}", text)


def plain(message: str, t: Translator) -> str:
    """One registry message in plain language, in the translator's language.

    Examples
    --------
    >>> from regmed.web.i18n import Translator, load_catalogues
    >>> ja = Translator("ja", "western", load_catalogues()["ja"])
    >>> plain("above the maximum 5: 7", ja)
    '5 より大きい値です'
    """
    text = _dates(message)
    for pattern, msgid in _SHAPES:
        m = pattern.match(text)
        if m:
            values: dict[str, Any] = m.groupdict()
            if "other" in values:
                values["other"] = t(FIELD_LABELS.get(values["other"], values["other"]))
            for k in ("role", "table"):
                if k in values:
                    values[k] = t(values[k])
            return t(msgid, **values)
    return t(text)


def field_errors(exc: DataError, t: Translator) -> dict[str, list[str]]:
    """The problems of a refused form by field name (``""``: no field)."""
    out: dict[str, list[str]] = {}
    for p in exc.problems or [Problem(exc.message)]:
        out.setdefault(p.field or "", []).append(plain(p.message, t))
    return out


def summary(exc: DataError, t: Translator) -> list[str]:
    """Every problem as one line: the field's label, then the problem (the page's list)."""
    lines = []
    for p in exc.problems or [Problem(exc.message)]:
        text = plain(p.message, t)
        label = FIELD_LABELS.get(p.field or "")
        lines.append(f"{t(label)}: {text}" if label else (f"{p.field}: {text}" if p.field
                                                            else text))
    return lines


def reason_asked(exc: DataError) -> DataError:
    """``exc`` with the importer's "changes the stored record …; a reason is required"
    problems as one problem of the form's ``reason`` field (:data:`REASON_NEEDED`)."""
    problems: list[Problem] = []
    asked = False
    for p in exc.problems:
        if _CHANGE.match(p.message):
            if not asked:
                problems.append(Problem(REASON_NEEDED, field="reason"))
            asked = True
        else:
            problems.append(p)
    return DataError(exc.message, problems) if asked else exc
