"""Import rows checked against the stored study dictionary (:mod:`regmed.study`).

When the registry holds a study dictionary, every ``baseline`` row of an import must name one
of its variables and give a value its rules accept — the same
:func:`regmed.study.validate_record` (and so the same sentences) as the web forms. A patient's
values are checked together with the values stored for them, so that a branching logic can
hide a field whose controlling answer is in another file; required fields are not asked for
(a file may give some of a patient's variables). Problems name the file, the row and the
column (``value`` or ``value_text``); :func:`regmed.registry.importer.prepare_import` adds them
to the others, so nothing is written on refusal.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from regmed.errors import Problem
from regmed.registry.dictionary import PSEUDONYM_COLUMN
from regmed.registry.models import Baseline, Patient
from regmed.registry.study_dictionary import latest_study_dictionary
from regmed.registry.validate import ParsedTable
from regmed.study import StudyDictionary, validate_record
from regmed.study.validate import MESSAGES

__all__ = ["study_problems", "baseline_problems", "row_problems", "stored_problems",
           "governed_variables"]

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


def baseline_problems(session: Session, parsed: ParsedTable, dictionary: StudyDictionary
                      ) -> list[Problem]:
    """Problems of the ``baseline`` rows of an import against ``dictionary``."""
    f = parsed.frame
    if not {PSEUDONYM_COLUMN, "variable"} <= set(f.columns):
        return []
    problems: list[Problem] = []
    values = f["value"] if "value" in f else pd.Series([None] * len(f), index=f.index)
    texts = f["value_text"] if "value_text" in f else pd.Series([None] * len(f), index=f.index)
    rows: dict[str, dict[str, tuple[int, str]]] = {}
    given: dict[str, dict[str, Any]] = {}
    for i, (p, var, value, text) in enumerate(zip(f[PSEUDONYM_COLUMN], f["variable"], values,
                                                  texts, strict=True)):
        if not _given(p) or not _given(var):
            continue
        if dictionary.variable(str(var)) is None:
            problems.append(Problem(MESSAGES["unknown"]["en"], file=parsed.file, row=i + 1,
                                    field="variable"))
            continue
        column = "value" if _given(value) else "value_text"
        given.setdefault(str(p), {})[str(var)] = value if _given(value) else text
        rows.setdefault(str(p), {})[str(var)] = (i + 1, column)
    stored = _stored(session, sorted(given))
    for p, new in given.items():
        problems += _patient_problems(dictionary, stored.get(p, {}), new, rows[p], parsed.file)
    return problems


def _patient_problems(dictionary: StudyDictionary, stored: dict[str, Any],
                      new: dict[str, Any], rows: dict[str, tuple[int, str]], file: str
                      ) -> list[Problem]:
    """A patient's new values checked with the stored ones; each problem at the row (and
    column) that gave the variable, or — for a stored value that the new values make wrong
    (e.g. now hidden by a branching logic) — at the patient's first row. Problems the stored
    values have without the new ones are not this import's."""
    problems: list[Problem] = []
    merged = {**stored, **new}
    forms = list(dict.fromkeys(v.form for v in dictionary.variables if v.name in merged))
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
                problems.append(Problem(q.message, file=file, row=first,
                                        field=f"{q.field} (stored value)"))
    return problems


def row_problems(session: Session, values: dict[str, Any], file: str) -> list[Problem]:
    """Problems of one ``baseline`` row (the web's single-record path, as row 1 of ``file``)
    against the stored study dictionary (none without one)."""
    dictionary = latest_study_dictionary(session)
    p, var = values.get(PSEUDONYM_COLUMN), values.get("variable")
    if dictionary is None or not _given(p) or not _given(var):
        return []
    if dictionary.variable(str(var)) is None:
        return [Problem(MESSAGES["unknown"]["en"], file=file, row=1, field="variable")]
    value, text = values.get("value"), values.get("value_text")
    column = "value" if _given(value) else "value_text"
    new = {str(var): value if _given(value) else text}
    stored = _stored(session, [str(p)]).get(str(p), {})
    return _patient_problems(dictionary, stored, new, {str(var): (1, column)}, file)


def governed_variables(session: Session) -> frozenset[str]:
    """The baseline variables the stored study dictionary defines: its rules (and sentences)
    govern their values, in place of the registry's own ``coded_values`` (one rule, one
    sentence per value); empty without a dictionary."""
    dictionary = latest_study_dictionary(session)
    return frozenset() if dictionary is None else frozenset(dictionary.names())


def study_problems(session: Session, parsed: dict[str, ParsedTable]) -> list[Problem]:
    """Problems of an import's tables against the stored study dictionary (none without
    one)."""
    if "baseline" not in parsed or not parsed["baseline"].header_ok:
        return []
    dictionary = latest_study_dictionary(session)
    if dictionary is None:
        return []
    return baseline_problems(session, parsed["baseline"], dictionary)


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
