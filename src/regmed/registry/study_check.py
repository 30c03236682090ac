"""Import rows checked against the stored study dictionary (:mod:`regmed.study`).

When the registry holds a study dictionary, every ``baseline`` row of an import must name one
of its patient-level variables, and every ``visit_values`` row a variable of a form filled at
its visit (the dictionary's instrument–event mapping), and give a value its rules accept — the same
:func:`regmed.study.validate_record` (and so the same sentences) as the web forms. A patient's
values are checked together with the values stored for them, so that a branching logic can
hide a field whose controlling answer is in another file (a visit's values are checked with
the patient-level values and the values of the same visit); required fields are not asked for
(a file may give some of a patient's variables). Problems name the file, the row and the
column (``value`` or ``value_text``); :func:`regmed.registry.importer.prepare_import` adds them
to the others, so nothing is written on refusal.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from regmed.errors import Problem
from regmed.registry.dictionary import PSEUDONYM_COLUMN
from regmed.registry.models import Baseline, Patient, VisitValue
from regmed.registry.study_dictionary import latest_study_dictionary
from regmed.registry.validate import ParsedTable
from regmed.study import StudyDictionary, validate_record
from regmed.study.validate import MESSAGES

__all__ = ["study_problems", "baseline_problems", "visit_problems", "row_problems",
           "stored_problems", "governed_variables", "NO_VISIT_FORMS"]

#: The problem of a visit value in a registry without visit forms.
NO_VISIT_FORMS = ("the registry's study dictionary maps no form to visits; import one with "
                  "`regmed dictionary import FILE --events MAPPING.csv`")

_CHUNK = 500


def _given(x: Any) -> bool:
    if x is None:
        return False
    if isinstance(x, float) and x != x:
        return False
    return not (isinstance(x, str) and not x.strip())


def _stored(session: Session, pseudonyms: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(pseudonyms), _CHUNK):
        rows = session.execute(
            select(Patient.pseudonym, Baseline.variable, Baseline.value, Baseline.value_text)
            .join(Patient, Patient.id == Baseline.patient_id)
            .where(Patient.pseudonym.in_(pseudonyms[i:i + _CHUNK])))
        for p, var, value, text in rows:
            out.setdefault(p, {})[var] = value if _given(value) else text
    return out


def _stored_visits(session: Session, pseudonyms: list[str]
                   ) -> dict[tuple[str, str], dict[str, Any]]:
    """The stored visit values by (pseudonym, visit)."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for i in range(0, len(pseudonyms), _CHUNK):
        rows = session.execute(
            select(Patient.pseudonym, VisitValue.visit, VisitValue.variable, VisitValue.value,
                   VisitValue.value_text)
            .join(Patient, Patient.id == VisitValue.patient_id)
            .where(Patient.pseudonym.in_(pseudonyms[i:i + _CHUNK])))
        for p, visit, var, value, text in rows:
            out.setdefault((p, visit), {})[var] = value if _given(value) else text
    return out


def _column(f: pd.DataFrame, name: str) -> pd.Series:
    return f[name] if name in f else pd.Series([None] * len(f), index=f.index)


def _place_problem(dictionary: StudyDictionary, var: str, visit: str | None) -> str | None:
    """Why a variable cannot be given at ``visit`` (None: patient-level), or None."""
    v = dictionary.variable(var)
    if v is None:
        return MESSAGES["unknown"]["en"]
    visits = dictionary.form_visits(v.form)
    if visit is None and visits:
        return (f"{var} is on the visit form {v.form} (filled at {', '.join(visits)}): give "
                "its values per visit, in visit_values")
    if visit is not None and visit not in visits:
        if visit not in {x.name for x in dictionary.visits}:
            return (f"{visit!r} is not a visit of the study dictionary's schedule "
                    f"({', '.join(x.name for x in dictionary.visits) or 'none'})")
        where = f"filled at {', '.join(visits)}" if visits else "filled once per patient"
        return f"{var} is on the form {v.form}, which is not filled at {visit} ({where})"
    return None


def _frame_rows(parsed: ParsedTable, per_visit: bool
                ) -> Iterable[tuple[Any, Any, Any, Any, Any]] | None:
    """The rows ``(pseudonym, visit, variable, value, value_text)`` of a parsed table (None
    without the columns)."""
    f = parsed.frame
    if not {PSEUDONYM_COLUMN, "variable"} <= set(f.columns) or (per_visit and "visit" not in f):
        return None
    visits = f["visit"] if per_visit else pd.Series([None] * len(f), index=f.index)
    return zip(f[PSEUDONYM_COLUMN], visits, f["variable"], _column(f, "value"),
               _column(f, "value_text"), strict=True)


