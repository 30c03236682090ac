"""REDCap's instrument designation CSV: which forms (instruments) are filled at which visits
(events) of a longitudinal project.

REDCap exports it from *Project Setup → Designate Instruments for My Events* with the columns
``arm_num,unique_event_name,form``. A unique event name is the event's name in lower case
with ``_arm_<n>`` appended (``week_12_arm_1``); it names the visit of the study dictionary's
schedule whose name it is, with or without that suffix (a visit ``Week 12`` is
``week_12_arm_1``). Forms the file does not name stay patient-level (filled once per
patient). A mapping that names an unknown form or visit, another arm than 1, or lets a form's
branching read another visit's values is refused with its file, row and column — every
problem at once.

Examples
--------
>>> from regmed.study.model import Variable, Visit, build_dictionary
>>> d = build_dictionary([Variable(form="vitals", name="sbp", field_type="integer",
...                                label_ja="収縮期血圧")],
...                      visits=[Visit(name="week_12", day=84)])
>>> text = "arm_num,unique_event_name,form\\r\\n1,week_12_arm_1,vitals\\r\\n"
>>> d2 = parse_event_mapping_text(text, d)
>>> d2.form_visits("vitals"), event_mapping_text(d2) == text
(['week_12'], True)
"""

from __future__ import annotations

import re
from pathlib import Path

from regmed.errors import DataError, Problem
from regmed.study.model import FormEvent, StudyDictionary, event_problems
from regmed.study.redcap import data_rows, read_text, small_table, table_text, write_bom_text

__all__ = ["EVENT_COLUMNS", "parse_event_mapping_text", "read_event_mapping_csv",
           "event_mapping_text", "write_event_mapping_csv", "event_name"]

#: The columns of REDCap's instrument designation export.
EVENT_COLUMNS = ("arm_num", "unique_event_name", "form")
_EVENT_FIELD = re.compile(r"^events\[(\d+)\]\.(\w+)$")
_COLUMN_OF = {"arm": "arm_num", "visit": "unique_event_name", "form": "form"}


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def event_name(visit: str, arm: int = 1) -> str:
    """REDCap's unique event name of a visit: ``Week 12`` → ``week_12_arm_1``."""
    return f"{_slug(visit)}_arm_{arm}"


def _visit_of(name: str, arm: int, visits: list[str]) -> str | list[str]:
    """The visit a unique event name names (itself when none does; a list when several)."""
    found = [v for v in visits if name in (v, event_name(v, arm), _slug(v))]
    if len(found) > 1:
        return found
    return found[0] if found else name


def parse_event_mapping_text(text: str, dictionary: StudyDictionary, *,
                             file: str = "instrument_designation.csv") -> StudyDictionary:
    """``dictionary`` with the instrument–event mapping of a REDCap instrument designation
    CSV text (replacing any mapping it had).

    Raises
    ------
    DataError
        Naming file, row (1-based data row; the header is row 0) and column of every problem.
    """
    rows = small_table(text, EVENT_COLUMNS, "instrument designation", file)
    problems: list[Problem] = []
    events: list[FormEvent] = []
    rows_of: list[int] = []
    visits = [v.name for v in dictionary.visits]
    for i, (arm_text, name, form) in data_rows(rows, len(EVENT_COLUMNS), file, problems):
        if not re.fullmatch(r"\d+", arm_text):
            problems.append(Problem(f"an arm number is a whole number: {arm_text!r}",
                                    file=file, row=i, field="arm_num"))
            continue
        visit = _visit_of(name, int(arm_text), visits)
        if isinstance(visit, list):
            problems.append(Problem(f"{name!r} names several visits: {', '.join(visit)}",
                                    file=file, row=i, field="unique_event_name"))
            continue
        events.append(FormEvent(arm=int(arm_text), visit=visit, form=form))
        rows_of.append(i)
    for p in event_problems(dictionary.variables, dictionary.visits, events):
        m = _EVENT_FIELD.match(p.field or "")
        if m:
            problems.append(Problem(p.message, file=file, row=rows_of[int(m.group(1)) - 1],
                                    field=_COLUMN_OF.get(m.group(2), m.group(2))))
        else:
            problems.append(Problem(p.message, file=file, field=p.field))
    if problems:
        problems.sort(key=lambda p: p.row or 0)
        raise DataError(f"the instrument designation {file} is refused: nothing was imported",
                        problems)
    return dictionary.model_copy(update={"events": tuple(events)})


def read_event_mapping_csv(path: str | Path, dictionary: StudyDictionary, *,
                           encoding: str = "utf-8-sig") -> StudyDictionary:
    """Read a REDCap instrument designation CSV into ``dictionary`` (see
    :func:`parse_event_mapping_text`)."""
    text = read_text(path, encoding, "the instrument designation")
    return parse_event_mapping_text(text, dictionary, file=str(path))


def event_mapping_text(dictionary: StudyDictionary) -> str:
    """The instrument designation CSV text of the dictionary's mapping (REDCap's layout)."""
    return table_text(EVENT_COLUMNS, ([e.arm, event_name(e.visit, e.arm), e.form]
                                      for e in dictionary.events))


def write_event_mapping_csv(dictionary: StudyDictionary, path: str | Path) -> None:
    """Write the dictionary's instrument–event mapping as REDCap's instrument designation
    CSV (UTF-8 with BOM)."""
    write_bom_text(path, event_mapping_text(dictionary))
