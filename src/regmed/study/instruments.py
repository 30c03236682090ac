"""REDCap's instrument list: the title of each form (instrument).

A REDCap data dictionary names its forms only by their variable-style names (``follow_up``);
their titles come from the project's instrument list, exported (API *Export Instruments*, or
*Project Setup → Online Designer*) as the CSV columns ``instrument_name,instrument_label``. A
label may be bilingual, ``経過観察 / Follow-up``, as the dictionary's field labels are; pages
show the half of the reader's language (:meth:`StudyDictionary.form_label`). A list that names
an unknown form, names a form twice or gives an empty label is refused with its file, row and
column — every problem at once.

Examples
--------
>>> from regmed.study.model import Variable, build_dictionary
>>> d = build_dictionary([Variable(form="follow_up", name="death", field_type="yes_no",
...                                label_ja="死亡")])
>>> text = "instrument_name,instrument_label\\r\\nfollow_up,経過観察 / Follow-up\\r\\n"
>>> d2 = parse_instruments_text(text, d)
>>> d2.form_label("follow_up", "ja"), d2.form_label("follow_up", "en")
('経過観察', 'Follow-up')
>>> instruments_text(d2) == text
True
"""

from __future__ import annotations

from pathlib import Path

from regmed.errors import DataError, Problem
from regmed.study.model import FormLabel, StudyDictionary
from regmed.study.redcap import data_rows, read_text, small_table, table_text, write_bom_text

__all__ = ["INSTRUMENT_COLUMNS", "parse_instruments_text", "read_instruments_csv",
           "instruments_text", "write_instruments_csv"]

#: The columns of REDCap's instrument list export.
INSTRUMENT_COLUMNS = ("instrument_name", "instrument_label")


def parse_instruments_text(text: str, dictionary: StudyDictionary, *,
                           file: str = "instruments.csv") -> StudyDictionary:
    """``dictionary`` with the form titles of a REDCap instrument list CSV text.

    Raises
    ------
    DataError
        Naming file, row (1-based data row; the header is row 0) and column of every problem.
    """
    rows = small_table(text, INSTRUMENT_COLUMNS, "instrument list", file)
    forms = set(dictionary.forms())
    problems: list[Problem] = []
    labels: dict[str, str] = {}
    for i, (form, label) in data_rows(rows, len(INSTRUMENT_COLUMNS), file, problems):
        if form not in forms:
            known = ", ".join(sorted(forms))
            problems.append(Problem(f"not a form of the study dictionary ({known})",
                                    file=file, row=i, field="instrument_name"))
        elif form in labels:
            problems.append(Problem("the form is given more than once", file=file, row=i,
                                    field="instrument_name"))
        if not label:
            problems.append(Problem("the label is empty", file=file, row=i,
                                    field="instrument_label"))
        if form in forms and form not in labels and label:
            labels[form] = label
    if problems:
        raise DataError(f"the instrument list {file} is refused: nothing was imported",
                        problems)
    ordered = tuple(FormLabel(form=f, label=labels[f]) for f in dictionary.forms()
                    if f in labels)
    return dictionary.model_copy(update={"form_labels": ordered})


def read_instruments_csv(path: str | Path, dictionary: StudyDictionary, *,
                         encoding: str = "utf-8-sig") -> StudyDictionary:
    """Read a REDCap instrument list CSV into ``dictionary`` (see
    :func:`parse_instruments_text`)."""
    text = read_text(path, encoding, "the instrument list")
    return parse_instruments_text(text, dictionary, file=str(path))


def instruments_text(dictionary: StudyDictionary) -> str:
    """The instrument list CSV text of the dictionary's form titles (REDCap's layout)."""
    return table_text(INSTRUMENT_COLUMNS, ([f.form, f.label] for f in dictionary.form_labels))


def write_instruments_csv(dictionary: StudyDictionary, path: str | Path) -> None:
    """Write the dictionary's form titles as REDCap's instrument list CSV (UTF-8 with BOM)."""
    write_bom_text(path, instruments_text(dictionary))