def _table_problems(session: Session, parsed: ParsedTable, dictionary: StudyDictionary,
                    per_visit: bool, patient_level: dict[str, dict[str, Any]] | None = None
                    ) -> list[Problem]:
    """Problems of the ``baseline`` (``per_visit`` False) or ``visit_values`` rows."""
    rows = _frame_rows(parsed, per_visit)
    if rows is None:
        return []
    return _rows_problems(session, rows, parsed.file, dictionary, per_visit, patient_level)


def _patient_level(parsed: ParsedTable | None, dictionary: StudyDictionary
                   ) -> dict[str, dict[str, Any]]:
    """The patient-level values an import's ``baseline`` rows give, by pseudonym (what a
    visit form's branching reads beside the stored ones)."""
    out: dict[str, dict[str, Any]] = {}
    rows = None if parsed is None else _frame_rows(parsed, per_visit=False)
    for p, _, var, value, text in rows or ():
        if _given(p) and _given(var) and dictionary.variable(str(var)) is not None \
                and not dictionary.visit_of_variable(str(var)):
            out.setdefault(str(p), {})[str(var)] = value if _given(value) else text
    return out


def _rows_problems(session: Session, rows_in: Iterable[tuple[Any, Any, Any, Any, Any]],
                   file: str, dictionary: StudyDictionary, per_visit: bool,
                   patient_level: dict[str, dict[str, Any]] | None = None) -> list[Problem]:
    """Problems of rows ``(pseudonym, visit, variable, value, value_text)`` (row numbers from
    1 in their order); ``patient_level`` holds new patient-level values by pseudonym (read
    as if stored)."""
    problems: list[Problem] = []
    rows: dict[tuple[str, str | None], dict[str, tuple[int, str]]] = {}
    given: dict[tuple[str, str | None], dict[str, Any]] = {}
    for i, (p, visit, var, value, text) in enumerate(rows_in):
        if not _given(p) or not _given(var) or (per_visit and not _given(visit)):
            continue
        where = None if visit is None else str(visit)
        message = _place_problem(dictionary, str(var), where)
        if message is not None:
            bad_visit = where is not None and where not in {x.name for x in dictionary.visits}
            problems.append(Problem(message, file=file, row=i + 1,
                                    field="visit" if bad_visit else "variable"))
            continue
        key = (str(p), where)
        column = "value" if _given(value) else "value_text"
        given.setdefault(key, {})[str(var)] = value if _given(value) else text
        rows.setdefault(key, {})[str(var)] = (i + 1, column)
    pseudonyms = sorted({p for p, _ in given})
    stored = _stored(session, pseudonyms)
    stored_visits = _stored_visits(session, pseudonyms) if per_visit else {}
    if not per_visit and dictionary.events:  # new patient-level values steer visit forms too
        stored_visits = _stored_visits(session, pseudonyms)
    for (p, visit), new in given.items():
        before = {**stored.get(p, {}), **(patient_level or {}).get(p, {}),
                  **stored_visits.get((p, visit or ""), {})}
        forms = dictionary.visit_forms(visit) if visit is not None else None
        problems += _patient_problems(dictionary, before, new, rows[(p, visit)], file, forms)
        if visit is None:
            for (q, at), values in stored_visits.items():
                if q == p:
                    problems += _patient_problems(dictionary, {**stored.get(p, {}), **values},
                                                  new, rows[(p, None)], file,
                                                  dictionary.visit_forms(at), at)
    return problems


def baseline_problems(session: Session, parsed: ParsedTable, dictionary: StudyDictionary
                      ) -> list[Problem]:
    """Problems of the ``baseline`` rows of an import against ``dictionary``."""
    return _table_problems(session, parsed, dictionary, per_visit=False)


def visit_problems(session: Session, parsed: ParsedTable, dictionary: StudyDictionary,
                   baseline: ParsedTable | None = None) -> list[Problem]:
    """Problems of the ``visit_values`` rows of an import against ``dictionary``: the visit
    is one of its schedule, the variable's form is filled at that visit, and the value follows
    the rules with the patient-level values (stored, and those of the import's ``baseline``
    rows) and the same visit's values."""
    return _table_problems(session, parsed, dictionary, True,
                           _patient_level(baseline, dictionary))


