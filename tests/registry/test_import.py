"""Validated import: every problem listed with file, row and column; nothing written on error."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import regmed.registry as reg
from regmed.errors import DataError

from .conftest import table_counts
from .data import small_tables


def _write_csvs(tables: dict[str, pd.DataFrame], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


def test_valid_import_writes_rows_and_one_audit_event_each(session: Session) -> None:
    tables = small_tables()
    summary = reg.import_tables(session, tables, actor="tester")
    counts = table_counts(session)
    for name, frame in tables.items():
        assert counts[name] == len(frame), name
        assert summary.inserted[name] == len(frame)
    rows = sum(len(f) for f in tables.values())
    # one event per row, plus the stored check value of the pseudonymization key, plus the
    # import's file sync point (regmed.registry.sync)
    assert counts["audit_events"] == rows + 2 == summary.events
    assert counts["settings"] == 1
    check = reg.verify_audit(session)
    assert check.ok, check.message
    assert check.records == rows + 1


def test_csv_with_five_kinds_of_bad_rows_is_refused_whole(session: Session, tmp_path: Path) -> None:
    reg.import_tables(session, small_tables(), actor="tester")
    before = table_counts(session)
    good = {
        "assessment_ref": "N{}",
        "site_code": "S01",
        "patient_ref": "P001",
        "endpoint": "ais_grade",
        "visit": "day180",
        "assessed_on": "2020-06-30",
        "value": "",
        "value_text": "C",
        "assessor": "dr_y",
        "assessor_role": "blinded_central",
        "blinded": "true",
    }
    rows = []
    for i in range(7):
        row = dict(good)
        row["assessment_ref"] = f"N{i}"
        row["visit"] = f"day{180 + i}"  # one assessment a visit (no duplicate visits)
        rows.append(row)
    rows[1]["assessor"] = ""  # 1. missing required value
    rows[2]["assessed_on"] = "2020-02-30"  # 2. wrong type (not a date)
    rows[3]["assessor_role"] = "nurse"  # 3. not one of the enum
    rows[4]["patient_ref"] = "P999"  # 4. unknown patient
    rows[5]["assessed_on"] = "2019-12-01"  # 5. before the patient's index date (2020-01-01)
    folder = _write_csvs({"assessments": pd.DataFrame(rows)}, tmp_path / "bad")
    with pytest.raises(DataError) as err:
        reg.import_tables(session, reg.read_folder(folder), actor="tester", reason="more")
    found = {(p.file, p.row, p.field) for p in err.value.problems}
    assert found == {
        ("assessments.csv", 2, "assessor"),
        ("assessments.csv", 3, "assessed_on"),
        ("assessments.csv", 4, "assessor_role"),
        ("assessments.csv", 5, "patient_ref"),
        ("assessments.csv", 6, "assessed_on"),
    }
    text = str(err.value)
    assert "5 problems" in text and "nothing was written" in text
    assert "required value is missing" in text
    assert "not a date" in text and "'2020-02-30'" in text
    assert "not one of" in text and "'nurse'" in text
    assert "unknown patient" in text and "'P999'" in text
    assert "before the patient's index date" in text
    assert table_counts(session) == before


def test_every_kind_of_check_is_reported_across_tables(session: Session) -> None:
    reg.import_tables(session, small_tables(), actor="tester")
    before = table_counts(session)
    t = small_tables()
    t["sites"]["fax"] = "x"  # unknown column
    t["donors"] = t["donors"].drop(columns="donor_code")  # missing required column
    t["lot_results"].loc[0, "unit"] = "fraction"  # unit differs from the attribute's
    t["lot_results"].loc[1, "value"] = "abc"  # not a number
    t["shipments"].loc[0, "received_on"] = "2020-01-20"  # received before shipped
    t["shipments"].loc[1, "receipt_temperature_c"] = "90"  # out of range
    t["patients"].loc[3, "birth_year"] = "1990.5"  # not a whole number
    t["administrations"].loc[0, "administered_on"] = "2020-01-02"  # before enrollment
    t["administrations"].loc[1, "lot_code"] = "L9"  # unknown lot
    t["assessments"].loc[3, "assessment_ref"] = "A0"  # duplicate key in the file
    t["follow_ups"].loc[1, "death_on"] = ""  # dead without a death date
    t["adverse_events"].loc[0, "onset_on"] = "1960-05-01"  # before birth (1970)
    with pytest.raises(DataError) as err:
        reg.import_tables(session, t, actor="tester", reason="fix")
    found = {(p.file, p.row, p.field) for p in err.value.problems}
    expected = {
        ("sites.csv", None, "fax"),
        ("donors.csv", None, "donor_code"),
        ("lot_results.csv", 1, "unit"),
        ("lot_results.csv", 2, "value"),
        ("shipments.csv", 1, "received_on"),
        ("shipments.csv", 2, "receipt_temperature_c"),
        ("patients.csv", 4, "birth_year"),
        ("administrations.csv", 1, "administered_on"),
        ("administrations.csv", 2, "lot_code"),
        ("assessments.csv", 4, "assessment_ref"),
        ("follow_ups.csv", 2, "death_on"),
        ("adverse_events.csv", 1, "onset_on"),
    }
    assert expected <= found, sorted(expected - found, key=str)
    assert table_counts(session) == before


def test_duplicate_key_names_both_rows(session: Session) -> None:
    t = small_tables()
    t["assessments"].loc[3, "assessment_ref"] = "A0"
    with pytest.raises(DataError) as err:
        reg.import_tables(session, t, actor="x")
    dup = [p for p in err.value.problems if "duplicate key" in p.message]
    assert [(p.file, p.row) for p in dup] == [("assessments.csv", 4)]
    assert "also in row 1" in dup[0].message


def test_changing_a_record_needs_a_reason_and_is_audited(session: Session) -> None:
    reg.import_tables(session, small_tables(), actor="tester")
    before = table_counts(session)
    t = {"sites": small_tables()["sites"]}
    t["sites"].loc[1, "name"] = "Osaka University"
    with pytest.raises(DataError) as err:
        reg.import_tables(session, t, actor="tester")
    (problem,) = err.value.problems
    assert (problem.file, problem.row, problem.field) == ("sites.csv", 2, "name")
    assert "reason is required" in problem.message
    assert table_counts(session) == before
    summary = reg.import_tables(session, t, actor="tester", reason="renamed by the site")
    assert summary.updated["sites"] == 1 and summary.unchanged["sites"] == 1
    (*_, last) = reg.audit_log(session, "sites", key="S02")
    assert last["action"] == "update" and last["reason"] == "renamed by the site"
    assert last["old_values"]["name"] == "Osaka General"
    assert last["new_values"]["name"] == "Osaka University"
    assert reg.verify_audit(session).ok


def test_reimporting_the_same_patient_finds_the_same_record(session: Session) -> None:
    reg.import_tables(session, small_tables(), actor="tester")
    ids = dict(session.execute(select(reg.Patient.pseudonym, reg.Patient.id)).all())
    summary = reg.import_tables(session, {"patients": small_tables()["patients"]}, actor="t")
    assert summary.inserted["patients"] == 0 and summary.unchanged["patients"] == 4
    assert dict(session.execute(select(reg.Patient.pseudonym, reg.Patient.id)).all()) == ids
    expected = reg.pseudonymize(b"registry-test-key-0123456789", "S02", "P001")
    assert expected in ids


def test_import_with_another_key_is_refused(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg.import_tables(session, small_tables(), actor="tester")
    monkeypatch.setenv("REGMED_PSEUDONYM_KEY", "some-other-key")
    with pytest.raises(DataError, match="pseudonymization key is not the one"):
        reg.import_tables(session, {"patients": small_tables()["patients"]}, actor="t")


def test_typed_frames_are_accepted_like_text(session: Session) -> None:
    t = small_tables()
    typed = {k: v.copy() for k, v in t.items()}
    a = typed["assessments"]
    a["assessed_on"] = pd.to_datetime(a["assessed_on"])
    a["blinded"] = a["blinded"] == "true"
    a["value"] = pd.to_numeric(a["value"])
    typed["patients"]["birth_year"] = typed["patients"]["birth_year"].astype(int)
    reg.import_tables(session, typed, actor="tester")
    again = reg.import_tables(session, t, actor="tester")
    assert sum(again.inserted.values()) == 0 and sum(again.updated.values()) == 0


def test_text_with_special_characters_is_stored_exactly(session: Session) -> None:
    t = small_tables()
    odd = 'Tab\there, new\nline, back\\slash, "quote", 大阪, \\N, end\r'
    t["sites"].loc[0, "name"] = odd
    t["assessments"].loc[0, "assessor"] = "dr \\t x"
    reg.import_tables(session, t, actor="tester")
    stored = session.execute(select(reg.Site.name).where(reg.Site.site_code == "S01")).scalar()
    assert stored == odd.strip()  # cells are stripped of surrounding white space
    who = session.execute(
        select(reg.Assessment.assessor).where(reg.Assessment.assessment_ref == "A0")
    ).scalar()
    assert who == "dr \\t x"
    assert reg.verify_audit(session).ok


def test_excel_workbook_with_typed_cells_imports_like_csv(session: Session, tmp_path: Path) -> None:
    t = small_tables()
    book = tmp_path / "upload.xlsx"
    with pd.ExcelWriter(book) as writer:
        for name, frame in t.items():
            frame = frame.copy()
            for col in frame.columns:
                if col.endswith("_on") or col.endswith("_date"):  # real Excel dates
                    frame[col] = pd.to_datetime(frame[col].replace("", None))
                elif col in ("birth_year", "grade", "dose", "lower_spec", "value"):
                    frame[col] = pd.to_numeric(frame[col].replace("", None))
            frame.to_excel(writer, sheet_name=name, index=False)
    tables = reg.read_folder(book)
    assert set(tables) == set(t)
    assert tables["patients"].attrs["source"] == "upload.xlsx[patients]"
    reg.import_tables(session, tables, actor="tester")
    again = reg.import_tables(session, t, actor="tester")  # the same data as CSV text
    assert sum(again.inserted.values()) == 0 and sum(again.updated.values()) == 0
    bad = reg.read_folder(book)
    bad["assessments"].loc[1, "assessed_on"] = "someday"
    with pytest.raises(DataError) as err:
        reg.import_tables(session, bad, actor="tester")
    ((file, row, field),) = [(p.file, p.row, p.field) for p in err.value.problems]
    assert (file, row, field) == ("upload.xlsx[assessments]", 2, "assessed_on")


def test_registry_changed_between_validation_and_write_is_refused(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import text

    from regmed.registry import importer

    real_write = importer._write

    def racing_write(s: Session, *args: object, **kwargs: object) -> object:
        # another writer adds the same site after validation looked at the registry
        s.execute(text("INSERT INTO sites (site_code, name) VALUES ('S01', 'other')"))
        return real_write(s, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(importer, "_write", racing_write)
    with pytest.raises(DataError, match="changed while it was being imported"):
        reg.import_tables(session, {"sites": small_tables()["sites"]}, actor="tester")
    assert reg.count_events(session) == 0
