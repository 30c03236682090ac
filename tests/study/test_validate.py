"""validate_record: types, ranges, choices, branching-dependent required and hidden fields."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from regmed.study import MESSAGES, read_redcap_csv, validate_record

DATA = Path(__file__).parent / "data" / "redcap_30.csv"


@pytest.fixture(scope="module")
def d():  # type: ignore[no-untyped-def]
    return read_redcap_csv(DATA)


def _enrollment(**over: object) -> dict[str, object]:
    values: dict[str, object] = {"record_id": "1", "site_patient_id": "P001",
                                 "consent_date": "2024-04-01", "birth_year": "1970", "sex": "M"}
    values.update(over)
    return values


def by_field(problems):  # type: ignore[no-untyped-def]
    return {p.field: p.message for p in problems}


def test_a_good_record_has_no_problem(d) -> None:  # type: ignore[no-untyped-def]
    assert validate_record(d, "enrollment", _enrollment()) == []
    assert validate_record(d, "enrollment", _enrollment(sex="F", pregnant="0")) == []


def test_types_ranges_and_choices(d) -> None:  # type: ignore[no-untyped-def]
    got = by_field(validate_record(d, "enrollment", _enrollment(
        consent_date="2024/4/1", birth_year="19x0", sex="Z")))
    assert got == {
        "consent_date": "Enter a date as YYYY-MM-DD (got 2024/4/1).",
        "birth_year": "Enter a whole number (got 19x0).",
        "sex": "Choose one of M = Male, F = Female (got Z).",
    }
    got = by_field(validate_record(d, "enrollment", _enrollment(
        consent_date="2019-12-31", birth_year=1850)))
    assert got == {"consent_date": "Must be at least 2020-01-01 (got 2019-12-31).",
                   "birth_year": "Must be at least 1900 (got 1850)."}
    got = by_field(validate_record(d, "baseline", {"age": 130, "height_cm": "x",
                                                   "comorbidities": {"1", "9"}}, partial=True))
    assert got == {"age": "Must be at most 120 years (got 130).",
                   "height_cm": "Enter a number (got x).",
                   "comorbidities": "Choose only from 1 = Diabetes, 2 = Hypertension, "
                                    "3 = Other (not 9)."}


def test_required_only_when_shown(d) -> None:  # type: ignore[no-untyped-def]
    # pregnant is required but shown only for sex F
    assert "pregnant" not in by_field(validate_record(d, "enrollment", _enrollment(sex="M")))
    got = by_field(validate_record(d, "enrollment", _enrollment(sex="F")))
    assert got == {"pregnant": MESSAGES["required"]["en"]}
    got = by_field(validate_record(d, "enrollment", _enrollment(sex="")))
    assert got == {"sex": "Required: enter a value."}


def test_hidden_fields_must_be_empty(d) -> None:  # type: ignore[no-untyped-def]
    got = by_field(validate_record(d, "enrollment", _enrollment(sex="M", pregnant="1")))
    assert got == {"pregnant": "Must be empty: this field is not shown for these answers "
                               "(shown only if [sex] = 'F')."}
    visit = {"visit_date": "2024-05-01", "motor_score": "50", "ais_grade_visit": "C",
             "ae_any": "0", "ae_term": "headache", "walking": "0", "walking_aid": "2"}
    got = by_field(validate_record(d, "visit", visit))
    assert set(got) == {"ae_term", "walking_aid"}
    visit.update(ae_any="1", ae_term="", walking="1")
    got = by_field(validate_record(d, "visit", visit))
    assert got == {"ae_term": "Required: enter a value.", "ae_grade": "Required: enter a value."}
    visit.update(ae_term="headache", ae_grade="2", ais_grade_visit="A")
    got = by_field(validate_record(d, "visit", visit))  # not [ais] = 'A' hides the aid
    assert got == {"walking_aid": MESSAGES["hidden"]["en"].format(
        branching="[walking] = '1' and not [ais_grade_visit] = 'A'")}


def test_checkbox_branching_and_redcap_columns(d) -> None:  # type: ignore[no-untyped-def]
    base = {"age": 40, "ais_grade": "B", "injury_level": "C5", "injury_date": "2024-03-01",
            "days_from_injury": 10, "baseline_motor_score": 30}
    assert validate_record(d, "baseline", {**base, "comorbidities": {"1"}}) == []
    got = by_field(validate_record(d, "baseline", {**base, "comorbidities___3": "1",
                                                   "comorbidities___1": "0"}))
    assert got == {"comorbidity_other": "Required: enter a value."}
    assert validate_record(d, "baseline", {**base, "comorbidities": "1|3",
                                           "comorbidity_other": "asthma"}) == []


def test_calculated_field_must_match(d) -> None:  # type: ignore[no-untyped-def]
    values = {"height_cm": 200, "weight_kg": 80}
    assert validate_record(d, "baseline", {**values, "bmi": 20}, partial=True) == []
    got = by_field(validate_record(d, "baseline", {**values, "bmi": 25}, partial=True))
    assert got["bmi"].startswith("Does not match its calculation") and "expected 20" in got[
        "bmi"]
    got = by_field(validate_record(d, "baseline", {"bmi": "high"}, partial=True))
    assert got == {"bmi": "Enter a number (got high)."}
    # without its inputs a given value cannot be checked against the calculation
    assert validate_record(d, "baseline", {"bmi": 5}, partial=True) == []


def test_yes_no_descriptive_and_unknown(d) -> None:  # type: ignore[no-untyped-def]
    got = by_field(validate_record(d, "enrollment", _enrollment(
        sex="F", pregnant="yes", enroll_note="x", nonsense="1")))
    assert got == {"pregnant": "Answer 1 (yes) or 0 (no) (got yes).",
                   "enroll_note": "This is display text and takes no value.",
                   "nonsense": "Not a variable of the study dictionary."}
    assert validate_record(d, "enrollment", _enrollment(sex="F", pregnant=True)) == []
    assert validate_record(d, "baseline", {"smoker": "2"}, partial=True)[0].message == (
        "Choose one of 1 = True, 0 = False (got 2).")


def test_typed_values_are_accepted(d) -> None:  # type: ignore[no-untyped-def]
    assert validate_record(d, "enrollment", _enrollment(
        consent_date=dt.date(2024, 4, 1), birth_year=1970.0)) == []
    assert validate_record(d, "enrollment", _enrollment(birth_year=1970.5))[0].message == (
        "Enter a whole number (got 1970.5).")


def test_japanese_messages(d) -> None:  # type: ignore[no-untyped-def]
    got = by_field(validate_record(d, "enrollment", _enrollment(sex="Z", birth_year=""),
                                   lang="ja"))
    assert got == {"sex": "M = 男性, F = 女性 のいずれかを選んでください（入力値: Z）。",
                   "birth_year": "必須項目です。値を入力してください。"}
    assert set(MESSAGES) and all(set(m) == {"en", "ja"} for m in MESSAGES.values())


def test_partial_checks_only_given(d) -> None:  # type: ignore[no-untyped-def]
    assert validate_record(d, "baseline", {"age": 40}, partial=True) == []
    full = by_field(validate_record(d, "baseline", {"age": 40}))
    assert "ais_grade" in full and full["ais_grade"] == "Required: enter a value."
