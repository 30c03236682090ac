"""Read and write a REDCap data dictionary CSV, in the column layout REDCap exports.

Mapping of REDCap's field types to the study dictionary's:

==========================================  =====================================
REDCap (Field Type / Text Validation Type)  study dictionary
==========================================  =====================================
text (no validation)                        text
text / integer                              integer
text / number, number_1dp … number_4dp      number
text / date_ymd, date_dmy, date_mdy         date (ranges as YYYY-MM-DD)
notes                                       text (widget ``notes``)
dropdown, radio                             single_choice (widget kept)
checkbox                                    multiple_choice
yesno, truefalse                            yes_no (codes 1 and 0)
calc                                        calculated (its calculation)
descriptive                                 descriptive (display text, no value)
==========================================  =====================================

Refused, with file, row and column named (every problem at once): ``file``, ``slider`` and
``sql`` fields, matrix groups and matrix ranking, other text validations (email, phone,
datetime …), and anything the study dictionary cannot check (see
:func:`regmed.study.model.dictionary_problems`).

**Japanese and English labels** follow the common bilingual convention: a label (field label or
choice label) reads ``日本語 / English`` — the Japanese text, a slash between spaces, the
English text. A label without `` / `` is Japanese only. The writer writes the same form, so a
dictionary round-trips exactly. **Units** are kept in the Field Annotation as the action tag
``@UNIT="kg"`` (the rest of the annotation is kept as it is).

Examples
--------
>>> import tempfile, pathlib
>>> from regmed.study.model import Variable, build_dictionary
>>> d = build_dictionary([Variable(form="baseline", name="age", field_type="integer",
...                                label_ja="年齢", label_en="Age", unit="years", min=0)])
>>> path = pathlib.Path(tempfile.mkdtemp()) / "dd.csv"
>>> write_redcap_csv(d, path)
>>> read_redcap_csv(path) == d
True
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from regmed.errors import DataError, Problem
from regmed.study.model import (
    LABEL_SEPARATOR,
    Choice,
    StudyDictionary,
    Variable,
    build_dictionary,
    dictionary_problems,
)

__all__ = ["REDCAP_COLUMNS", "read_redcap_csv", "write_redcap_csv", "parse_redcap_text",
           "redcap_text", "read_text"]

#: The columns of a REDCap data dictionary, in REDCap's order.
REDCAP_COLUMNS = (
    "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
    "Choices, Calculations, OR Slider Labels", "Field Note",
    "Text Validation Type OR Show Slider Number", "Text Validation Min", "Text Validation Max",
    "Identifier?", "Branching Logic (Show field only if...)", "Required Field?",
    "Custom Alignment", "Question Number (surveys only)", "Matrix Group Name",
    "Matrix Ranking?", "Field Annotation",
)
(NAME, FORM, SECTION, TYPE, LABEL, CHOICES, NOTE, VALIDATION, VMIN, VMAX, IDENT, BRANCH,
 REQUIRED, ALIGN, QNUM, MATRIX, RANKING, ANNOTATION) = REDCAP_COLUMNS

_NUMBER_VALIDATIONS = {"number", "number_1dp", "number_2dp", "number_3dp", "number_4dp",
                       "float"}
_DATE_VALIDATIONS = {"date_ymd", "date_dmy", "date_mdy"}
_REFUSED_TYPES = {"file": "file upload fields are not supported",
                  "slider": "slider fields are not supported",
                  "sql": "sql fields are not supported"}
_ATTRIBUTE_COLUMN = {"name": NAME, "form": FORM, "label_ja": LABEL, "label_en": LABEL,
                     "choices": CHOICES, "calculation": CHOICES, "min": VMIN, "max": VMAX,
                     "branching": BRANCH}
_UNIT = re.compile(r'@UNIT=(?:"([^"]*)"|(\S+))')


def split_label(text: str) -> tuple[str, str | None]:
    """``日本語 / English`` → (``日本語``, ``English``); a label without the separator is
    Japanese only."""
    text = text.strip()
    if LABEL_SEPARATOR in text:
        ja, en = text.split(LABEL_SEPARATOR, 1)
        return ja.strip(), en.strip() or None
    return text, None


def join_label(ja: str, en: str | None) -> str:
    """The bilingual label :func:`split_label` reads."""
    return f"{ja}{LABEL_SEPARATOR}{en}" if en else ja


def _choices(text: str, problem: Any) -> tuple[Choice, ...]:
    out = []
    for part in text.split("|"):
        part = part.strip()
        if not part:
            continue
        if "," not in part:
            problem(f"a choice is 'code, label': {part!r}", CHOICES)
            continue
        code, label = part.split(",", 1)
        ja, en = split_label(label)
        out.append(Choice(code=code.strip(), label_ja=ja, label_en=en))
    return tuple(out)


def _limit(text: str, kind: str, column: str, problem: Any) -> float | dt.date | None:
    text = text.strip()
    if not text:
        return None
    if kind == "date":
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            problem(f"a date range is a date YYYY-MM-DD: {text!r}", column)
            return None
    if kind in ("integer", "number"):
        try:
            return float(text)
        except ValueError:
            problem(f"not a number: {text!r}", column)
            return None
    problem(f"a {kind} field has no validation range", column)
    return None


def _flag(text: str, column: str, problem: Any) -> bool:
    low = text.strip().lower()
    if low not in ("", "y", "n"):
        problem(f"'y' or empty: {text!r}", column)
    return low == "y"


def _kind(rtype: str, validation: str, problem: Any) -> tuple[str | None, str | None]:
    """(field_type, widget) of a REDCap field type and text validation."""
    if rtype in _REFUSED_TYPES:
        problem(_REFUSED_TYPES[rtype], TYPE)
        return None, None
    if validation and rtype != "text":
        problem(f"a text validation is only for text fields, not {rtype}", VALIDATION)
    if rtype == "text":
        if not validation:
            return "text", None
        if validation == "integer":
            return "integer", None
        if validation in _NUMBER_VALIDATIONS:
            return "number", None
        if validation in _DATE_VALIDATIONS:
            return "date", None
        problem(f"text validation {validation!r} is not supported (integer, number, "
                "number_1dp … number_4dp, date_ymd, date_dmy, date_mdy)", VALIDATION)
        return None, None
    simple = {"notes": ("text", "notes"), "dropdown": ("single_choice", "dropdown"),
              "radio": ("single_choice", "radio"), "checkbox": ("multiple_choice", None),
              "yesno": ("yes_no", None), "truefalse": ("yes_no", "truefalse"),
              "calc": ("calculated", None), "descriptive": ("descriptive", None)}
    if rtype in simple:
        return simple[rtype]
    problem(f"unknown field type {rtype!r}", TYPE)
    return None, None


def _row_variable(row: dict[str, str], problem: Any) -> Variable | None:
    rtype = row[TYPE].strip().lower()
    validation = row[VALIDATION].strip().lower()
    kind, widget = _kind(rtype, validation, problem)
    if row[MATRIX].strip():
        problem("matrix groups are not supported; leave Matrix Group Name empty", MATRIX)
    if row[RANKING].strip():
        problem("matrix ranking is not supported", RANKING)
    ident = _flag(row[IDENT], IDENT, problem)
    required = _flag(row[REQUIRED], REQUIRED, problem)
    if kind is None:
        return None
    ja, en = split_label(row[LABEL])
    extra = row[CHOICES].strip()
    choices: tuple[Choice, ...] = ()
    calculation = None
    if kind in ("single_choice", "multiple_choice"):
        choices = _choices(extra, problem)
    elif kind == "calculated":
        calculation = extra or None
    elif extra:
        problem(f"a {rtype} field has no choices or calculation", CHOICES)
    annotation = row[ANNOTATION].strip()
    unit = None
    m = _UNIT.search(annotation)
    if m:
        unit = m.group(1) if m.group(1) is not None else m.group(2)
        annotation = (annotation[:m.start()] + annotation[m.end():]).strip()
    return Variable(
        form=row[FORM].strip(), name=row[NAME].strip(), field_type=kind,  # type: ignore
        label_ja=ja, label_en=en, unit=unit or None,
        min=_limit(row[VMIN], kind, VMIN, problem),
        max=_limit(row[VMAX], kind, VMAX, problem),
        choices=choices, required=required, branching=row[BRANCH].strip() or None,
        calculation=calculation, widget=widget,  # type: ignore[arg-type]
        section_header=row[SECTION].strip() or None, field_note=row[NOTE].strip() or None,
        identifier=ident, alignment=row[ALIGN].strip() or None,
        question_number=row[QNUM].strip() or None, annotation=annotation or None,
    )


def parse_redcap_text(text: str, *, file: str = "data_dictionary.csv") -> StudyDictionary:
    """Read the text of a REDCap data dictionary CSV (see :func:`read_redcap_csv`)."""
    problems: list[Problem] = []
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    rows = list(reader)
    if not rows:
        raise DataError("the data dictionary is empty", [Problem("no header", file=file,
                                                                 row=0)])
    header = [h.strip() for h in rows[0]]
    if tuple(header) != REDCAP_COLUMNS:
        missing = [c for c in REDCAP_COLUMNS if c not in header]
        extra = [c for c in header if c not in REDCAP_COLUMNS]
        message = "the header is not REDCap's data dictionary layout"
        if missing:
            message += f"; missing: {', '.join(missing)}"
        if extra:
            message += f"; unknown: {', '.join(extra)}"
        if not missing and not extra:
            message += f"; the columns must be in REDCap's order: {', '.join(REDCAP_COLUMNS)}"
        raise DataError("the data dictionary cannot be read", [Problem(message, file=file,
                                                                       row=0)])
    variables: list[Variable] = []
    rows_of: dict[str, int] = {}
    for i, cells in enumerate(rows[1:], start=1):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(REDCAP_COLUMNS):
            problems.append(Problem(f"has {len(cells)} cells, not {len(REDCAP_COLUMNS)}",
                                    file=file, row=i))
            continue
        row = dict(zip(REDCAP_COLUMNS, cells, strict=True))

        def problem(message: str, column: str, _row: int = i) -> None:
            problems.append(Problem(message, file=file, row=_row, field=column))

        v = _row_variable(row, problem)
        if v is not None:
            variables.append(v)
            rows_of.setdefault(v.name, i)
    for p in dictionary_problems(variables):
        name, _, attr = (p.field or "").partition(".")
        problems.append(Problem(p.message, file=file, row=rows_of.get(name),
                                field=_ATTRIBUTE_COLUMN.get(attr, p.field)))
    if problems:
        problems.sort(key=lambda p: p.row or 0)
        raise DataError(f"the data dictionary {file} is refused: nothing was imported",
                        problems)
    return build_dictionary(variables)


def read_redcap_csv(path: str | Path, *, encoding: str = "utf-8-sig") -> StudyDictionary:
    """Read a REDCap data dictionary CSV (as REDCap exports it) into a study dictionary.

    Parameters
    ----------
    path : str or Path
        The CSV file.
    encoding : str
        Its encoding (UTF-8, with or without BOM, by default).

    Raises
    ------
    DataError
        Naming file, row (1-based data row; the header is row 0) and column of every problem.
    """
    return parse_redcap_text(read_text(path, encoding, "the data dictionary"), file=str(path))


def table_text(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """CSV text as REDCap writes it (a header, CRLF line ends)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buf.getvalue()


