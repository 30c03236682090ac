"""REDCap data dictionary CSV: the 30-variable fixture, round trip, mapping, refusals."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from regmed.errors import DataError
from regmed.study import (
    FIELD_TYPES,
    REDCAP_COLUMNS,
    read_redcap_csv,
    redcap_text,
    write_redcap_csv,
)

DATA = Path(__file__).parent / "data" / "redcap_30.csv"


def _rows() -> list[list[str]]:
    with DATA.open(encoding="utf-8") as fh:
        return list(csv.reader(fh))


def _write(tmp_path: Path, rows: list[list[str]], name: str = "dd.csv") -> Path:
    path = tmp_path / name
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def test_fixture_has_30_variables_of_every_type() -> None:
    d = read_redcap_csv(DATA)
    assert len(d.variables) == 30
    assert {v.field_type for v in d.variables} == set(FIELD_TYPES)
    rtypes = {r[3] for r in _rows()[1:]}
    assert rtypes == {"text", "notes", "dropdown", "radio", "checkbox", "yesno", "truefalse",
                      "calc", "descriptive"}
    assert d.forms() == ["enrollment", "baseline", "visit"]


def test_mapping_of_fields() -> None:
    d = read_redcap_csv(DATA)
    sex = d.variable("sex")
    assert sex is not None and sex.field_type == "single_choice" and sex.widget == "radio"
    assert [(c.code, c.label_ja, c.label_en) for c in sex.choices] == [
        ("M", "男性", "Male"), ("F", "女性", "Female")]
    assert (sex.label_ja, sex.label_en, sex.required, sex.alignment) == ("性別", "Sex", True,
                                                                         "RH")
    age = d.variable("age")
    assert age is not None and (age.field_type, age.min, age.max, age.unit) == (
        "integer", 0, 120, "years")
    consent = d.variable("consent_date")
    assert consent is not None and consent.field_type == "date"
    assert consent.min == dt.date(2020, 1, 1) and consent.section_header == "同意 / Consent"
    bmi = d.variable("bmi")
    assert bmi is not None and bmi.field_type == "calculated" and bmi.unit == "kg/m2"
    assert bmi.annotation == "@READONLY" and bmi.label_en is None and bmi.min is None
    assert d.variable("smoker").widget == "truefalse"  # type: ignore[union-attr]
    assert d.variable("medical_history").widget == "notes"  # type: ignore[union-attr]
    assert d.variable("height_cm").field_type == "number"  # type: ignore[union-attr]
    assert d.variable("site_patient_id").identifier  # type: ignore[union-attr]
    other = d.variable("comorbidity_other")
    assert other is not None and other.branching == "[comorbidities(3)] = '1'"


def test_round_trip_import_export_import(tmp_path: Path) -> None:
    d = read_redcap_csv(DATA)
    out = tmp_path / "export.csv"
    write_redcap_csv(d, out)
    again = read_redcap_csv(out)
    assert again == d and again.sha256() == d.sha256()
    # and the export is REDCap's layout, UTF-8 with BOM
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == REDCAP_COLUMNS and len(rows) == 31
    assert redcap_text(again) == redcap_text(d)


def test_json_round_trip() -> None:
    from regmed.study import StudyDictionary

    d = read_redcap_csv(DATA)
    assert StudyDictionary.from_json(d.to_json()) == d


def test_every_problem_named_at_once(tmp_path: Path) -> None:
    rows = _rows()
    rows[2][3] = "file"                         # row 2: file field
    rows[4][3] = "slider"                       # row 4: slider
    rows[5][15] = "grp"                         # row 5: matrix group
    rows[6][16] = "y"                           # row 6: matrix ranking
    rows[8][5] = "A, A | A, B"                  # row 8: duplicate code
    rows[11][8], rows[11][9] = "50", "10"       # row 11: min above max
    rows[12][7] = "email"                       # row 12: unsupported validation
    rows[13][11] = "[nope] = '1'"               # row 13: unknown variable
    rows[14][11] = "__import__('os')"           # row 14: not the language
    rows[1][0] = "Bad Name"                     # row 1
    path = _write(tmp_path, rows)
    with pytest.raises(DataError) as info:
        read_redcap_csv(path)
    got = {(p.row, p.field) for p in info.value.problems}
    assert {(2, "Field Type"), (4, "Field Type"), (5, "Matrix Group Name"),
            (6, "Matrix Ranking?"), (8, "Choices, Calculations, OR Slider Labels"),
            (11, "Text Validation Min"), (12, "Text Validation Type OR Show Slider Number"),
            (13, "Branching Logic (Show field only if...)"),
            (14, "Branching Logic (Show field only if...)"),
            (1, "Variable / Field Name")} <= got
    assert all(p.file == str(path) for p in info.value.problems)
    text = str(info.value)
    assert "nothing was imported" in text and "position 1" in text
    parse_problem = next(p for p in info.value.problems if p.row == 14)
    assert "injury_year" in parse_problem.message  # the variable is named (row 14)


def test_header_must_be_redcaps(tmp_path: Path) -> None:
    rows = _rows()
    rows[0] = rows[0][:-1]
    rows = [r[:-1] for r in rows]
    with pytest.raises(DataError, match="Field Annotation"):
        read_redcap_csv(_write(tmp_path, rows))


def test_bilingual_label_convention(tmp_path: Path) -> None:
    rows = [list(REDCAP_COLUMNS),
            ["q1", "f", "", "radio", "痛み / Pain", "1, なし / None | 2, あり", "", "", "", "",
             "", "", "", "", "", "", "", ""]]
    d = read_redcap_csv(_write(tmp_path, rows))
    q = d.variable("q1")
    assert q is not None and (q.label_ja, q.label_en) == ("痛み", "Pain")
    assert [(c.label_ja, c.label_en) for c in q.choices] == [("なし", "None"), ("あり", None)]
    assert q.label("ja") == "痛み" and q.choices[1].label_en is None
    out = tmp_path / "o.csv"
    write_redcap_csv(d, out)
    assert "1, なし / None | 2, あり" in out.read_text(encoding="utf-8-sig")
