"""Forms generated from the study dictionary (:mod:`regmed.study`): one page per patient and
patient-level form, saved as ``baseline`` rows, and one per patient, visit and visit form (the
dictionary's instrument–event mapping), saved as ``visit_values`` rows — both through the
audited :func:`regmed.registry.save_row`.

The values are checked with :func:`regmed.study.validate_record` — the importer's rules and
sentences — over the typed values and the patient's stored values of the other forms (a
branching logic may name the patient-level values and those of the same visit); every problem
is shown at once beside its field, nothing is written on refusal. A change reason is asked for
only when a saved value changes. Emptying the field of a saved value deletes that value
(audited, with the reason); a required field cannot be emptied (the importer's sentence).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from regmed.errors import DataError, Problem
from regmed.registry import Baseline, Patient, User, VisitValue, delete_record, save_row
from regmed.study import StudyDictionary, Variable, validate_record
from regmed.study.expr import is_empty
from regmed.study.model import LABEL_SEPARATOR
from regmed.study.validate import _environment, parse_field, record_values, visible
from regmed.web import services as svc

__all__ = ["FormField", "stored_values", "form_values", "form_fields", "visibility",
           "save_form", "widget_of", "REASON_NEEDED"]

#: The problem of a changed value without a reason (a message id of the catalogue).
REASON_NEEDED = "A saved value changes: give the reason for the change."


@dataclass
class FormField:
    """One variable as the page shows it."""

    var: Variable
    widget: str
    label: str
    shown: bool
    value: Any = None
    choices: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    low: str | None = None
    high: str | None = None
    section: str | None = None


def _limit(x: Any) -> str | None:
    """A minimum or maximum as a form shows it (``120.0`` → ``"120"``)."""
    if x is None:
        return None
    if isinstance(x, dt.date):
        return x.isoformat()
    return str(int(x)) if float(x).is_integer() else str(x)


def _in_lang(text: str | None, lang: str) -> str | None:
    """A bilingual ``日本語 / English`` text in ``lang`` (as it is when not bilingual)."""
    if not text or LABEL_SEPARATOR not in text:
        return text
    ja, en = text.split(LABEL_SEPARATOR, 1)
    return en.strip() if lang == "en" and en.strip() else ja.strip()


def widget_of(v: Variable) -> str:
    """The HTML widget of a variable: ``select``, ``radio``, ``checkbox``, ``date``,
    ``integer``, ``number``, ``text``, ``textarea``, ``calculated`` or ``descriptive``."""
    kind = v.field_type
    if kind == "single_choice":
        return "radio" if v.widget == "radio" else "select"
    if kind == "multiple_choice":
        return "checkbox"
    if kind == "yes_no":
        return "radio"
    if kind == "text":
        return "textarea" if v.widget == "notes" else "text"
    return kind


def stored_values(session: Session, patient_id: int, dictionary: StudyDictionary | None = None,
                  visit: str | None = None) -> dict[str, Any]:
    """The patient's saved values by variable (the number, else the text): the patient-level
    (baseline) values, and with ``visit`` the values of that visit. With ``dictionary``, only
    its patient-level variables are read from the baseline rows."""
    rows = session.execute(select(Baseline.variable, Baseline.value, Baseline.value_text)
                           .where(Baseline.patient_id == patient_id))
    out = {var: value if value is not None else text for var, value, text in rows
           if dictionary is None or not dictionary.visit_of_variable(var)}
    if visit is not None:
        rows = session.execute(select(VisitValue.variable, VisitValue.value,
                                      VisitValue.value_text)
                               .where(VisitValue.patient_id == patient_id,
                                      VisitValue.visit == visit))
        out.update({var: value if value is not None else text for var, value, text in rows})
    return out


def _shown_text(v: Variable, raw: Any) -> Any:
    """A stored value as a form shows it (``40.0`` → ``"40"``; checkbox: a set of codes)."""
    if is_empty(raw):
        return None
    parsed, problem = parse_field(v, raw)
    if problem:
        return str(raw)
    if isinstance(parsed, frozenset):
        return parsed
    if isinstance(parsed, dt.date):
        return parsed.isoformat()
    if isinstance(parsed, float) and parsed.is_integer():
        return str(int(parsed))
    return str(parsed)


def form_values(dictionary: StudyDictionary, form: str, posted: Mapping[str, list[str]]
                ) -> dict[str, Any]:
    """The typed values of ``form``'s variables from a posted form (checkboxes: sets)."""
    out: dict[str, Any] = {}
    for v in dictionary.form(form):
        if v.field_type in ("calculated", "descriptive"):
            continue
        got = [x.strip() for x in posted.get(v.name, []) if x.strip()]
        if v.field_type == "multiple_choice":
            out[v.name] = frozenset(got) if got else None
        else:
            out[v.name] = got[-1] if got else None
    return out


def _merged(dictionary: StudyDictionary, form: str, stored: Mapping[str, Any],
            typed: Mapping[str, Any] | None) -> dict[str, Any]:
    """Values the branching reads: stored ones (as shown), with the typed ones of ``form``."""
    values = {k: _shown_text(v, x) for k, x in stored.items()
              if (v := dictionary.variable(k)) is not None}
    if typed is not None:
        for v in dictionary.form(form):
            if v.field_type not in ("calculated", "descriptive"):
                values[v.name] = typed.get(v.name)
    return values


def visibility(dictionary: StudyDictionary, form: str, values: Mapping[str, Any]
               ) -> dict[str, bool]:
    """Whether each variable of ``form`` is shown for ``values`` (the same evaluator as the
    importer's rules)."""
    env = _environment(dictionary, record_values(dictionary, values))
    return {v.name: visible(v, env) for v in dictionary.form(form)}


