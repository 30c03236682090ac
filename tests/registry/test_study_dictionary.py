"""The study dictionary in the registry: versions with SHA-256, audited, never changed; the
baseline rows of an import checked against it (same texts as validate_record); the CLI."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import regmed.registry as reg
from regmed.errors import DataError
from regmed.registry.models import StudyDictionaryVersion
from regmed.registry.study_dictionary import (
    dictionary_of,
    get_study_dictionary,
    latest_study_dictionary,
    store_study_dictionary,
    study_dictionary_history,
)
from regmed.study import read_redcap_csv, validate_record

from .conftest import table_counts
from .data import small_tables
from .test_cli import run

FIXTURE = Path(__file__).parents[1] / "study" / "data" / "redcap_30.csv"


def _dictionary():  # type: ignore[no-untyped-def]
    return read_redcap_csv(FIXTURE)


def test_versions_are_stored_with_sha256_and_audited(session: Session) -> None:
    d = _dictionary()
    assert latest_study_dictionary(session) is None
    first = store_study_dictionary(d, session=session, actor="ana", reason="from REDCap",
                                   source_file="redcap_30.csv")
    assert (first.version, first.n_variables) == (1, 30)
    assert first.sha256 == dictionary_of(first).sha256()
    with pytest.raises(DataError, match="identical to the stored version 1"):
        store_study_dictionary(d, session=session, actor="ana", reason="again")
    with pytest.raises(DataError, match="a reason is required"):
        store_study_dictionary(d, session=session, actor="ana", reason=" ")
    changed = d.model_copy(update={"variables": d.variables[:-1]})
    second = store_study_dictionary(changed, session=session, actor="bo", reason="ae grade out")
    assert second.version == 2 and second.sha256 != first.sha256
    latest = latest_study_dictionary(session)
    assert latest is not None and latest.version == 2 and len(latest.variables) == 29
    assert get_study_dictionary(session, 1).n_variables == 30
    history = study_dictionary_history(session)
    assert [(h["version"], h["imported_by"], h["reason"]) for h in history] == [
        (1, "ana", "from REDCap"), (2, "bo", "ae grade out")]
    log = reg.audit_log(session, "study_dictionary_versions")
    assert [(e["actor"], e["action"], e["reason"]) for e in log] == [
        ("ana", "insert", "from REDCap"), ("bo", "insert", "ae grade out")]
    check = reg.verify_audit(session)
    assert check.ok, check.message


def test_a_stored_version_never_changes(session: Session) -> None:
    record = store_study_dictionary(_dictionary(), session=session, actor="ana", reason="r")
    with pytest.raises(DataError, match="never changes"):
        reg.update_record(record, {"reason": "edited"}, session=session, actor="ana",
                          reason="try")
    with pytest.raises(DataError, match="never changes"):
        reg.delete_record(record, session=session, actor="ana", reason="try")


def test_a_version_edited_outside_regmed_is_refused(session: Session) -> None:
    record = store_study_dictionary(_dictionary(), session=session, actor="ana", reason="r")
    record.json_text = record.json_text.replace("性別", "性")
    session.flush()
    with pytest.raises(DataError, match="does not match its SHA-256"):
        dictionary_of(session.scalars(select(StudyDictionaryVersion)).one())


def _baseline(rows: list[tuple[str, str, str, object, object]]) -> dict[str, pd.DataFrame]:
    return {"baseline": pd.DataFrame([
        {"site_code": s, "patient_ref": r, "variable": v, "value": val, "value_text": txt}
        for s, r, v, val, txt in rows])}


def test_baseline_rows_are_checked_against_the_dictionary(session: Session) -> None:
    reg.import_tables(session, small_tables(), actor="tester")  # no dictionary: any variable
    d = _dictionary()
    store_study_dictionary(d, session=session, actor="ana", reason="r")
    before = table_counts(session)
    bad = _baseline([
        ("S01", "P002", "ais_grade", "", "Z"),              # row 1: not a choice
        ("S01", "P002", "days_from_injury", "61", ""),      # row 2: above the maximum
        ("S01", "P002", "favourite_colour", "", "blue"),    # row 3: not a variable
        ("S01", "P002", "age", "40.5", ""),                 # row 4: not a whole number
        ("S01", "P002", "comorbidity_other", "", "asthma"),  # row 5: hidden (no box 3)
        ("S01", "P002", "injury_level", "", "C5"),          # row 6: fine
    ])
    with pytest.raises(DataError) as info:
        reg.import_tables(session, bad, actor="tester", reason="r")
    got = {(p.row, p.field): p.message for p in info.value.problems}
    expected_texts = {p.field: p.message for p in validate_record(d, "baseline", {
        "ais_grade": "Z", "days_from_injury": 61.0, "age": 40.5,
        "comorbidity_other": "asthma"}, partial=True)}
    assert got == {
        (1, "value_text"): expected_texts["ais_grade"],
        (2, "value"): expected_texts["days_from_injury"],
        (3, "variable"): "Not a variable of the study dictionary.",
        (4, "value"): expected_texts["age"],
        (5, "value_text"): expected_texts["comorbidity_other"],
    }
    assert "import refused: nothing was written" in str(info.value)
    assert table_counts(session) == before


def test_branching_reads_the_values_stored_before(session: Session) -> None:
    reg.import_tables(session, small_tables(), actor="tester")
    store_study_dictionary(_dictionary(), session=session, actor="ana", reason="r")
    reg.import_tables(session, _baseline([("S01", "P002", "comorbidities", "", "1|3")]),
                      actor="tester")
    # box 3 is ticked in the registry: the other disease may now be given on its own
    reg.import_tables(session, _baseline([("S01", "P002", "comorbidity_other", "", "asthma")]),
                      actor="tester")
    # and un-ticking box 3 while the stored other disease stays is refused
    with pytest.raises(DataError) as info:
        reg.import_tables(session, _baseline([("S01", "P002", "comorbidities", "", "1")]),
                          actor="tester", reason="corrected")
    (problem,) = info.value.problems
    assert problem.field == "comorbidity_other (stored value)" and problem.row == 1
    assert problem.message.startswith("Must be empty")


@pytest.mark.usefixtures("loaded")
def test_cli_import_export_history(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["dictionary", "import", str(FIXTURE), "--reason", "from REDCap",
                          "--actor", "ana"], capsys)
    assert code == 0, err
    assert "stored study dictionary version 1: 30 variables on 3 forms" in out
    code, out, err = run(["dictionary", "import", str(FIXTURE)], capsys)
    assert code == 2 and "identical to the stored version 1" in err
    target = tmp_path / "export.csv"
    code, out, err = run(["dictionary", "export", "--out", str(target)], capsys)
    assert code == 0, err
    assert read_redcap_csv(target) == read_redcap_csv(FIXTURE).model_copy(
        update={"version": 1})
    code, out, _ = run(["dictionary", "history"], capsys)
    assert code == 0 and "version 1" in out and "ana" in out and "from REDCap" in out


@pytest.mark.usefixtures("loaded")
def test_cli_refuses_a_bad_file_naming_row_and_column(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    text = FIXTURE.read_text(encoding="utf-8").replace(
        "bmi,baseline,,calc", "bmi,baseline,,slider")
    bad = tmp_path / "bad.csv"
    bad.write_text(text, encoding="utf-8")
    code, _, err = run(["dictionary", "import", str(bad)], capsys)
    assert code == 2
    assert "bad.csv, row 17, Field Type: slider fields are not supported" in err
    code, _, err = run(["dictionary", "export", "--out", str(tmp_path / "x.csv")], capsys)
    assert code == 2 and "holds no study dictionary" in err


def test_the_single_record_path_gives_the_importers_texts(session: Session) -> None:
    from regmed.registry.models import Patient, Site
    from regmed.registry.single import save_row

    reg.import_tables(session, small_tables(), actor="tester")
    store_study_dictionary(_dictionary(), session=session, actor="ana", reason="r")
    pseudonym = session.scalars(select(Patient.pseudonym).join(Site).where(
        Site.site_code == "S01").order_by(Patient.id)).first()
    row = {"site_code": "S01", "patient_pseudonym": pseudonym, "variable": "ais_grade",
           "value_text": "Z"}
    with pytest.raises(DataError) as form:
        save_row(session, "baseline", row, actor="site", reason="r")
    frame = pd.DataFrame([{**row, "value": None}])
    with pytest.raises(DataError) as imported:
        reg.import_tables(session, {"baseline": frame}, actor="site", reason="r")
    assert [(p.row, p.field, p.message) for p in form.value.problems] == [
        (p.row, p.field, p.message) for p in imported.value.problems] == [
        (1, "value_text", "Choose one of A = A, B = B, C = C, D = D, E = E (got Z).")]
    with pytest.raises(DataError, match="Not a variable of the study dictionary"):
        save_row(session, "baseline", {**row, "variable": "colour"}, actor="site", reason="r")
    saved = save_row(session, "baseline", {**row, "value_text": "C"}, actor="site",
                     reason="corrected")
    assert saved.action == "update"


def lock_sci_plan(url: str) -> Engine:
    """Lock the sci demo's plan (visits day49 and day180) as ``sci`` in the registry at
    ``url``; returns an engine on it (the caller disposes of it)."""
    from regmed import demo
    from regmed.registry.plans import lock_plan

    text = demo.generate("sci", seed=0, n_treated=20, n_concurrent=40,
                         n_historical=60).plan_yaml
    engine = reg.make_engine(url)
    with reg.session_scope(engine) as session:
        lock_plan(text, session=session, name="sci", signer="Dr A", reason="agreed",
                  actor="ana")
    return engine


def test_cli_visits_from_a_locked_plan(loaded: str, capsys: pytest.CaptureFixture[str]) -> None:
    engine = lock_sci_plan(loaded)
    code, out, err = run(["dictionary", "import", str(FIXTURE), "--visits-from-plan", "sci"],
                         capsys)
    assert code == 0, err
    assert "visits day49, day180" in out
    with reg.session_scope(engine) as session:
        stored = latest_study_dictionary(session)
    engine.dispose()
    assert stored is not None and [(v.name, v.day, v.window) for v in stored.visits] == [
        ("day49", 49, 7), ("day180", 180, 30)]
    code, _, err = run(["dictionary", "import", str(FIXTURE), "--visits-from-plan", "nope"],
                       capsys)
    assert code == 2 and "no locked plan 'nope'" in err


def test_a_stored_value_the_import_does_not_touch_is_not_its_problem(session: Session) -> None:
    reg.import_tables(session, small_tables(), actor="tester")  # P001 (S01): ais_grade A
    d = _dictionary()
    strict = d.model_copy(update={"variables": tuple(
        v.model_copy(update={"choices": v.choices[1:]}) if v.name == "ais_grade" else v
        for v in d.variables)})  # A is no longer a code
    store_study_dictionary(strict, session=session, actor="ana", reason="r")
    reg.import_tables(session, _baseline([("S01", "P001", "injury_level", "", "C5")]),
                      actor="tester")  # the stored, now unknown grade A is not this file's
    with pytest.raises(DataError, match="Choose one of B = B"):
        reg.import_tables(session, _baseline([("S01", "P001", "ais_grade", "", "A")]),
                          actor="tester", reason="r")


def test_extract_refuses_stored_covariates_the_dictionary_does_not_allow(
        session: Session) -> None:
    """extract() reads the covariates only when their stored values follow the dictionary
    (issue 17: imports, web forms and extract() validate with the same rules)."""
    from types import SimpleNamespace

    from regmed.registry.extract import _check_dictionary, extract
    from regmed.study import Choice

    reg.import_tables(session, small_tables(), actor="tester")  # stored before any dictionary
    plan = SimpleNamespace(controls=[SimpleNamespace(adjustment=SimpleNamespace(
        covariates=["ais_grade", "days_from_injury"]))])
    d = _dictionary()
    store_study_dictionary(d, session=session, actor="ana", reason="r")
    _check_dictionary(session, plan)  # all allowed
    # version 2 allows AIS grade A only and at most 10 days from injury
    variables = [v.model_copy(update={"choices": (Choice(code="A", label_ja="A",
                                                          label_en="A"),)})
                 if v.name == "ais_grade" else
                 v.model_copy(update={"max": 10.0}) if v.name == "days_from_injury" else v
                 for v in d.variables]
    store_study_dictionary(d.model_copy(update={"variables": tuple(variables)}), session=session,
                           actor="ana", reason="narrowed")
    with pytest.raises(DataError) as info:
        extract(session, plan)
    problems = info.value.problems
    assert "version 2" in str(info.value)
    got = sorted((p.field, p.message.split(": ", 1)[1]) for p in problems)
    texts = {p.field: p.message for p in validate_record(
        latest_study_dictionary(session), "baseline",
        {"ais_grade": "B", "days_from_injury": 14.0}, partial=True)}
    assert got == [("ais_grade", texts["ais_grade"]),
                   ("days_from_injury", texts["days_from_injury"])]
    assert all(p.file == "baseline" and p.message.startswith("patient S0") for p in problems)


@pytest.mark.usefixtures("loaded")
def test_form_titles_from_redcaps_instrument_list(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """The forms' titles (REDCap's instrument list, bilingual) are stored with the
    dictionary, exported back, and refused with file, row and column when they name an
    unknown form; a dictionary without titles keeps its SHA-256."""
    titles = tmp_path / "instruments.csv"
    titles.write_text("instrument_name,instrument_label\r\nbaseline,患者背景 / Baseline\r\n"
                      "visit,来院 / Visit\r\n", encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text("instrument_name,instrument_label\r\nbaseline,背景\r\nlab,\r\n",
                   encoding="utf-8")
    code, _, err = run(["dictionary", "import", str(FIXTURE), "--instruments", str(bad)],
                       capsys)
    assert code == 2
    assert "bad.csv, row 2, instrument_name: not a form of the study dictionary" in err
    assert "bad.csv, row 2, instrument_label: the label is empty" in err
    code, out, err = run(["dictionary", "import", str(FIXTURE), "--instruments", str(titles)],
                         capsys)
    assert code == 0, err
    back = tmp_path / "titles_out.csv"
    code, out, err = run(["dictionary", "export", "--out", str(tmp_path / "d.csv"),
                          "--instruments", str(back)], capsys)
    assert code == 0 and "wrote 2 form titles" in out
    assert back.read_text(encoding="utf-8-sig") == titles.read_text(encoding="utf-8")
    plain = _dictionary()
    titled = plain.model_copy(update={"form_labels": read_instruments(titles, plain)})
    assert titled.form_label("baseline", "ja") == "患者背景"
    assert titled.form_label("baseline", "en") == "Baseline"
    assert titled.form_label("enrollment", "en") == "enrollment"  # no title: the name
    assert titled.sha256() != plain.sha256()
    assert "form_labels" not in plain.to_json()


def read_instruments(path: Path, d):  # type: ignore[no-untyped-def]
    from regmed.study import read_instruments_csv

    return read_instruments_csv(path, d).form_labels
