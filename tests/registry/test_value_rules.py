"""Values the registry used to accept wrongly, refused on the import and the single-record (web
form) path alike, with the same words: an AIS grade outside A–E, dates in the future, a visit
entered twice, a grade 5 (death) adverse event with another outcome than fatal."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import regmed.registry as reg
from regmed.errors import DataError, Problem

from .conftest import table_counts
from .test_cli import run
from .test_mistakes import registry_state
from .test_single import _pseudo

TODAY = dt.date(2021, 6, 30)


def _assessment(**over: Any) -> dict[str, Any]:
    row = {"assessment_ref": "N1", "site_code": "S01", "patient_ref": "P001",
           "endpoint": "ais_grade", "visit": "day90", "assessed_on": "2020-04-01",
           "value": None, "value_text": "C", "assessor": "dr_y",
           "assessor_role": "blinded_independent", "blinded": True}
    row.update(over)
    return row


def _ae(**over: Any) -> dict[str, Any]:
    row = {"site_code": "S01", "patient_ref": "P001", "ae_ref": "AE9", "term": "sepsis",
           "onset_on": "2020-03-01", "serious": True, "grade": 5, "related": "not_related",
           "outcome": "recovered"}
    row.update(over)
    return row


def _single(row: dict[str, Any]) -> dict[str, Any]:
    """The row as a web form gives it (the patient by pseudonym)."""
    out = {k: v for k, v in row.items() if k != "patient_ref"}
    out["patient_pseudonym"] = _pseudo(row["site_code"], row["patient_ref"])
    return out


def _both(session: Session, table: str, row: dict[str, Any], today: dt.date = TODAY
          ) -> tuple[list[Problem], list[Problem]]:
    """The problems of ``row`` through the importer and through save_row; nothing written."""
    before = table_counts(session)
    with pytest.raises(DataError) as imported:
        reg.import_tables(session, {table: pd.DataFrame([row])}, actor="crc", today=today,
                          sources={table: "form"})
    with pytest.raises(DataError) as saved:
        reg.save_row(session, table, _single(row), actor="crc", today=today)
    assert table_counts(session) == before
    return list(imported.value.problems), list(saved.value.problems)


def _shown(problems: list[Problem]) -> set[tuple[str | None, str]]:
    return {(p.field, p.message) for p in problems}


@pytest.mark.parametrize("grade", ["Z", "F", "a", "1", "AB"])
def test_ais_grade_outside_a_to_e_is_refused(registry: Session, grade: str) -> None:
    imported, saved = _both(registry, "assessments", _assessment(value_text=grade))
    assert _shown(imported) == _shown(saved) == {
        ("value_text", f"not a ais_grade (one of A, B, C, D, E): {grade!r}")}
    assert [p.row for p in imported] == [1]


def test_a_numeric_ais_grade_and_a_baseline_grade_z_are_refused(registry: Session) -> None:
    imported, saved = _both(registry, "assessments", _assessment(value=3, value_text=None))
    assert _shown(imported) == _shown(saved) == {
        ("value_text", "ais_grade is coded: give value_text, one of A, B, C, D, E")}
    base = {"site_code": "S01", "patient_ref": "P002", "variable": "ais_grade", "value": None,
            "value_text": "Z"}
    imported, saved = _both(registry, "baseline", base)
    assert _shown(imported) == _shown(saved) == {
        ("value_text", "not a ais_grade (one of A, B, C, D, E): 'Z'")}


def test_adjudication_of_an_ais_grade_is_one_of_its_codes(registry: Session) -> None:
    row = {"assessment_ref": "A0", "reviewer": "r2", "value": None, "value_text": "Z",
           "adjudicated_on": "2020-03-02"}
    with pytest.raises(DataError) as err:
        reg.import_tables(registry, {"adjudications": pd.DataFrame([row])}, actor="crc")
    [p] = err.value.problems
    assert (p.row, p.field) == (1, "value_text") and "not a ais_grade" in p.message


def test_full_width_grade_is_stored_as_its_code(registry: Session) -> None:
    reg.import_tables(registry, {"assessments": pd.DataFrame([_assessment(value_text="Ｄ")])},
                      actor="crc", today=TODAY)
    saved = reg.save_row(registry, "assessments",
                         _single(_assessment(assessment_ref="N2", visit="day91",
                                             value_text="Ｅ")), actor="crc", today=TODAY)
    stored = dict(registry.execute(select(reg.Assessment.assessment_ref,
                                          reg.Assessment.value_text)).tuples().all())
    assert stored["N1"] == "D" and stored["N2"] == "E" and saved.action == "insert"


@pytest.mark.parametrize(("table", "row", "column"), [
    ("assessments", _assessment(assessed_on="2021-07-01"), "assessed_on"),
    ("adverse_events", _ae(grade=2, outcome="recovered", onset_on="R3.7.1"), "onset_on"),
    ("follow_ups", {"site_code": "S01", "patient_ref": "P002", "last_contact_on": "2021/7/1",
                    "status": "alive"}, "last_contact_on"),
    ("administrations", {"site_code": "S01", "patient_ref": "P002", "lot_code": "L1",
                         "administered_on": "令和3年12月24日", "dose": 1, "dose_unit": "cells",
                         "route": "intravenous"}, "administered_on"),
])
def test_future_dates_are_refused(registry: Session, table: str, row: dict[str, Any],
                                  column: str) -> None:
    imported, saved = _both(registry, table, row)
    ours = [p for p in imported if p.field == column and "future" in p.message]
    theirs = [p for p in saved if p.field == column and "future" in p.message]
    assert len(ours) == len(theirs) == 1 and ours[0].message == theirs[0].message
    assert "is in the future (after today, 2021-06-30)" in ours[0].message


def test_today_is_a_future_boundary_and_the_api_default_checks_nothing(registry: Session
                                                                       ) -> None:
    reg.import_tables(registry, {"assessments": pd.DataFrame([_assessment(
        assessed_on="2021-06-30")])}, actor="crc", today=TODAY)  # today itself is fine
    # the Python API without ``today`` loads a simulated registry whose dates run ahead
    reg.import_tables(registry, {"assessments": pd.DataFrame([_assessment(
        assessment_ref="N2", visit="day99", assessed_on="2031-01-01")])}, actor="sim")
    # the single-record path (web forms) checks against the real date by default
    with pytest.raises(DataError, match="in the future"):
        reg.save_row(registry, "assessments", _single(_assessment(
            assessment_ref="N3", visit="day98",
            assessed_on=(dt.date.today() + dt.timedelta(days=1)).isoformat())), actor="crc")


def test_a_visit_entered_twice_is_refused(registry: Session) -> None:
    # in the same file
    rows = pd.DataFrame([_assessment(), _assessment(assessment_ref="N2", value_text="D")])
    before = table_counts(registry)
    with pytest.raises(DataError) as err:
        reg.import_tables(registry, {"assessments": rows}, actor="crc", today=TODAY)
    [p] = err.value.problems
    assert (p.file, p.row, p.field) == ("assessments.csv", 2, "visit")
    assert "assessed this endpoint at this visit" in p.message and "in row 1" in p.message
    assert table_counts(registry) == before
    # against a stored one: import and form alike
    reg.import_tables(registry, {"assessments": rows.iloc[[0]]}, actor="crc", today=TODAY)
    imported, saved = _both(registry, "assessments", _assessment(assessment_ref="N2"))
    assert _shown(imported) == _shown(saved)
    [(field, message)] = _shown(imported)
    assert field == "visit" and "already: assessment_ref 'N1'" in message
    # another assessor role, or another assessor, of the same visit is not a duplicate
    reg.import_tables(registry, {"assessments": pd.DataFrame([
        _assessment(assessment_ref="N3", assessor_role="treating_physician", blinded=False),
        _assessment(assessment_ref="N4", assessor="dr_z")])}, actor="crc", today=TODAY)
    # re-importing the stored assessment itself changes nothing
    again = reg.import_tables(registry, {"assessments": rows.iloc[[0]]}, actor="crc")
    assert again.unchanged["assessments"] == 1


def test_grade_5_adverse_event_must_be_fatal(registry: Session) -> None:
    for outcome in ("recovered", "recovering", "unknown"):
        imported, saved = _both(registry, "adverse_events", _ae(outcome=outcome))
        assert _shown(imported) == _shown(saved) == {
            ("outcome", f"grade 5 is death: the outcome must be fatal, not {outcome!r}")}
    reg.import_tables(registry, {"adverse_events": pd.DataFrame([_ae(outcome="fatal")])},
                      actor="crc", today=TODAY)
    saved = reg.save_row(registry, "adverse_events",
                         _single(_ae(ae_ref="AE10", grade="５", outcome="fatal")), actor="crc")
    assert saved.action == "insert"


def test_every_problem_of_a_file_at_once_and_nothing_written(registry: Session) -> None:
    rows = pd.DataFrame([
        _assessment(value_text="Z"),
        _assessment(assessment_ref="N2", visit="day91", assessed_on="2022-01-01"),
        _assessment(assessment_ref="N3", visit="day92", assessed_on="平成31年5月1日"),
        _assessment(assessment_ref="N4", visit="day93"),  # good on its own
    ])
    aes = pd.DataFrame([_ae(), _ae(ae_ref="AE10", outcome="fatal")])
    before = table_counts(registry)
    with pytest.raises(DataError) as err:
        reg.import_tables(registry, {"assessments": rows, "adverse_events": aes}, actor="crc",
                          today=TODAY)
    found = {(p.file, p.row, p.field) for p in err.value.problems}
    assert found == {("assessments.csv", 1, "value_text"), ("assessments.csv", 2, "assessed_on"),
                     ("assessments.csv", 3, "assessed_on"), ("adverse_events.csv", 1, "outcome")}
    assert table_counts(registry) == before


def test_cli_import_refuses_dates_after_today(loaded: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "late"
    folder.mkdir()
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    pd.DataFrame([_assessment(assessed_on=tomorrow.strftime("%Y/%m/%d"))]).to_csv(
        folder / "assessments.csv", index=False)
    before = registry_state(loaded)
    for extra in ([], ["--dry-run"]):
        code, out, err = run(["import", str(folder), "--actor", "crc", *extra], capsys)
        assert code != 0
        assert (f"assessments.csv, row 1, assessed_on: is in the future (after today, "
                f"{dt.date.today().isoformat()})") in out + err
    assert registry_state(loaded) == before