def _calculated(dictionary: StudyDictionary, values: Mapping[str, Any]) -> dict[str, Any]:
    env = _environment(dictionary, record_values(dictionary, values))
    return {k[len("__calc__"):]: x for k, x in env.items() if k.startswith("__calc__")}


def form_fields(dictionary: StudyDictionary, form: str, stored: Mapping[str, Any],
                lang: str, typed: Mapping[str, Any] | None = None,
                errors: Mapping[str, list[str]] | None = None) -> list[FormField]:
    """The fields of ``form`` with their labels in ``lang``, widgets, values (typed, else
    stored) and whether the branching shows them."""
    values = _merged(dictionary, form, stored, typed)
    shown = visibility(dictionary, form, values)
    calc = _calculated(dictionary, values)
    out = []
    for v in dictionary.form(form):
        value = values.get(v.name)
        if v.field_type == "calculated":
            x = calc.get(v.name)
            value = None if x is None else f"{round(float(x), 2):g}"
        choices = [(c.code, c.label_en if lang == "en" and c.label_en else c.label_ja)
                   for c in v.codes()]
        out.append(FormField(var=v, widget=widget_of(v), label=v.label(lang),
                             shown=shown[v.name], value=value, choices=choices,
                             errors=list((errors or {}).get(v.name, [])),
                             low=_limit(v.min), high=_limit(v.max),
                             section=_in_lang(v.section_header, lang)))
    return out


def _row(v: Variable, raw: Any) -> dict[str, Any]:
    """The ``value`` / ``value_text`` columns of a checked value."""
    parsed, _ = parse_field(v, raw)
    if v.field_type in ("integer", "number", "calculated"):
        return {"value": float(parsed), "value_text": None}
    if isinstance(parsed, frozenset):
        return {"value": None, "value_text": "|".join(sorted(parsed))}
    if isinstance(parsed, dt.date):
        return {"value": None, "value_text": parsed.isoformat()}
    return {"value": None, "value_text": str(parsed)}


def _same(v: Variable, a: Any, b: Any) -> bool:
    return bool(parse_field(v, a)[0] == parse_field(v, b)[0])


def _clear(session: Session, user: User, patient: Patient, v: Variable, visit: str | None,
           reason: str | None) -> None:
    """Delete the saved value of ``v`` (audited with ``reason``; refused when locked)."""
    if visit is None:
        record: Baseline | VisitValue | None = session.scalars(select(Baseline).where(
            Baseline.patient_id == patient.id, Baseline.variable == v.name)).first()
    else:
        record = session.scalars(select(VisitValue).where(
            VisitValue.patient_id == patient.id, VisitValue.visit == visit,
            VisitValue.variable == v.name)).first()
    if record is None:
        return
    try:
        delete_record(record, session=session, actor=user.username, reason=reason)
    except DataError as exc:
        raise DataError(exc.message, [Problem(p.message, field=v.name)
                                      for p in exc.problems] or [
            Problem(exc.message, field=v.name)]) from exc


def save_form(session: Session, user: User, patient: Patient, dictionary: StudyDictionary,
              form: str, typed: Mapping[str, Any], reason: str | None, lang: str,
              reason_text: str, visit: str | None = None) -> list[str]:
    """Check and save the typed values of ``form`` for ``patient`` — one ``baseline`` row per
    variable, or with ``visit`` one ``visit_values`` row per variable, each audited; an
    emptied field of a saved value deletes it (audited). Returns the variables written or
    deleted.

    Raises
    ------
    DataError
        Every problem at once (field: the variable, or ``reason``); the caller rolls back.
    """
    site = svc.user_site_code(session, user)
    if user.role != "investigator" or site is None or patient.site_id != user.site_id:
        raise svc.NotFound(f"patient {patient.id} not found")
    stored = stored_values(session, patient.id, dictionary, visit)
    values = _merged(dictionary, form, stored, typed)
    calc = _calculated(dictionary, values)
    for v in dictionary.form(form):
        if v.field_type == "calculated":
            values[v.name] = calc.get(v.name)
    problems = validate_record(dictionary, form, values, lang=lang)
    writes: list[tuple[Variable, Any]] = []
    clears: list[Variable] = []
    changed = False
    for v in dictionary.form(form):
        new, old = values.get(v.name), stored.get(v.name)
        if v.field_type == "descriptive" or (is_empty(new) and is_empty(old)):
            continue
        if is_empty(new):
            clears.append(v)
            changed = True
            continue
        if not is_empty(old) and _same(v, old, new):
            continue
        changed = changed or not is_empty(old)
        writes.append((v, new))
    if changed and not (reason and reason.strip()):
        problems.append(Problem(reason_text, field="reason"))
    if problems:
        raise DataError(f"{form} refused: nothing was written", problems)
    where = {} if visit is None else {"visit": visit}
    for v in clears:  # first: a cleared value no longer steers the branching of the writes
        _clear(session, user, patient, v, visit, reason)
    for v, new in writes:
        row = {"site_code": site, "patient_pseudonym": patient.pseudonym, **where,
               "variable": v.name, **_row(v, new)}
        try:
            save_row(session, "baseline" if visit is None else "visit_values", row,
                     actor=user.username, reason=reason)
        except DataError as exc:
            raise DataError(exc.message, [Problem(p.message, field=v.name)
                                          for p in exc.problems]) from exc
    return [v.name for v in clears] + [v.name for v, _ in writes]
