"""The study dictionary as frozen models: variables on forms, choices, visits.

A :class:`StudyDictionary` is what REDCap calls a data dictionary, plus the visit schedule:
every variable with its form, type, Japanese and English labels, unit, range, coded choices,
whether it is required, its branching logic and (for calculated fields) its calculation.
Build one with :func:`build_dictionary`, which checks the whole dictionary at once (names,
choices, ranges, expressions and the variables they name) and lists every problem.

Examples
--------
>>> d = build_dictionary([
...     Variable(form="baseline", name="sex", field_type="single_choice", label_ja="性別",
...              label_en="Sex", choices=[Choice(code="M", label_ja="男性", label_en="Male"),
...                                       Choice(code="F", label_ja="女性", label_en="Female")]),
...     Variable(form="baseline", name="pregnant", field_type="yes_no", label_ja="妊娠",
...              branching="[sex] = 'F'"),
... ])
>>> [v.name for v in d.form("baseline")]
['sex', 'pregnant']
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from regmed.errors import DataError, Problem
from regmed.study.expr import ExpressionError, parse, references

__all__ = ["FIELD_TYPES", "Choice", "Variable", "Visit", "FormEvent", "FormLabel",
           "StudyDictionary",
           "build_dictionary", "dictionary_problems", "event_problems", "YES_NO_CHOICES",
           "LABEL_SEPARATOR"]

#: The field types of a study variable (``descriptive`` is display text with no value).
FIELD_TYPES = ("text", "integer", "number", "date", "single_choice", "multiple_choice",
               "yes_no", "calculated", "descriptive")
FieldType = Literal["text", "integer", "number", "date", "single_choice", "multiple_choice",
                    "yes_no", "calculated", "descriptive"]
#: The separator of a bilingual label: ``日本語 / English``.
LABEL_SEPARATOR = " / "
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_CODE = re.compile(r"^[A-Za-z0-9_.\-]+$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Choice(_Frozen):
    """One coded choice: the code stored, its Japanese and (optional) English label."""

    code: str
    label_ja: str
    label_en: str | None = None


#: The choices of a yes/no field (REDCap's ``yesno``: 1 yes, 0 no).
YES_NO_CHOICES = (Choice(code="1", label_ja="はい", label_en="Yes"),
                  Choice(code="0", label_ja="いいえ", label_en="No"))


class Variable(_Frozen):
    """One variable (a REDCap field) of a form."""

    form: str
    name: str
    field_type: FieldType
    label_ja: str
    label_en: str | None = None
    unit: str | None = None
    min: float | dt.date | None = None
    max: float | dt.date | None = None
    choices: tuple[Choice, ...] = ()
    required: bool = False
    branching: str | None = None
    calculation: str | None = None
    #: How a choice or text is shown: ``dropdown``/``radio`` (single choice), ``truefalse``
    #: (yes/no), ``notes`` (multi-line text); kept for the REDCap export.
    widget: Literal["dropdown", "radio", "truefalse", "notes"] | None = None
    section_header: str | None = None
    field_note: str | None = None
    identifier: bool = False
    alignment: str | None = None
    question_number: str | None = None
    annotation: str | None = None

    def label(self, lang: str = "en") -> str:
        """The label in ``lang`` (the Japanese one when there is no English)."""
        return self.label_en if lang == "en" and self.label_en else self.label_ja

    def codes(self) -> tuple[Choice, ...]:
        """The choices of the field (yes/no fields: 1 and 0)."""
        if self.field_type == "yes_no":
            if self.widget == "truefalse":
                return (Choice(code="1", label_ja="真", label_en="True"),
                        Choice(code="0", label_ja="偽", label_en="False"))
            return YES_NO_CHOICES
        return self.choices


class Visit(_Frozen):
    """A visit of the schedule: name, target day (from the index date) and window (days)."""

    name: str
    day: int
    window: int = 0


class FormEvent(_Frozen):
    """A form filled at a visit (a row of REDCap's instrument designation: arm, event,
    form). Forms named by no event are patient-level (one instance per patient)."""

    arm: int = 1
    visit: str
    form: str


class FormLabel(_Frozen):
    """A form's title (REDCap's instrument label), ``日本語 / English`` when bilingual."""

    form: str
    label: str


class StudyDictionary(_Frozen):
    """The study's variables, visit schedule and which forms are filled at which visits
    (build it with :func:`build_dictionary`)."""

    version: int = 1
    variables: tuple[Variable, ...]
    visits: tuple[Visit, ...] = ()
    events: tuple[FormEvent, ...] = ()
    form_labels: tuple[FormLabel, ...] = ()

    def form_label(self, form: str, lang: str = "en") -> str:
        """The title of ``form`` in ``lang``: its instrument label (the language's half of a
        bilingual ``日本語 / English`` label), else the form name with spaces for ``_``."""
        text = next((f.label for f in self.form_labels if f.form == form), None)
        if not text:
            return form.replace("_", " ")
        if LABEL_SEPARATOR not in text:
            return text
        ja, en = (x.strip() for x in text.split(LABEL_SEPARATOR, 1))
        return (en or ja) if lang == "en" else (ja or en)

    def visit_forms(self, visit: str) -> list[str]:
        """The forms filled at ``visit``, in the dictionary's form order."""
        mapped = {e.form for e in self.events if e.visit == visit}
        return [f for f in self.forms() if f in mapped]

    def form_visits(self, form: str) -> list[str]:
        """The visits at which ``form`` is filled, in schedule order (none: patient-level)."""
        mapped = {e.visit for e in self.events if e.form == form}
        return [v.name for v in self.visits if v.name in mapped]

    def patient_forms(self) -> list[str]:
        """The forms filled once per patient (mapped to no visit)."""
        mapped = {e.form for e in self.events}
        return [f for f in self.forms() if f not in mapped]

    def visit_of_variable(self, name: str) -> bool:
        """Whether variable ``name`` is on a visit form (its values are per visit)."""
        v = self.variable(name)
        return v is not None and any(e.form == v.form for e in self.events)

    def forms(self) -> list[str]:
        """The form names in order of first appearance."""
        return list(dict.fromkeys(v.form for v in self.variables))

    def form(self, name: str) -> list[Variable]:
        """The variables of form ``name`` in order."""
        return [v for v in self.variables if v.form == name]

    def variable(self, name: str) -> Variable | None:
        """The variable called ``name`` (None if there is none)."""
        return next((v for v in self.variables if v.name == name), None)

    def names(self) -> list[str]:
        """Every variable name in order."""
        return [v.name for v in self.variables]

    def to_json(self) -> str:
        """Canonical JSON (sorted keys): what the registry stores and hashes."""
        import json

        data = self.model_dump(mode="json")
        for key in ("events", "form_labels"):  # versions stored before keep their SHA-256
            if not data[key]:
                del data[key]
        return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    def sha256(self) -> str:
        """SHA-256 of :meth:`to_json`."""
        return hashlib.sha256(self.to_json().encode("utf-8")).hexdigest()

    @classmethod
    def from_json(cls, text: str) -> StudyDictionary:
        """Read what :meth:`to_json` wrote."""
        return cls.model_validate_json(text)


