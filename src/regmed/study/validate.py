"""One set of value rules for every path: :func:`validate_record`.

The importer (baseline rows), the web forms and the extraction all call this function, so a
value is accepted or refused — with the same plain-language sentence — whatever the path.
Messages exist in English and Japanese (``lang="en"`` or ``"ja"``); each problem's field is
the variable name.

Rules, per variable of the form:

* a field hidden by its branching logic must be empty;
* a required field must have a value — only when its branching shows it;
* the value must be of the field's type (whole number, number, date ``YYYY-MM-DD``, one of the
  choice codes, only choice codes for a checkbox, 1/0 for yes/no);
* numbers and dates within the field's minimum and maximum;
* a calculated field, when given, must equal its calculation;
* a descriptive field takes no value.

A checkbox's value is a collection of ticked codes, a ``"1|3"`` text, or REDCap's export
columns ``name___1 = 1``.

Examples
--------
>>> from regmed.study.model import Variable, build_dictionary
>>> d = build_dictionary([Variable(form="f", name="age", field_type="integer",
...                                label_ja="年齢", label_en="Age", min=0, max=120,
...                                required=True)])
>>> [p.message for p in validate_record(d, "f", {"age": "130"})]
['Must be at most 120 (got 130).']
>>> [p.message for p in validate_record(d, "f", {"age": "abc"}, lang="ja")]
['整数を入力してください（入力値: abc）。']
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from regmed.errors import Problem
from regmed.study.expr import Node, evaluate, is_empty, parse
from regmed.study.model import StudyDictionary, Variable

__all__ = ["validate_record", "parse_field", "MESSAGES", "record_values", "visible",
           "message", "limit_text", "value_text"]

#: The problem texts, by key and language.
MESSAGES: dict[str, dict[str, str]] = {
    "required": {"en": "Required: enter a value.",
                 "ja": "必須項目です。値を入力してください。"},
    "hidden": {"en": "Must be empty: this field is not shown for these answers "
                     "(shown only if {branching}).",
               "ja": "この回答では表示されない項目です。空欄にしてください"
                     "（表示条件: {branching}）。"},
    "integer": {"en": "Enter a whole number (got {raw}).",
                "ja": "整数を入力してください（入力値: {raw}）。"},
    "number": {"en": "Enter a number (got {raw}).",
               "ja": "数値を入力してください（入力値: {raw}）。"},
    "date": {"en": "Enter a date as YYYY-MM-DD (got {raw}).",
             "ja": "日付を YYYY-MM-DD の形式で入力してください（入力値: {raw}）。"},
    "choice": {"en": "Choose one of {choices} (got {raw}).",
               "ja": "{choices} のいずれかを選んでください（入力値: {raw}）。"},
    "choices": {"en": "Choose only from {choices} (not {raw}).",
                "ja": "{choices} の中から選んでください（{raw} は選べません）。"},
    "yes_no": {"en": "Answer 1 (yes) or 0 (no) (got {raw}).",
               "ja": "1（はい）か 0（いいえ）で答えてください（入力値: {raw}）。"},
    "min": {"en": "Must be at least {limit} (got {raw}).",
            "ja": "{limit} 以上を入力してください（入力値: {raw}）。"},
    "max": {"en": "Must be at most {limit} (got {raw}).",
            "ja": "{limit} 以下を入力してください（入力値: {raw}）。"},
    "calculated": {"en": "Does not match its calculation {calculation}: expected {expected} "
                         "(got {raw}).",
                   "ja": "計算式 {calculation} の結果 {expected} と一致しません"
                         "（入力値: {raw}）。"},
    "descriptive": {"en": "This is display text and takes no value.",
                    "ja": "説明文の項目のため、値は入力できません。"},
    "unknown": {"en": "Not a variable of the study dictionary.",
                "ja": "研究辞書にない変数です。"},
}
_INT = re.compile(r"^[+-]?\d+$")
_CHECKBOX_KEY = re.compile(r"^([a-z][a-z0-9_]*)___([A-Za-z0-9_.\-]+)$")


def _text(raw: Any) -> str:
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, (set, frozenset, list, tuple)):
        return "|".join(sorted(_text(x) for x in raw))
    if isinstance(raw, bool):
        return "1" if raw else "0"
    return str(raw).strip()


def _msg(key: str, lang: str, **kw: Any) -> str:
    table = MESSAGES[key]
    return table.get(lang, table["en"]).format(**kw)


def _choices_text(v: Variable, lang: str) -> str:
    return ", ".join(f"{c.code} = {c.label_en if lang == 'en' and c.label_en else c.label_ja}"
                     for c in v.codes())


def _limit_text(x: float | dt.date, v: Variable) -> str:
    if isinstance(x, dt.date):
        return x.isoformat()
    shown = str(int(x)) if float(x).is_integer() else str(x)
    return f"{shown} {v.unit}" if v.unit else shown


def parse_field(v: Variable, raw: Any, lang: str = "en") -> tuple[Any, str | None]:
    """Read one value of variable ``v``: ``(value, None)`` or ``(None, message)``.

    Empty values give ``(None, None)``. Values: ``str`` (text, choice codes), ``int``,
    ``float``, ``datetime.date``, ``frozenset`` of codes (checkbox).
    """
    if is_empty(raw):
        return None, None
    shown = _text(raw)
    kind = v.field_type
    if kind == "descriptive":
        return None, _msg("descriptive", lang)
    if kind == "text":
        return shown, None
    if kind == "integer":
        if isinstance(raw, bool):
            return None, _msg("integer", lang, raw=shown)
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            if math.isfinite(raw) and float(raw).is_integer():
                return int(raw), None
            return None, _msg("integer", lang, raw=shown)
        if _INT.match(shown):
            return int(shown), None
        return None, _msg("integer", lang, raw=shown)
    if kind in ("number", "calculated"):
        try:
            x = float(raw) if not isinstance(raw, bool) else math.nan
        except (TypeError, ValueError):
            x = math.nan
        if not math.isfinite(x):
            return None, _msg("number", lang, raw=shown)
        return x, None
    if kind == "date":
        if isinstance(raw, dt.datetime):
            return raw.date(), None
        if isinstance(raw, dt.date):
            return raw, None
        try:
            if len(shown) != 10:
                raise ValueError
            return dt.date.fromisoformat(shown), None
        except ValueError:
            return None, _msg("date", lang, raw=shown)
    codes = [c.code for c in v.codes()]
    if kind == "multiple_choice":
        items = raw if isinstance(raw, (set, frozenset, list, tuple)) else shown.split("|")
        ticked = frozenset(_text(x) for x in items if not is_empty(x))
        bad = sorted(ticked - set(codes))
        if bad:
            return None, _msg("choices", lang, choices=_choices_text(v, lang),
                              raw=", ".join(bad))
        return ticked, None
    if shown not in codes:
        key = "yes_no" if kind == "yes_no" and v.widget != "truefalse" else "choice"
        return None, _msg(key, lang, choices=_choices_text(v, lang), raw=shown)
    return shown, None


@lru_cache(maxsize=512)
def _tree(text: str, kind: str) -> Node:
    return parse(text, kind=kind)  # type: ignore[arg-type]


def record_values(dictionary: StudyDictionary, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values with REDCap's checkbox columns (``name___code``) folded into code sets."""
    out: dict[str, Any] = {}
    boxes: dict[str, set[str]] = {}
    for key, raw in values.items():
        m = _CHECKBOX_KEY.match(key)
        if m and key not in {v.name for v in dictionary.variables}:
            v = dictionary.variable(m.group(1))
            if v is not None and v.field_type == "multiple_choice":
                box = boxes.setdefault(m.group(1), set())
                if _text(raw) in ("1", "True", "true"):
                    box.add(m.group(2))
                continue
        out[key] = raw
    for name, box in boxes.items():
        out.setdefault(name, frozenset(box))
    return out


