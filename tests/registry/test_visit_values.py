"""Values of visit forms (the study dictionary's instrument–event mapping): stored per
patient, visit and variable, audited, checked by the importer and the single-record path with
the same texts, branching within a visit; the CLI's --events import and export."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import regmed.registry as reg
from regmed.errors import DataError
from regmed.registry.models import Patient, Site, VisitValue
from regmed.registry.single import save_row
from regmed.registry.study_check import NO_VISIT_FORMS
from regmed.registry.study_dictionary import latest_study_dictionary, store_study_dictionary
from regmed.study import (
    StudyDictionary,
    Visit,
    read_event_mapping_csv,
    read_redcap_csv,
    validate_record,
)

from .conftest import table_counts
from .data import small_tables
from .test_cli import run
from .test_study_dictionary import lock_sci_plan

DATA = Path(__file__).parents[1] / "study" / "data"
VISITS = (Visit(name="screening", day=0, window=7), Visit(name="day180", day=180, window=30))


def visit_dictionary() -> StudyDictionary:
    """The 30-variable fixture; baseline and visit filled at screening, visit at day180."""
    d = read_redcap_csv(DATA / "redcap_30.csv").model_copy(update={"visits": VISITS})
    return read_event_mapping_csv(DATA / "redcap_30_events.csv", d)


def _rows(rows: list[tuple[str, str, object, object]], patient: str = "P001"
          ) -> dict[str, pd.DataFrame]:
    return {"visit_values": pd.DataFrame([
        {"site_code": "S01", "patient_ref": patient, "visit": visit, "variable": var,
         "value": value, "value_text": text} for visit, var, value, text in rows])}


def _stored(session: Session) -> dict[tuple[str, str], object]:
    rows = session.execute(select(VisitValue.visit, VisitValue.variable, VisitValue.value,
                                  VisitValue.value_text))
    return {(v, var): x if x is not None else t for v, var, x, t in rows}


def _pseudonym(session: Session) -> str:
    return str(session.scalars(select(Patient.pseudonym).join(Site).where(
        Site.site_code == "S01").order_by(Patient.id)).first())


@pytest.fixture
def registry(session: Session) -> Session:
    reg.import_tables(session, small_tables(), actor="tester")
    store_study_dictionary(visit_dictionary(), session=session, actor="ana", reason="visits")
    return session


def test_values_are_stored_per_visit_and_audited(registry: Session, tmp_path: Path) -> None:
    s = registry
    reg.import_tables(s, _rows([("screening", "motor_score", 20, None),
                                ("day180", "motor_score", 35, None),
                                ("day180", "walking", None, "1")]), actor="site")
    assert _stored(s) == {("screening", "motor_score"): 20, ("day180", "motor_score"): 35,
                          ("day180", "walking"): "1"}
    log = reg.audit_log(s, "visit_values")
    p = _pseudonym(s)
    assert sorted(e["record_key"] for e in log) == sorted([
        f"S01:{p}:screening:motor_score", f"S01:{p}:day180:motor_score",
        f"S01:{p}:day180:walking"])
    # a change of one visit's value needs a reason and leaves the other visit alone
    with pytest.raises(DataError, match="reason"):
        reg.import_tables(s, _rows([("day180", "motor_score", 40, None)]), actor="site")
    reg.import_tables(s, _rows([("day180", "motor_score", 40, None)]), actor="site",
                      reason="re-scored")
    assert _stored(s)[("screening", "motor_score")] == 20
    assert _stored(s)[("day180", "motor_score")] == 40
    (update,) = [e for e in reg.audit_log(s, "visit_values") if e["action"] == "update"]
    assert update["reason"] == "re-scored" and update["old_values"]["value"] == 35
    check = reg.verify_audit(s)
    assert check.ok, check.message
    # the export carries the visit values, and importing them again changes nothing
    written = reg.export_tables(s, tmp_path / "out")
    exported = pd.read_csv(written["visit_values"], dtype=str, keep_default_na=False)
    assert sorted(zip(exported["visit"], exported["variable"], strict=True)) == [
        ("day180", "motor_score"), ("day180", "walking"), ("screening", "motor_score")]
    events = len(reg.audit_log(s, "visit_values"))
    reg.import_tables(s, {"visit_values": exported}, actor="site")
    assert len(reg.audit_log(s, "visit_values")) == events


def test_refusals_name_row_and_column_with_the_rules_texts(registry: Session) -> None:
    s = registry
    d = visit_dictionary()
    before = table_counts(s)
    bad = _rows([
        ("week_99", "motor_score", 10, None),     # row 1: not a visit of the schedule
        ("day180", "sex", None, "F"),             # row 2: a patient-level variable
        ("day180", "age", 40, None),              # row 3: baseline is not filled at day180
        ("day180", "motor_score", 101, None),     # row 4: above the maximum
        ("day180", "walking_aid", None, "2"),     # row 5: hidden (walking is not 1)
        ("day180", "colour", None, "blue"),       # row 6: not a variable
    ])
    with pytest.raises(DataError) as info:
        reg.import_tables(s, bad, actor="site", reason="r")
    got = {(p.row, p.field): p.message for p in info.value.problems}
    texts = {p.field: p.message for p in validate_record(
        d, "visit", {"motor_score": 101, "walking_aid": "2"}, partial=True)}
    assert got == {
        (1, "visit"): "'week_99' is not a visit of the study dictionary's schedule "
                      "(screening, day180)",
        (2, "variable"): "sex is on the form enrollment, which is not filled at day180 "
                         "(filled once per patient)",
        (3, "variable"): "age is on the form baseline, which is not filled at day180 "
                         "(filled at screening)",
        (4, "value"): texts["motor_score"],
        (5, "value_text"): texts["walking_aid"],
        (6, "variable"): "Not a variable of the study dictionary.",
    }
    # a baseline row may not give a visit form's variable
    with pytest.raises(DataError) as info:
        reg.import_tables(s, {"baseline": pd.DataFrame([{
            "site_code": "S01", "patient_ref": "P001", "variable": "motor_score",
            "value": 10, "value_text": None}])}, actor="site")
    (p,) = info.value.problems
    assert (p.row, p.field) == (1, "variable")
    assert p.message == ("motor_score is on the visit form visit (filled at screening, "
                         "day180): give its values per visit, in visit_values")
    assert table_counts(s) == before


def test_branching_reads_the_same_visit_and_the_patient_level_values(registry: Session
                                                                      ) -> None:
    s = registry
    reg.import_tables(s, _rows([("day180", "walking", None, "1"),
                                ("day180", "ais_grade_visit", None, "C")]), actor="site")
    # walking is 1 at day180 only: the walking aid is shown there, hidden at screening
    reg.import_tables(s, _rows([("day180", "walking_aid", None, "2")]), actor="site")
    with pytest.raises(DataError) as info:
        reg.import_tables(s, _rows([("screening", "walking_aid", None, "2")]), actor="site")
    assert info.value.problems[0].message.startswith("Must be empty")
    assert _stored(s)[("day180", "walking_aid")] == "2"


def test_the_single_record_path_gives_the_importers_texts(registry: Session) -> None:
    s = registry
    row = {"site_code": "S01", "patient_pseudonym": _pseudonym(s), "visit": "day180",
           "variable": "motor_score", "value": 101}
    with pytest.raises(DataError) as form:
        save_row(s, "visit_values", row, actor="site")
    with pytest.raises(DataError) as imported:
        reg.import_tables(s, {"visit_values": pd.DataFrame([{**row, "value_text": None}])},
                          actor="site")
    assert [(p.row, p.field, p.message) for p in form.value.problems] == [
        (p.row, p.field, p.message) for p in imported.value.problems] == [
        (1, "value", "Must be at most 100 (got 101).")]
    saved = save_row(s, "visit_values", {**row, "value": 30}, actor="site")
    assert saved.action == "insert" and _stored(s) == {("day180", "motor_score"): 30}
    with pytest.raises(DataError) as form:
        save_row(s, "visit_values", {**row, "visit": "week_99", "value": 30}, actor="site")
    assert form.value.problems[0].field == "visit"


def test_without_visit_forms_visit_values_are_refused(session: Session) -> None:
    reg.import_tables(session, small_tables(), actor="tester")
    with pytest.raises(DataError) as info:
        reg.import_tables(session, _rows([("day180", "motor_score", 10, None)]),
                          actor="site")
    assert [p.message for p in info.value.problems] == [NO_VISIT_FORMS]
    store_study_dictionary(read_redcap_csv(DATA / "redcap_30.csv"), session=session,
                           actor="ana", reason="no mapping")
    with pytest.raises(DataError) as info:
        reg.import_tables(session, _rows([("day180", "motor_score", 10, None)]),
                          actor="site")
    assert [p.message for p in info.value.problems] == [NO_VISIT_FORMS]


def test_cli_imports_and_exports_the_instrument_designation(
        loaded: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    engine = lock_sci_plan(loaded)
    events = tmp_path / "events.csv"
    events.write_text("arm_num,unique_event_name,form\n1,day49_arm_1,visit\n"
                      "1,day180_arm_1,visit\n", encoding="utf-8")
    code, out, err = run(["dictionary", "import", str(DATA / "redcap_30.csv"),
                          "--visits-from-plan", "sci", "--events", str(events)], capsys)
    assert code == 0, err
    assert "visit forms day49: visit; day180: visit" in out
    with reg.session_scope(engine) as session:
        stored = latest_study_dictionary(session)
    assert stored is not None and stored.form_visits("visit") == ["day49", "day180"]
    assert stored.patient_forms() == ["enrollment", "baseline"]
    back = tmp_path / "back.csv"
    code, out, err = run(["dictionary", "export", "--out", str(tmp_path / "dd.csv"),
                          "--events", str(back)], capsys)
    assert code == 0, err
    assert f"wrote 2 form–visit rows to {back}" in out
    assert read_event_mapping_csv(back, stored.model_copy(update={"events": ()})) == stored
    # a mapping naming an unknown visit is refused with its row; nothing is stored
    events.write_text("arm_num,unique_event_name,form\n1,day49_arm_1,visit\n"
                      "1,week_3_arm_1,visit\n1,day49_arm_1,labs\n", encoding="utf-8")
    code, _, err = run(["dictionary", "import", str(DATA / "redcap_30.csv"),
                        "--visits-from-plan", "sci", "--events", str(events)], capsys)
    assert code == 2
    assert "events.csv, row 2, unique_event_name: the visit 'week_3_arm_1' is not in" in err
    assert "events.csv, row 3, form: the form 'labs' is not a form" in err
    with reg.session_scope(engine) as session:
        assert latest_study_dictionary(session) == stored
    engine.dispose()


def test_a_new_version_may_not_drop_the_forms_of_stored_visit_values(registry: Session
                                                                      ) -> None:
    s = registry
    reg.import_tables(s, _rows([("day180", "motor_score", 35, None),
                                ("screening", "motor_score", 20, None),
                                ("screening", "age", 40, None)]), actor="site")
    d = visit_dictionary()
    only_screening = d.model_copy(update={"events": tuple(
        e for e in d.events if e.visit == "screening")})
    with pytest.raises(DataError) as info:
        store_study_dictionary(only_screening, session=s, actor="ana", reason="r")
    assert [p.message for p in info.value.problems] == [
        "1 stored value of motor_score at visit day180: the new version does not fill its "
        "form visit at day180 (give the instrument designation with --events)"]
    with pytest.raises(DataError) as info:
        store_study_dictionary(d.model_copy(update={"events": ()}), session=s, actor="ana",
                               reason="r")
    assert len(info.value.problems) == 3
    latest = latest_study_dictionary(s)
    assert latest is not None and latest.version == 1
    # a version that keeps the mapping (and adds a form to a visit) is stored
    more = d.model_copy(update={"events": (*d.events, type(d.events[0])(
        visit="day180", form="baseline"))})
    assert store_study_dictionary(more, session=s, actor="ana", reason="r").version == 2


def _store_sensory_score_read_by_sex(session: Session) -> None:
    """The small registry with the visit dictionary in which sensory_score (a visit form's)
    is shown only if the patient-level [sex] = 'F'."""
    reg.import_tables(session, small_tables(), actor="tester")
    d = visit_dictionary()
    reads_sex = d.model_copy(update={"variables": tuple(
        v.model_copy(update={"branching": "[sex] = 'F'"}) if v.name == "sensory_score" else v
        for v in d.variables)})
    store_study_dictionary(reads_sex, session=session, actor="ana", reason="r")


def test_visit_rows_read_the_patient_level_rows_of_the_same_import(session: Session) -> None:
    _store_sensory_score_read_by_sex(session)

    def both(sex: str, patient: str) -> dict[str, pd.DataFrame]:
        return {"baseline": pd.DataFrame([{
            "site_code": "S01", "patient_ref": patient, "variable": "sex", "value": None,
            "value_text": sex}]),
            **_rows([("day180", "sensory_score", 80, None)], patient)}

    with pytest.raises(DataError) as info:
        reg.import_tables(session, both("M", "P001"), actor="site")
    (p,) = info.value.problems
    assert (p.file, p.row, p.field) == ("visit_values.csv", 1, "value")
    assert p.message.startswith("Must be empty") and "[sex] = 'F'" in p.message
    reg.import_tables(session, both("F", "P002"), actor="site")  # sex F in the same file
    assert _stored(session) == {("day180", "sensory_score"): 80}


def test_a_patient_level_change_that_makes_a_stored_visit_value_wrong_is_refused(
        session: Session) -> None:
    _store_sensory_score_read_by_sex(session)
    sex = {"baseline": pd.DataFrame([{"site_code": "S01", "patient_ref": "P002",
                                      "variable": "sex", "value": None, "value_text": "F"}])}
    reg.import_tables(session, sex, actor="site")
    reg.import_tables(session, _rows([("day180", "sensory_score", 80, None)], "P002"),
                      actor="site")
    sex["baseline"]["value_text"] = "M"
    with pytest.raises(DataError) as info:
        reg.import_tables(session, sex, actor="site", reason="corrected")
    (p,) = info.value.problems
    assert (p.row, p.field) == (1, "sensory_score at day180 (stored value)")
    assert p.message.startswith("Must be empty")


def test_a_frozen_site_refuses_visit_values_on_every_path(registry: Session) -> None:
    from regmed.registry.freeze import freeze_data

    s = registry
    reg.import_tables(s, _rows([("day180", "motor_score", 35, None)]), actor="site")
    record = s.scalars(select(VisitValue)).one()
    freeze_data(s, actor="dm", reason="interim database lock", site_code="S01")
    row = {"site_code": "S01", "patient_pseudonym": _pseudonym(s), "visit": "screening",
           "variable": "motor_score", "value": 10}
    for fn in (
        lambda: reg.import_tables(s, _rows([("day180", "motor_score", 36, None)]),
                                  actor="site", reason="fix"),
        lambda: save_row(s, "visit_values", row, actor="site"),
        lambda: reg.delete_record(record, session=s, actor="site", reason="fix"),
    ):
        with pytest.raises(DataError) as info:
            fn()
        assert "site S01 are frozen" in str(info.value) + " ".join(
            p.message for p in info.value.problems)
    assert _stored(s) == {("day180", "motor_score"): 35}