def _variable_problems(v: Variable, known: dict[str, Variable]) -> list[Problem]:
    out: list[Problem] = []

    def bad(message: str, attribute: str) -> None:
        out.append(Problem(message, field=f"{v.name}.{attribute}"))

    if not _NAME.match(v.name):
        bad("a variable name is lower-case letters, digits and _ and starts with a letter",
            "name")
    if not _NAME.match(v.form):
        bad("a form name is lower-case letters, digits and _ and starts with a letter", "form")
    if not v.label_ja.strip():
        bad("a label is required", "label_ja")
    if LABEL_SEPARATOR in v.label_ja:
        bad(f"the Japanese label may not hold {LABEL_SEPARATOR.strip()!r} between spaces "
            "(it separates the English label)", "label_ja")
    choice_type = v.field_type in ("single_choice", "multiple_choice")
    if choice_type and not v.choices:
        bad("a choice field needs its choices (code, label)", "choices")
    if v.choices and not choice_type:
        bad(f"a {v.field_type} field has no choices", "choices")
    codes = [c.code for c in v.choices]
    for c in v.choices:
        if not _CODE.match(c.code):
            bad(f"a choice code is letters, digits, '_', '.' or '-': {c.code!r}", "choices")
        if not c.label_ja.strip():
            bad(f"choice {c.code!r} has no label", "choices")
    dup = sorted({c for c in codes if codes.count(c) > 1})
    if dup:
        bad(f"choice codes given twice: {', '.join(dup)}", "choices")
    for lim in ("min", "max"):
        x = getattr(v, lim)
        if x is None:
            continue
        if v.field_type == "date" and not isinstance(x, dt.date):
            bad(f"the {lim}imum of a date is a date (YYYY-MM-DD)", lim)
        elif v.field_type in ("integer", "number") and isinstance(x, dt.date):
            bad(f"the {lim}imum of a {v.field_type} field is a number", lim)
        elif v.field_type not in ("date", "integer", "number"):
            bad(f"a {v.field_type} field has no {lim}imum", lim)
    if (v.min is not None and v.max is not None and type(v.min) is type(v.max)
            and v.min > v.max):  # type: ignore[operator]
        bad(f"the minimum {v.min} is above the maximum {v.max}", "min")
    if v.field_type == "calculated":
        if not v.calculation:
            bad("a calculated field needs its calculation", "calculation")
    elif v.calculation:
        bad("only a calculated field has a calculation", "calculation")
    for attr, kind in (("branching", "branching"), ("calculation", "calculation")):
        text = getattr(v, attr)
        if not text:
            continue
        try:
            tree = parse(text, kind=kind, where=f"{v.name}.{attr}")  # type: ignore[arg-type]
        except ExpressionError as exc:
            label = "branching logic" if attr == "branching" else "calculation"
            out += [Problem(f"the {label} of {v.name} cannot be read: {p.message}",
                            field=p.field) for p in exc.problems]
            continue
        for ref in references(tree):
            target = known.get(ref.name)
            if target is None:
                bad(f"names [{ref.name}], which is not a variable of the dictionary", attr)
            elif ref.code is not None and (target.field_type != "multiple_choice"
                                           or ref.code not in {c.code for c in target.choices}):
                bad(f"[{ref.name}({ref.code})] needs a checkbox field {ref.name} with the "
                    f"code {ref.code}", attr)
            elif kind == "calculation" and target.field_type not in (
                    "integer", "number", "calculated", "yes_no", "single_choice"):
                bad(f"[{ref.name}] is a {target.field_type} field, not a number", attr)
            elif ref.name == v.name:
                bad("an expression may not name its own field", attr)
    return out


