"""The registry's commands: init, import, export, audit verify/log, users."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

import regmed
import regmed.registry as reg
from regmed.cli import main

from .data import small_tables

SRC = str(Path(regmed.__file__).resolve().parents[1])


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run `regmed ARGV` in this process; returns (exit status, stdout, stderr)."""
    code = 0
    try:
        main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, " ".join(err.split())  # the error console wraps long lines


def regmed_process(args: list[str], url: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, REGMED_DATABASE_URL=url, PYTHONPATH=SRC)
    return subprocess.run(
        [sys.executable, "-m", "regmed", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    out = tmp_path / "import"
    out.mkdir()
    for name, frame in small_tables().items():
        frame.to_csv(out / f"{name}.csv", index=False)
    return out


def test_audit_verify_catches_a_row_changed_with_sql(fresh_url: str, folder: Path) -> None:
    done = regmed_process(["import", str(folder), "--actor", "site-upload"], fresh_url)
    assert done.returncode == 0, done.stderr
    ok = regmed_process(["audit", "verify"], fresh_url)
    assert ok.returncode == 0 and "audit trail intact" in ok.stdout
    engine = reg.make_engine(fresh_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE lot_results SET value = 99.5 WHERE value = 68.25"))
    engine.dispose()
    bad = regmed_process(["audit", "verify"], fresh_url)
    assert bad.returncode == 1
    assert "lot_results:L2:viability" in bad.stderr and "value" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_init_import_export_users_and_log(
    fresh_url: str,
    folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("REGMED_DATABASE_URL", fresh_url)
    code, out, _ = run(["init"], capsys)
    assert code == 0 and reg.head_revision() in out and "REGMED_PSEUDONYM_KEY" in out
    code, out, _ = run(["import", str(folder), "--actor", "ana"], capsys)
    assert code == 0 and "assessments" in out
    code, out, _ = run(["export", "--format", "csv", "--out", str(tmp_path / "ex")], capsys)
    assert code == 0 and len(list((tmp_path / "ex").glob("*.csv"))) == len(
        reg.load_dictionary().tables)
    code, out, _ = run(["import", str(tmp_path / "ex"), "--actor", "ana"], capsys)
    assert code == 0 and "audit events written: 0" in out
    code, out, err = run(["users", "add", "ian", "--role", "investigator"], capsys)
    assert code == 2 and "bound to a site" in err and "Traceback" not in err
    code, out, _ = run(["users", "add", "ian", "--role", "investigator", "--site", "S01"], capsys)
    assert code == 0
    code, out, _ = run(["users", "list"], capsys)
    assert code == 0 and "ian" in out and "S01" in out
    # change a site's name, then read its history (patients are found by the site's own id)
    sites = pd.read_csv(tmp_path / "ex" / "sites.csv", dtype=str, keep_default_na=False)
    sites.loc[sites["site_code"] == "S01", "name"] = "Sapporo Univ."
    (tmp_path / "change").mkdir()
    sites.to_csv(tmp_path / "change" / "sites.csv", index=False)
    code, out, err = run(["import", str(tmp_path / "change")], capsys)
    assert code == 2 and "reason is required" in err and "sites.csv, row 1, name" in err
    code, out, _ = run(["import", str(tmp_path / "change"), "--reason", "renamed"], capsys)
    assert code == 0
    code, out, _ = run(["audit", "log", "--record", "sites:S01"], capsys)
    assert code == 0 and "renamed" in out and "Sapporo Univ." in out and "insert" in out
    code, out, _ = run(["audit", "log", "--record", "patients:S02:P003"], capsys)
    assert code == 0 and "insert" in out and "P003" not in out
    code, out, err = run(["audit", "log", "--record", "sites:NOPE"], capsys)
    assert code == 2 and "no audit events" in err
    code, out, _ = run(["audit", "verify"], capsys)
    assert code == 0 and "intact" in out


def test_bad_import_exits_2_listing_every_problem(
    fresh_url: str,
    folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("REGMED_DATABASE_URL", fresh_url)
    frame = pd.read_csv(folder / "patients.csv", dtype=str, keep_default_na=False)
    frame.loc[0, "sex"] = "X"
    frame.loc[2, "birth_year"] = "1850"
    frame.to_csv(folder / "patients.csv", index=False)
    code, out, err = run(["import", str(folder)], capsys)
    assert code == 2 and "Traceback" not in err
    assert "patients.csv, row 1, sex: not one of F, M: 'X'" in err
    assert "patients.csv, row 3, birth_year: below the minimum 1900" in err
    engine = reg.make_engine(fresh_url)
    with reg.session_scope(engine) as s:
        assert reg.count_events(s) == 0
    engine.dispose()


def test_schema_and_missing_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["import", "--schema"], capsys)
    assert code == 0 and "assessments.csv" in out and "assessor_role" in out
    assert "patient_pseudonym" in out
    monkeypatch.setenv("REGMED_DATABASE_URL", f"sqlite:///{tmp_path / 'none.sqlite'}")
    code, _, err = run(["users", "list"], capsys)
    assert code == 2 and "regmed init" in err


def test_init_creates_key_file_next_to_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("REGMED_PSEUDONYM_KEY")
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(["init"], capsys)
    assert code == 0 and "regmed.sqlite.key" in out
    assert (tmp_path / "regmed.sqlite").exists() and (tmp_path / "regmed.sqlite.key").exists()
    key = (tmp_path / "regmed.sqlite.key").read_text().strip()
    assert key not in (tmp_path / "regmed.sqlite").read_bytes().decode("latin-1")
