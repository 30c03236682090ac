"""REDCap's instrument designation CSV: forms filled at visits, round trip, refusals naming
file, row and column, and branching that reads only the same visit's and patient-level
values."""

from __future__ import annotations

from pathlib import Path

import pytest

from regmed.errors import DataError
from regmed.study import (
    StudyDictionary,
    Visit,
    event_mapping_text,
    parse_event_mapping_text,
    read_event_mapping_csv,
    read_redcap_csv,
    write_event_mapping_csv,
)

DATA = Path(__file__).parent / "data"
VISITS = (Visit(name="screening", day=0, window=7), Visit(name="day180", day=180, window=30))


def _dictionary() -> StudyDictionary:
    d = read_redcap_csv(DATA / "redcap_30.csv")
    return d.model_copy(update={"visits": VISITS})


def test_the_mapping_names_the_forms_of_each_visit_and_round_trips(tmp_path: Path) -> None:
    d = read_event_mapping_csv(DATA / "redcap_30_events.csv", _dictionary())
    assert d.visit_forms("screening") == ["baseline", "visit"]
    assert d.visit_forms("day180") == ["visit"]
    assert d.form_visits("visit") == ["screening", "day180"]
    assert d.patient_forms() == ["enrollment"]
    assert d.visit_of_variable("walking") and not d.visit_of_variable("sex")
    out = tmp_path / "events.csv"
    write_event_mapping_csv(d, out)
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM, as REDCap and Excel read
    assert read_event_mapping_csv(out, _dictionary()) == d
    assert event_mapping_text(d) == (DATA / "redcap_30_events.csv").read_bytes().decode()
    # the mapping is part of what is stored and hashed; a dictionary without one hashes as
    # before the mapping existed (stored versions keep their SHA-256)
    assert d.sha256() != _dictionary().sha256()
    assert '"events"' not in _dictionary().to_json()
    assert StudyDictionary.from_json(d.to_json()) == d


def test_a_visit_is_named_with_or_without_the_arm_suffix() -> None:
    d = _dictionary().model_copy(update={"visits": (Visit(name="Week 12", day=84),)})
    for name in ("week_12_arm_1", "Week 12", "week_12"):
        got = parse_event_mapping_text(f"arm_num,unique_event_name,form\n1,{name},visit\n", d)
        assert got.visit_forms("Week 12") == ["visit"], name


def test_unknown_forms_and_visits_are_refused_with_their_rows() -> None:
    text = ("arm_num,unique_event_name,form\n"
            "1,screening_arm_1,baseline\n"
            "1,week_99_arm_1,visit\n"        # row 2: not a visit of the schedule
            "1,day180_arm_1,labs\n"          # row 3: not a form
            "2,day180_arm_2,visit\n"         # row 4: another arm
            "x,day180_arm_1,visit\n"         # row 5: not an arm number
            "1,screening_arm_1,baseline\n")  # row 6: twice
    with pytest.raises(DataError) as info:
        parse_event_mapping_text(text, _dictionary(), file="events.csv")
    got = [(p.file, p.row, p.field, p.message) for p in info.value.problems]
    assert got == [
        ("events.csv", 2, "unique_event_name",
         "the visit 'week_99_arm_1' is not in the visit schedule (screening, day180)"),
        ("events.csv", 3, "form", "the form 'labs' is not a form of the data dictionary"),
        ("events.csv", 4, "arm_num", "arm 2: regmed's visit schedule has one arm (arm_num 1)"),
        ("events.csv", 5, "arm_num", "an arm number is a whole number: 'x'"),
        ("events.csv", 6, "form", "the form is mapped to this visit twice"),
    ]
    assert "nothing was imported" in str(info.value)


def test_a_mapping_without_a_schedule_or_with_a_bad_header_is_refused() -> None:
    d = read_redcap_csv(DATA / "redcap_30.csv")  # no visits
    with pytest.raises(DataError) as info:
        parse_event_mapping_text("arm_num,unique_event_name,form\n1,day180_arm_1,visit\n", d)
    assert "none: give the schedule first" in info.value.problems[0].message
    with pytest.raises(DataError) as info:
        parse_event_mapping_text("event,form\nday180,visit\n", _dictionary(), file="e.csv")
    (p,) = info.value.problems
    assert (p.file, p.row) == ("e.csv", 0) and "arm_num,unique_event_name,form" in p.message


def test_branching_may_read_the_same_visit_and_patient_level_values_only() -> None:
    d = _dictionary()
    # walking_aid (visit form) reads [walking] and [ais_grade_visit] of the same form: fine;
    # sensory_score reads [motor_score]: fine. Moving walking to a form filled only at
    # screening makes day180's walking_aid read another visit's value.
    moved = d.model_copy(update={"variables": tuple(
        v.model_copy(update={"form": "gait"}) if v.name == "walking" else v
        for v in d.variables)})
    text = ("arm_num,unique_event_name,form\n1,screening_arm_1,visit\n1,day180_arm_1,visit\n"
            "1,screening_arm_1,gait\n")
    with pytest.raises(DataError) as info:
        parse_event_mapping_text(text, moved, file="e.csv")
    assert [(p.field, p.message) for p in info.value.problems] == [(
        "walking_aid.branching",
        "names [walking] of the form gait, which is not filled at visit day180 (where visit "
        "is)")]
    # a patient-level form may not read a visit form's values
    reads = d.model_copy(update={"variables": tuple(
        v.model_copy(update={"branching": "[walking] = '1'"}) if v.name == "smoker" else v
        for v in d.variables)})
    with pytest.raises(DataError) as info:
        parse_event_mapping_text("arm_num,unique_event_name,form\n1,day180_arm_1,visit\n",
                                 reads)
    assert [p.field for p in info.value.problems] == ["smoker.branching"]
    assert "filled once per patient" in info.value.problems[0].message