def dictionary_problems(variables: Sequence[Variable]) -> list[Problem]:
    """Every problem of a list of variables (the field is ``variable.attribute``)."""
    known = {v.name: v for v in variables}
    problems: list[Problem] = []
    names = [v.name for v in variables]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(Problem("the variable name is given more than once",
                                field=f"{name}.name"))
    for v in variables:
        problems += _variable_problems(v, known)
    return problems


def _reference_problems(variables: Sequence[Variable], visits_of: dict[str, set[str]]
                        ) -> list[Problem]:
    """Branching logic and calculations read values of the same visit and patient-level
    values only: a patient-level form may not name a visit form's variable, and a visit
    form may name another visit form's variable only if that form is filled at each of its
    visits."""
    out = []
    form_of = {v.name: v.form for v in variables}
    for v in variables:
        mine = visits_of.get(v.form, set())
        for attr in ("branching", "calculation"):
            text = getattr(v, attr)
            if not text:
                continue
            try:
                names = {r.name for r in references(parse(text, kind=attr))}  # type: ignore
            except ExpressionError:
                continue  # named by dictionary_problems
            for name in sorted(names):
                theirs = visits_of.get(form_of.get(name, ""), set())
                if not theirs:
                    continue
                if not mine:
                    out.append(Problem(
                        f"names [{name}] of the visit form {form_of[name]}, but {v.form} is "
                        "filled once per patient: it can name patient-level values only",
                        field=f"{v.name}.{attr}"))
                elif mine - theirs:
                    missing = ", ".join(sorted(mine - theirs))
                    out.append(Problem(
                        f"names [{name}] of the form {form_of[name]}, which is not filled at "
                        f"visit {missing} (where {v.form} is)", field=f"{v.name}.{attr}"))
    return out


def event_problems(variables: Sequence[Variable], visits: Sequence[Visit],
                   events: Sequence[FormEvent]) -> list[Problem]:
    """Every problem of an instrument–event mapping (field ``events[i].form``, ``.visit``,
    ``.arm`` — ``i`` counts from 1 — or ``variable.attribute`` for an expression that reads
    another visit's values)."""
    forms = {v.form for v in variables}
    known = {v.name for v in visits}
    problems: list[Problem] = []
    seen: set[tuple[int, str, str]] = set()
    for i, e in enumerate(events, start=1):
        if e.arm != 1:
            problems.append(Problem(f"arm {e.arm}: regmed's visit schedule has one arm "
                                    "(arm_num 1)", field=f"events[{i}].arm"))
        if e.visit not in known:
            listed = ", ".join(v.name for v in visits) or "none: give the schedule first"
            problems.append(Problem(f"the visit {e.visit!r} is not in the visit schedule "
                                    f"({listed})", field=f"events[{i}].visit"))
        if e.form not in forms:
            problems.append(Problem(f"the form {e.form!r} is not a form of the data "
                                    "dictionary", field=f"events[{i}].form"))
        if (e.arm, e.visit, e.form) in seen:
            problems.append(Problem("the form is mapped to this visit twice",
                                    field=f"events[{i}].form"))
        seen.add((e.arm, e.visit, e.form))
    if not problems:
        visits_of: dict[str, set[str]] = {}
        for e in events:
            visits_of.setdefault(e.form, set()).add(e.visit)
        problems += _reference_problems(variables, visits_of)
    return problems


def build_dictionary(variables: Iterable[Variable], *, visits: Iterable[Visit] = (),
                     events: Iterable[FormEvent] = (), version: int = 1) -> StudyDictionary:
    """Check and build a study dictionary.

    Raises
    ------
    DataError
        Listing every problem (field ``variable.attribute``, ``visits.name`` or
        ``events[i].form``).
    """
    variables = tuple(variables)
    problems = dictionary_problems(variables)
    visits = tuple(visits)
    events = tuple(events)
    vnames = [v.name for v in visits]
    for name in sorted({n for n in vnames if vnames.count(n) > 1}):
        problems.append(Problem("the visit is given more than once", field=f"visits.{name}"))
    if not problems:
        problems += event_problems(variables, visits, events)
    if problems:
        raise DataError("the study dictionary is not valid", problems)
    return StudyDictionary(version=version, variables=variables, visits=visits, events=events)