def write_bom_text(path: str | Path, text: str) -> None:
    """Write CSV text as UTF-8 with a byte-order mark (Excel opens it as UTF-8)."""
    Path(path).write_text(text, encoding="utf-8-sig", newline="")


def data_rows(rows: Sequence[Sequence[str]], width: int, file: str,
              problems: list[Problem]) -> Iterator[tuple[int, list[str]]]:
    """The data rows (1-based; the header is row 0) that are not blank, stripped; a row of
    another width is a problem (appended) and skipped."""
    for i, cells in enumerate(rows[1:], start=1):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != width:
            problems.append(Problem(f"has {len(cells)} cells, not {width}", file=file, row=i))
            continue
        yield i, [c.strip() for c in cells]


def small_table(text: str, columns: Sequence[str], what: str, file: str
                ) -> list[list[str]]:
    """The rows of a small REDCap export (``what``: its name in messages) whose header must
    be ``columns``; a :class:`DataError` naming the file (row 0) otherwise."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    header = tuple(h.strip().lower() for h in rows[0]) if rows else ()
    if header != tuple(columns):
        raise DataError(f"the {what} {file} cannot be read", [Problem(
            f"the header must be {','.join(columns)} (REDCap's {what} export), not "
            f"{','.join(header) or 'empty'}", file=file, row=0)])
    return rows


def read_text(path: str | Path, encoding: str, what: str) -> str:
    """The text of a file, or a :class:`DataError` naming it (``what`` cannot be read)."""
    path = Path(path)
    try:
        return path.read_text(encoding=encoding)
    except OSError as exc:
        raise DataError(f"{what} cannot be read", [
            Problem(exc.strerror or str(exc), file=str(path))]) from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{what} cannot be read", [Problem(
            f"not {encoding} text (byte {exc.start})", file=str(path))]) from None


def _number(x: float | dt.date | None) -> str:
    if x is None:
        return ""
    if isinstance(x, dt.date):
        return x.isoformat()
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _redcap_type(v: Variable) -> tuple[str, str]:
    if v.field_type in ("integer", "number"):
        return "text", v.field_type
    if v.field_type == "date":
        return "text", "date_ymd"
    if v.field_type == "text":
        return ("notes", "") if v.widget == "notes" else ("text", "")
    if v.field_type == "single_choice":
        return (v.widget or "radio"), ""
    return {"multiple_choice": "checkbox", "yes_no": "truefalse" if v.widget == "truefalse"
            else "yesno", "calculated": "calc", "descriptive": "descriptive"}[v.field_type], ""


def _row(v: Variable) -> list[str]:
    rtype, validation = _redcap_type(v)
    extra = v.calculation or " | ".join(f"{c.code}, {join_label(c.label_ja, c.label_en)}"
                                        for c in v.choices)
    annotation = " ".join(x for x in (f'@UNIT="{v.unit}"' if v.unit else "",
                                      v.annotation or "") if x)
    cells = {NAME: v.name, FORM: v.form, SECTION: v.section_header or "", TYPE: rtype,
             LABEL: join_label(v.label_ja, v.label_en), CHOICES: extra,
             NOTE: v.field_note or "", VALIDATION: validation, VMIN: _number(v.min),
             VMAX: _number(v.max), IDENT: "y" if v.identifier else "",
             BRANCH: v.branching or "", REQUIRED: "y" if v.required else "",
             ALIGN: v.alignment or "", QNUM: v.question_number or "", MATRIX: "",
             RANKING: "", ANNOTATION: annotation}
    return [cells[c] for c in REDCAP_COLUMNS]


def redcap_text(dictionary: StudyDictionary) -> str:
    """The REDCap data dictionary CSV text of a study dictionary."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(REDCAP_COLUMNS)
    for v in dictionary.variables:
        writer.writerow(_row(v))
    return buf.getvalue()


def write_redcap_csv(dictionary: StudyDictionary, path: str | Path) -> None:
    """Write the dictionary as a REDCap data dictionary CSV (UTF-8 with BOM, which both
    REDCap and Japanese Excel read). The visit schedule is not part of REDCap's layout."""
    Path(path).write_text(redcap_text(dictionary), encoding="utf-8-sig", newline="")