def _environment(dictionary: StudyDictionary, values: Mapping[str, Any]) -> dict[str, Any]:
    """Readable values by name (raw where unreadable), with calculations computed."""
    env: dict[str, Any] = {}
    for name, raw in values.items():
        v = dictionary.variable(name)
        if v is None:
            continue
        parsed, problem = parse_field(v, raw)
        value = raw if problem else parsed
        env[name] = value.isoformat() if isinstance(value, dt.date) else value
    for v in dictionary.variables:
        if v.field_type == "calculated" and v.calculation:
            env[f"__calc__{v.name}"] = evaluate(_tree(v.calculation, "calculation"), env)
            if is_empty(env.get(v.name)):
                env[v.name] = env[f"__calc__{v.name}"]
    return env


def visible(v: Variable, env: Mapping[str, Any]) -> bool:
    """Whether ``v``'s branching logic shows it for the values ``env``."""
    if not v.branching:
        return True
    return bool(evaluate(_tree(v.branching, "branching"), env))


def validate_record(dictionary: StudyDictionary, form: str, values: Mapping[str, Any], *,
                    partial: bool = False, lang: str = "en") -> list[Problem]:
    """Every problem of one record of ``form`` (field = the variable name).

    Parameters
    ----------
    dictionary : StudyDictionary
    form : str
        The form whose variables are checked; values of other forms' variables are read
        only by branching logic and calculations.
    values : mapping
        Variable name → value (text as typed, or typed values).
    partial : bool
        Check only the variables given (an import that gives some of a record's values):
        required fields are not asked for.
    lang : {"en", "ja"}
        The language of the messages.

    Returns
    -------
    list of Problem
    """
    values = record_values(dictionary, values)
    problems = [Problem(_msg("unknown", lang), field=name) for name in values
                if dictionary.variable(name) is None]
    env = _environment(dictionary, values)
    for v in dictionary.form(form):
        given = v.name in values
        if partial and not given:
            continue
        raw = values.get(v.name)
        empty = is_empty(raw)
        if not visible(v, env):
            if not empty:
                problems.append(Problem(_msg("hidden", lang, branching=v.branching),
                                        field=v.name))
            continue
        if empty:
            if v.required and not partial and v.field_type not in ("calculated", "descriptive"):
                problems.append(Problem(_msg("required", lang), field=v.name))
            continue
        value, message = parse_field(v, raw, lang)
        if message:
            problems.append(Problem(message, field=v.name))
            continue
        problems += _range(v, value, lang)
        if v.field_type == "calculated":
            expected = env.get(f"__calc__{v.name}")
            if expected is not None and not math.isclose(value, expected, rel_tol=1e-9,
                                                         abs_tol=1e-9):
                problems.append(Problem(_msg("calculated", lang, calculation=v.calculation,
                                             expected=_text(round(expected, 10)),
                                             raw=_text(raw)), field=v.name))
    return problems


def _range(v: Variable, value: Any, lang: str) -> list[Problem]:
    out: list[Problem] = []
    if v.field_type not in ("integer", "number", "date"):
        return out
    shown = value.isoformat() if isinstance(value, dt.date) else _text(value)
    if v.min is not None and _below(value, v.min):
        out.append(Problem(_msg("min", lang, limit=_limit_text(v.min, v), raw=shown),
                           field=v.name))
    if v.max is not None and _below(v.max, value):
        out.append(Problem(_msg("max", lang, limit=_limit_text(v.max, v), raw=shown),
                           field=v.name))
    return out


def _below(a: Any, b: Any) -> bool:
    if isinstance(a, dt.date) != isinstance(b, dt.date):
        return False
    return bool(a < b)


#: The sentence of a problem by its key (:data:`MESSAGES`) in ``lang``, for checkers of whole
#: columns (:mod:`regmed.app.pool_columns`) that word a problem as this module does.
message = _msg
#: A range limit as the sentences show it (``120 years``).
limit_text = _limit_text
#: A value as the sentences quote it (``130``, not ``130.0``).
value_text = _text
