"""The single-record path (`save_row`) applies the importer's rules and audits like it."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import regmed.registry as reg
from regmed.errors import DataError
from regmed.registry.dictionary import load_dictionary
from regmed.registry.rowcheck import check_row, parse_value
from regmed.registry.validate import parse_column, parse_table

from .conftest import TEST_KEY

RAW_VALUES: list[Any] = [
    None, "", "  ", "abc", "1", " 2 ", "1.5", "1e3", "inf", "nan", "-1", "6", 0, 1, 6, -3,
    1.0, 2.5, float("nan"), True, False, "true", "No", "T", "2026-01-05", "2026-13-01",
    "2026-1-5", "2026-01-05 00:00:00", dt.date(2026, 1, 5), dt.datetime(2026, 1, 5),
    dt.datetime(2026, 1, 5, 3), "recovered", "dead", "treating_physician",
    # Japanese-style cells (regmed.registry.jpvalues): both paths read them alike
    "令和6年4月1日", "R6.4.1", "平成31年5月1日", "2024/4/1", "45383", 45383, "60", "１２３",
    "はい", "無", "ｔｒｅａｔｉｎｇ＿ｐｈｙｓｉｃｉａｎ", "Ｆ",
]


def _kinds() -> list[tuple[str, str]]:
    d = load_dictionary()
    seen: dict[tuple[str, tuple[str, ...], Any, Any], tuple[str, str]] = {}
    for t in d.tables.values():
        for c in t.columns.values():
            seen.setdefault((c.type, c.values, c.min, c.max), (t.name, c.name))
    return list(seen.values())


@pytest.mark.parametrize(("table", "column"), _kinds())
def test_one_cell_is_read_as_the_table_reader_reads_it(table: str, column: str) -> None:
    spec = load_dictionary().tables[table].columns[column]
    for raw in RAW_VALUES:
        if isinstance(raw, dt.date) and spec.type != "date":
            continue  # forms send JSON; pandas turns such a cell into a Timestamp column
        # a web form's row became a one-row frame on the importer's path
        series = pd.DataFrame([{column: raw}])[column]
        values, missing, bad = parse_column(series, spec)
        value, one_missing, one_bad = parse_value(raw, spec)
        assert (one_missing, one_bad) == (bool(missing[0]), bool(bad[0])), (column, raw)
        assert value == values[0] and type(value) is type(values[0]), (column, raw)


def _shape(problems: list[Any]) -> list[tuple[Any, ...]]:
    return sorted((p.row or 0, p.field, p.message.split(":")[0]) for p in problems)


ROWS = {
    "assessments": [
        {"assessment_ref": "A9", "site_code": "S01", "patient_ref": "P1", "endpoint": "e",
         "visit": "day49", "assessed_on": "2020-02-01", "value": None, "value_text": None,
         "assessor": "x", "assessor_role": "nurse", "blinded": "maybe"},
        {"assessment_ref": "A9", "site_code": "S01", "patient_ref": "P1", "endpoint": "e",
         "visit": "d", "assessed_on": "2020-02-31", "value": "x", "assessor": "",
         "assessor_role": "blinded_central", "blinded": True, "colour": "red"},
    ],
    "follow_ups": [
        {"site_code": "S01", "patient_ref": "P1", "last_contact_on": "2021-01-02",
         "status": "dead", "death_on": None},
        {"site_code": "S01", "patient_ref": "P1", "last_contact_on": "2021-01-02",
         "status": "dead", "death_on": "2021-01-01"},
        {"site_code": "S01", "patient_ref": "P1", "last_contact_on": "2021-01-02",
         "status": "alive", "death_on": "2021-01-03"},
    ],
    "adverse_events": [
        {"site_code": "S01", "patient_ref": "P1", "ae_ref": "E", "term": "t",
         "onset_on": "2020-01-01", "serious": "yes", "grade": 7, "related": "x"},
        {"site_code": "S01", "patient_ref": "P1", "ae_ref": "E", "term": "t",
         "onset_on": "2020-01-01", "serious": 0, "grade": 2.5},
    ],
    "enrollments": [
        {"site_code": "S01", "patient_ref": "P1", "indication_code": "SCI", "cohort": "treated",
         "direction": "prospective", "index_on": "2020-02-01", "enrolled_on": "2020-01-01"},
    ],
}


@pytest.mark.parametrize(("table", "i"), [(t, i) for t, rows in ROWS.items()
                                          for i in range(len(rows))])
def test_one_row_has_the_problems_the_table_reader_finds(table: str, i: int) -> None:
    spec = load_dictionary().tables[table]
    row = ROWS[table][i]
    expected = parse_table(table, pd.DataFrame([row]), spec, "form").problems
    _, _, problems = check_row(table, row, spec, "form")
    assert expected, "the row is meant to be bad"
    assert _shape(problems) == _shape(expected)


def _pseudo(site: str, ref: str) -> str:
    return reg.pseudonymize(TEST_KEY.encode(), site, ref)


def _assessment(**over: Any) -> dict[str, Any]:
    row = {"assessment_ref": "N1", "site_code": "S01", "patient_pseudonym": _pseudo("S01", "P001"),
           "endpoint": "ais_grade", "visit": "day180", "assessed_on": "2020-06-28",
           "value": None, "value_text": "C", "assessor": "dr_y",
           "assessor_role": "blinded_independent", "blinded": True}
    row.update(over)
    return row


def _events(session: Session, table: str) -> list[reg.AuditEvent]:
    q = select(reg.AuditEvent).where(reg.AuditEvent.table_name == table)
    return list(session.execute(q.order_by(reg.AuditEvent.seq)).scalars())


def test_save_row_inserts_and_audits_as_the_importer_does(registry: Session) -> None:
    saved = reg.save_row(registry, "assessments", _assessment(), actor="site")
    assert saved.action == "insert"
    a = registry.get_one(reg.Assessment, saved.id)
    assert (a.value_text, a.assessed_on, a.blinded) == ("C", dt.date(2020, 6, 28), True)
    # the same row through the importer, for comparison of the audited values
    frame = pd.DataFrame([_assessment(assessment_ref="N2", visit="day181")])
    reg.import_tables(registry, {"assessments": frame}, actor="site")
    mine, theirs = _events(registry, "assessments")[-2:]
    assert (mine.record_key, mine.action) == ("N1", "insert")
    new_mine, new_theirs = json.loads(mine.new_values), json.loads(theirs.new_values)
    assert new_mine == {**new_theirs, "assessment_ref": "N1", "visit": new_mine["visit"]}
    check = reg.verify_audit(registry)
    assert check.ok, check.message


def test_a_change_needs_a_reason_and_is_audited(registry: Session) -> None:
    first = reg.save_row(registry, "assessments", _assessment(), actor="site")
    assert reg.save_row(registry, "assessments", _assessment(), actor="site").action == "unchanged"
    with pytest.raises(DataError) as err:
        reg.save_row(registry, "assessments", _assessment(value_text="D"), actor="site")
    assert "a reason is required" in str(err.value.problems[0])
    saved = reg.save_row(registry, "assessments", _assessment(value_text="D"), actor="site",
                         reason="transcription error")
    assert (saved.id, saved.action) == (first.id, "update")
    event = _events(registry, "assessments")[-1]
    assert (event.action, event.reason) == ("update", "transcription error")
    assert json.loads(event.old_values)["value_text"] == "C"
    assert json.loads(event.new_values)["value_text"] == "D"
    assert reg.verify_audit(registry).ok


BAD = [
    ("assessments", _assessment(assessed_on="2019-12-31", assessor_role="nurse")),
    ("assessments", _assessment(site_code="S02")),
    ("assessments", _assessment(patient_pseudonym="f" * 64)),
    ("administrations", {"site_code": "S01", "patient_pseudonym": _pseudo("S01", "P002"),
                         "lot_code": "L1", "administered_on": "2020-01-02", "dose": -1,
                         "dose_unit": "cells", "route": "intravenous"}),
    ("administrations", {"site_code": "S01", "patient_pseudonym": _pseudo("S01", "P002"),
                         "lot_code": "L9", "administered_on": "2020-01-26",
                         "dose_unit": "cells", "route": "intravenous"}),
    ("adverse_events", {"site_code": "S02", "patient_pseudonym": _pseudo("S02", "P003"),
                        "ae_ref": "E1", "term": "t", "onset_on": "1989-05-01",
                        "serious": False}),
    ("follow_ups", {"site_code": "S02", "patient_pseudonym": _pseudo("S02", "P003"),
                    "last_contact_on": "2019-01-01", "status": "alive"}),
]


@pytest.mark.parametrize(("table", "row"), BAD)
def test_bad_rows_get_the_importers_problems_and_write_nothing(
    registry: Session, table: str, row: dict[str, Any]
) -> None:
    with pytest.raises(DataError) as imported:
        reg.import_tables(registry, {table: pd.DataFrame([row])}, actor="site",
                          sources={table: "form"})
    events = reg.count_events(registry)
    with pytest.raises(DataError) as single:
        reg.save_row(registry, table, row, actor="site")
    assert reg.count_events(registry) == events
    assert [str(p) for p in single.value.problems] == [str(p) for p in imported.value.problems]
