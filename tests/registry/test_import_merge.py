"""An import cannot silently undo work: a field changed since its record was last imported or
exported (on the web, through a service) is not overwritten without --overwrite and a reason;
`regmed import --dry-run` shows inserts, updates (old → new) and refusals and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import regmed.registry as reg
from regmed.errors import DataError
from regmed.registry.merge import plan_import
from regmed.registry.sync import record_export

from .conftest import TEST_KEY, table_counts
from .data import small_tables
from .test_cli import run

KEY = TEST_KEY.encode()


def _value(session: Session, ref: str) -> str | None:
    return session.execute(select(reg.Assessment.value_text).where(
        reg.Assessment.assessment_ref == ref)).scalar_one()


def _correct_on_the_web(session: Session, ref: str, value: str) -> None:
    a = session.execute(select(reg.Assessment).where(
        reg.Assessment.assessment_ref == ref)).scalar_one()
    reg.update_record(a, {"value_text": value}, session=session, actor="inv1",
                      reason="source document says " + value)


def test_reimporting_an_old_file_does_not_undo_a_correction(session: Session) -> None:
    file_a = small_tables()
    reg.import_tables(session, file_a, actor="dm", key=KEY)
    _correct_on_the_web(session, "A0", "C")  # B → C
    counts = table_counts(session)
    with pytest.raises(DataError) as err:
        reg.import_tables(session, small_tables(), actor="dm", reason="monthly upload", key=KEY)
    [problem] = err.value.problems
    assert (problem.file, problem.row, problem.field) == ("assessments.csv", 1, "value_text")
    assert "changed since" in problem.message and "'B' → 'C'" in problem.message
    assert "undo" in problem.message and "--overwrite" in problem.message
    assert table_counts(session) == counts and _value(session, "A0") == "C"
    # overwrite needs a reason too; with both, the file's value is written (audited)
    with pytest.raises(DataError, match="reason"):
        reg.import_tables(session, small_tables(), actor="dm", key=KEY, overwrite=True)
    s = reg.import_tables(session, small_tables(), actor="dm", reason="site re-sent the CRF",
                          key=KEY, overwrite=True)
    assert s.updated["assessments"] == 1 and _value(session, "A0") == "B"
    assert reg.verify_audit(session).ok


def test_a_new_value_on_an_unchanged_record_and_an_edited_export_pass(
        session: Session, tmp_path: Path) -> None:
    reg.import_tables(session, small_tables(), actor="dm", key=KEY)
    # no one changed A1 since the import: the file's correction passes (with its reason)
    tables = small_tables()
    tables["assessments"].loc[tables["assessments"]["assessment_ref"] == "A1",
                              "value_text"] = "D"
    assert reg.import_tables(session, tables, actor="dm", reason="site correction",
                             key=KEY).updated["assessments"] == 1
    # a web correction, then an export: the exported file is the new base
    _correct_on_the_web(session, "A0", "C")
    files = reg.export_tables(session, tmp_path / "export")
    record_export(session, actor="dm", files=[str(f) for f in files.values()])
    exported = reg.read_folder(tmp_path / "export")
    exported["assessments"].loc[exported["assessments"]["assessment_ref"] == "A0",
                                "value_text"] = "D"
    s = reg.import_tables(session, {"assessments": exported["assessments"]}, actor="dm",
                          reason="edited the export")
    assert s.updated["assessments"] == 1 and _value(session, "A0") == "D"
    # ... but a change made after the export is protected again
    _correct_on_the_web(session, "A0", "E")
    with pytest.raises(DataError, match="changed since"):
        reg.import_tables(session, {"assessments": exported["assessments"]}, actor="dm",
                          reason="edited the export")


def test_dry_run_shows_inserts_updates_and_refusals_and_writes_nothing(
        session: Session) -> None:
    reg.import_tables(session, small_tables(), actor="dm", key=KEY)
    _correct_on_the_web(session, "A0", "C")
    tables = small_tables()
    rows = tables["assessments"]
    rows.loc[rows["assessment_ref"] == "A1", "value_text"] = "D"  # an update
    new = rows.iloc[[0]].assign(assessment_ref="A9", visit="day90", value_text="A")  # insert
    tables["assessments"] = pd.concat([rows, new], ignore_index=True)
    counts = table_counts(session)
    plan = plan_import(session, tables, actor="dm", reason="upload", key=KEY)
    assert table_counts(session) == counts  # nothing written, the audit trail unchanged
    assert plan.inserted["assessments"] == ["A9"] and plan.inserted["sites"] == []
    [update] = [u for u in plan.updated if u["key"] == "A1"]
    assert update["changes"] == [("value_text", "C", "D")] and update["row"] == 2
    [refusal] = plan.refused  # A0 would undo the web correction
    assert refusal.row == 1 and "changed since" in refusal.message and not plan.ok
    text = plan.summary()
    assert "would insert 1 assessments: A9" in text and "value_text: 'C' → 'D'" in text
    assert "would refuse (1 problems)" in text
    assert plan_import(session, tables, actor="dm", reason="upload", key=KEY,
                       overwrite=True).ok


def test_cli_dry_run_overwrite_and_freeze(fresh_url: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGMED_DATABASE_URL", fresh_url)
    folder = tmp_path / "file_a"
    folder.mkdir()
    for name, frame in small_tables().items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    assert run(["import", str(folder)], capsys)[0] == 0
    engine = reg.make_engine(fresh_url)
    with reg.session_scope(engine) as s:
        _correct_on_the_web(s, "A0", "C")
    with reg.session_scope(engine) as s:
        events = reg.count_events(s)
    code, out, _ = run(["import", str(folder), "--dry-run", "--reason", "again"], capsys)
    assert code == 1 and "dry run: nothing was written" in out and "changed since" in out
    code, out, err = run(["import", str(folder), "--reason", "again"], capsys)
    assert code == 2 and "changed since" in err and "updated" not in out
    with reg.session_scope(engine) as s:
        assert reg.count_events(s) == events and _value(s, "A0") == "C"
    code, out, _ = run(["import", str(folder), "--dry-run", "--reason", "again",
                        "--overwrite"], capsys)
    assert code == 0 and "value_text: 'C' → 'B'" in out and "nothing would be refused" in out
    code, out, _ = run(["freeze", "--site", "S01", "--reason", "interim lock"], capsys)
    assert code == 0 and "froze the data of site S01" in out and "interim lock" in out
    code, _, err = run(["import", str(folder), "--reason", "again", "--overwrite"], capsys)
    assert code == 2 and "site S01 are frozen" in err
    assert run(["unfreeze", "--site", "S01", "--reason", "done"], capsys)[0] == 0
    code, out, _ = run(["import", str(folder), "--reason", "again", "--overwrite"], capsys)
    assert code == 0, out
    with reg.session_scope(engine) as s:
        assert _value(s, "A0") == "B" and reg.verify_audit(s).ok
    engine.dispose()
