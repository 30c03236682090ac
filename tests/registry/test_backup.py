"""Backup, restore and archive: consistent online copies, checked before use; archive verify."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import regmed.registry as reg
from regmed.errors import RegmedError
from regmed.registry.archive import archive, verify_archive
from regmed.registry.backup import backup, restore
from regmed.registry.extract import store_evaluation

from .conftest import table_counts
from .data import small_tables
from .test_audit_keyed import _document
from .test_cli import run


def _counts(url: str) -> dict[str, int]:
    engine = reg.make_engine(url)
    try:
        with reg.session_scope(engine) as s:
            return table_counts(s)
    finally:
        engine.dispose()


def _verify(url: str) -> reg.AuditVerification:
    engine = reg.make_engine(url)
    try:
        with reg.session_scope(engine) as s:
            return reg.verify_audit(s)
    finally:
        engine.dispose()


def _import(url: str, tables: dict[str, pd.DataFrame], **kw: object) -> None:
    engine = reg.make_engine(url)
    try:
        with reg.session_scope(engine) as s:
            reg.import_tables(s, tables, actor="site", **kw)  # type: ignore[arg-type]
    finally:
        engine.dispose()


def _many_donors(n: int) -> dict[str, pd.DataFrame]:
    return {"donors": pd.DataFrame({"donor_code": [f"X{i:06d}" for i in range(n)],
                                    "sex": ["F"] * n, "birth_year": ["1980"] * n})}


def test_backup_during_a_running_import_restores_and_verifies(
    fresh_url: str, tmp_path: Path
) -> None:
    _import(fresh_url, small_tables())
    before = _counts(fresh_url)
    started, release = threading.Event(), threading.Event()
    failure: list[BaseException] = []

    def progress(table: str, done: int, total: int) -> None:
        started.set()  # the import's transaction is open and has written rows
        release.wait(120)

    def run_import() -> None:
        try:
            _import(fresh_url, _many_donors(5000), progress=progress)
        except BaseException as exc:  # pragma: no cover - reported below
            failure.append(exc)
            started.set()

    worker = threading.Thread(target=run_import)
    worker.start()
    try:
        assert started.wait(120) and not failure
        copy = backup(fresh_url, tmp_path / "during.bak")
    finally:
        release.set()
        worker.join(120)
    assert not failure, failure
    assert copy.verification is not None and copy.verification.ok  # (PG: in a scratch db)
    assert _counts(fresh_url)["donors"] == before["donors"] + 5000  # the import went through
    restore(copy.path, fresh_url)  # back to the state the backup caught
    after = _counts(fresh_url)
    assert after == before
    assert _verify(fresh_url).ok


def test_sqlite_backup_is_one_file_and_restore_refuses_a_bad_copy(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'regmed.sqlite'}"
    reg.upgrade(url)
    _import(url, small_tables())
    done = backup(url, tmp_path / "copy.sqlite")
    assert done.verification is not None and done.verification.ok
    assert "verified" in done.message and f"event {done.verification.head}" in done.message
    with pytest.raises(RegmedError, match="exists already"):
        backup(url, tmp_path / "copy.sqlite")
    with pytest.raises(RegmedError, match="does not exist"):
        backup(url, tmp_path / "nowhere" / "copy.sqlite")
    # a copy whose records were edited is refused before anything is replaced
    edited = tmp_path / "edited.sqlite"
    edited.write_bytes(done.path.read_bytes())
    con = sqlite3.connect(edited)
    con.execute("UPDATE sites SET name = 'X' WHERE site_code = 'S01'")
    con.commit()
    con.close()
    _import(url, {"sites": pd.DataFrame([{"site_code": "S09", "name": "New", "country": "JP"}])})
    counts = _counts(url)
    with pytest.raises(RegmedError, match="does not verify"):
        restore(edited, url)
    broken = tmp_path / "broken.sqlite"
    raw = bytearray(done.path.read_bytes())
    raw[: len(raw) // 2] = b"\0" * (len(raw) // 2)
    broken.write_bytes(bytes(raw))
    with pytest.raises(RegmedError, match="not a SQLite database|integrity|not a regmed"):
        restore(broken, url)
    with pytest.raises(RegmedError, match="does not verify"):
        restore(done.path, url, key=b"another key")
    assert _counts(url) == counts
    restored = restore(done.path, url)
    assert "kept as" in restored.message
    assert _counts(url)["sites"] == counts["sites"] - 1 and _verify(url).ok


def test_archive_is_verifiable_without_the_database(
    session: Session, tmp_path: Path, audit_key: str
) -> None:
    reg.import_tables(session, small_tables(), actor="tester")
    reg.add_user("ana", "admin", password="archive-pass-2026", session=session, actor="admin")
    eid = store_evaluation(_document(), session=session, actor="stat", plan_version_id=None)
    key = audit_key.encode()
    manifest = archive(session, tmp_path / "arch", key)
    folder = tmp_path / "arch"
    assert manifest["audit"]["events"] == reg.count_events(session)
    assert (folder / f"evaluations/{eid}.json").is_file()
    users = (folder / "tables/users.csv").read_text(encoding="utf-8")
    stored = session.execute(select(reg.User.password_hash).where(reg.User.username == "ana"))
    assert stored.scalar_one() not in users and "sha256:" in users
    for name in ("audit_events", "plan_versions", "evaluations", "users", "settings"):
        assert f"tables/{name}.csv" in manifest["files"]
    good = verify_archive(folder, key)
    assert good.ok and good.authenticated and good.events == manifest["audit"]["events"]
    assert not verify_archive(folder, b"other key").ok
    assert "NOT authenticated" in verify_archive(folder).message
    with pytest.raises(RegmedError, match="not an empty folder"):
        archive(session, folder, key)
    # one changed byte anywhere is found
    target = folder / "tables" / "sites.csv"
    raw = bytearray(target.read_bytes())
    raw[-3] ^= 0x01
    target.write_bytes(bytes(raw))
    bad = verify_archive(folder, key)
    assert not bad.ok and "tables/sites.csv was changed" in bad.message
    raw[-3] ^= 0x01
    target.write_bytes(bytes(raw))
    # a forged audit trail with a re-made manifest fails without the key
    trail = folder / "tables" / "audit_events.csv"
    original = trail.read_text(encoding="utf-8")
    trail.write_text(original.replace("tester", "someone", 1), encoding="utf-8")
    import hashlib
    import json

    m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    m["files"]["tables/audit_events.csv"] = hashlib.sha256(trail.read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    forged = verify_archive(folder, key)
    assert not forged.ok and any("manifest.json was changed" in p for p in forged.problems)
    assert any("was altered" in p for p in forged.problems)


def test_backup_restore_and_archive_commands(
    fresh_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _import(fresh_url, small_tables())
    monkeypatch.setenv("REGMED_DATABASE_URL", fresh_url)
    code, out, err = run(["backup", "--out", str(tmp_path / "b.bak")], capsys)
    assert code == 0 and "backup" in out, err
    code, out, err = run(["backup", "--out", str(tmp_path / "b.bak")], capsys)
    assert code == 2 and "exists already" in err and "Traceback" not in err
    code, out, err = run(["restore", str(tmp_path / "b.bak")], capsys)
    assert code == 0 and "restored" in out, err
    code, out, err = run(["archive", "--out", str(tmp_path / "a"), "--no-pdf"], capsys)
    assert code == 0 and "wrote archive" in out, err
    code, out, err = run(["archive", "verify", str(tmp_path / "a")], capsys)
    assert code == 0 and "archive intact" in out and "authenticated by the audit key" in out
    (tmp_path / "a" / "extra.txt").write_text("x", encoding="utf-8")
    code, out, err = run(["archive", "verify", str(tmp_path / "a")], capsys)
    assert code == 1 and "extra.txt is not in the manifest" in err
    code, out, err = run(["restore", str(tmp_path / "missing.bak")], capsys)
    assert code == 2 and "no backup file" in err
    assert _counts(fresh_url)["sites"] == 2


def test_restore_refuses_a_backup_under_another_key_and_names_missing_tools(
    fresh_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _import(fresh_url, small_tables())
    done = backup(fresh_url, tmp_path / "copy.bak")
    site = {"site_code": "S09", "name": "N", "country": "JP"}
    _import(fresh_url, {"sites": pd.DataFrame([site])})
    counts = _counts(fresh_url)
    with pytest.raises(RegmedError, match="does not verify|not the one"):
        restore(done.path, fresh_url, key=b"another key")
    assert _counts(fresh_url) == counts
    if fresh_url.startswith("postgresql"):
        monkeypatch.setenv("PATH", str(tmp_path))
        with pytest.raises(RegmedError, match="pg_dump is not on PATH"):
            backup(fresh_url, tmp_path / "again.bak")
        assert not (tmp_path / "again.bak").exists()