def _patient_problems(dictionary: StudyDictionary, stored: dict[str, Any],
                      new: dict[str, Any], rows: dict[str, tuple[int, str]], file: str,
                      forms: list[str] | None = None, at: str | None = None
                      ) -> list[Problem]:
    """A patient's new values checked with the stored ones; each problem at the row (and
    column) that gave the variable, or — for a stored value that the new values make wrong
    (e.g. now hidden by a branching logic) — at the patient's first row (``at``: the visit of
    those stored values). Problems the stored values have without the new ones are not this
    import's."""
    problems: list[Problem] = []
    merged = {**stored, **new}
    if forms is None:
        forms = list(dict.fromkeys(v.form for v in dictionary.variables if v.name in merged
                                   and not dictionary.form_visits(v.form)))
    first = min(r for r, _ in rows.values())
    names = set(dictionary.names())
    seen: set[tuple[str | None, str]] = set()
    before = {(q.field, q.message) for form in forms
              for q in validate_record(dictionary, form, stored, partial=True)} if any(
        k not in new for k in stored) else set()
    for form in forms:
        for q in validate_record(dictionary, form, merged, partial=True):
            if (q.field, q.message) in seen or q.field not in names:
                continue
            if q.field not in rows and (q.field, q.message) in before:
                continue
            seen.add((q.field, q.message))
            if q.field in rows:
                row, column = rows[q.field]
                problems.append(Problem(q.message, file=file, row=row, field=column))
            else:
                visit = f" at {at}" if at is not None else ""
                problems.append(Problem(q.message, file=file, row=first,
                                        field=f"{q.field}{visit} (stored value)"))
    return problems


def row_problems(session: Session, values: dict[str, Any], file: str,
                 table: str = "baseline") -> list[Problem]:
    """Problems of one ``baseline`` or ``visit_values`` row (the web's single-record path, as
    row 1 of ``file``) against the stored study dictionary (none without one; a visit value
    needs one with visit forms)."""
    dictionary = latest_study_dictionary(session)
    if table == "visit_values" and (dictionary is None or not dictionary.events):
        return [Problem(NO_VISIT_FORMS, file=file, row=1, field="visit")]
    if dictionary is None:
        return []
    row = tuple(values.get(c) for c in (PSEUDONYM_COLUMN, "visit", "variable", "value",
                                        "value_text"))
    return _rows_problems(session, [row], file, dictionary,  # type: ignore[list-item]
                          per_visit=table == "visit_values")


def governed_variables(session: Session) -> frozenset[str]:
    """The baseline variables the stored study dictionary defines: its rules (and sentences)
    govern their values, in place of the registry's own ``coded_values`` (one rule, one
    sentence per value); empty without a dictionary."""
    dictionary = latest_study_dictionary(session)
    return frozenset() if dictionary is None else frozenset(dictionary.names())


def study_problems(session: Session, parsed: dict[str, ParsedTable]) -> list[Problem]:
    """Problems of an import's tables against the stored study dictionary (none without
    one)."""
    tables = [t for t in ("baseline", "visit_values") if t in parsed and parsed[t].header_ok]
    if not tables:
        return []
    dictionary = latest_study_dictionary(session)
    problems: list[Problem] = []
    visits = parsed.get("visit_values")
    if visits is not None and "visit_values" in tables and len(visits.frame) and (
            dictionary is None or not dictionary.events):
        problems.append(Problem(NO_VISIT_FORMS, file=visits.file, row=1, field="visit"))
    if dictionary is None:
        return problems
    if "baseline" in tables:
        problems += baseline_problems(session, parsed["baseline"], dictionary)
    if "visit_values" in tables and dictionary.events:
        problems += visit_problems(session, parsed["visit_values"], dictionary,
                                   parsed["baseline"] if "baseline" in tables else None)
    return problems


def stored_problems(baseline: pd.DataFrame, dictionary: StudyDictionary,
                    variables: list[str]) -> list[Problem]:
    """Problems of the stored ``baseline`` values of ``variables`` against ``dictionary``.

    What :func:`regmed.registry.extract.extract` checks before an analysis reads the
    covariates: each value's type, range and choice code, with the sentences of
    :func:`regmed.study.validate_record` (so a value stored before the dictionary, or under an
    older version, is named rather than analysed). Each distinct value is read once, so the
    check is linear in the number of rows with a small constant. Problems name the table, the
    patient (``site_code:pseudonym``) and the variable.
    """
    from regmed.study.validate import _range, parse_field

    if baseline is None or baseline.empty or "variable" not in baseline:
        return []
    problems: list[Problem] = []
    wanted = [v for v in (dictionary.variable(n) for n in variables) if v is not None]
    for v in wanted:
        rows = baseline[baseline["variable"] == v.name]
        if rows.empty:
            continue
        value = rows["value"] if "value" in rows else pd.Series(None, index=rows.index)
        text = rows["value_text"] if "value_text" in rows else pd.Series(None, index=rows.index)
        raw = value.where(value.notna(), text)
        messages: dict[Any, list[str]] = {}
        for x in pd.unique(raw.dropna()):
            parsed, message = parse_field(v, x)
            found = [message] if message else [q.message for q in _range(v, parsed, "en")]
            if found:
                messages[x] = found
        if not messages:
            continue
        bad = rows[raw.isin(list(messages))]
        for site, ref, x in zip(bad.get("site_code", pd.Series("", index=bad.index)),
                                bad[PSEUDONYM_COLUMN], raw[bad.index], strict=True):
            for message in messages[x]:
                problems.append(Problem(f"patient {site}:{ref}: {message}", file="baseline",
                                        field=v.name))
    return problems
