"""Migrations make the schema on both backends; export → import loses nothing; pseudonyms."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pandas as pd
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text

import regmed.registry as reg
from regmed.errors import RegmedError

from .conftest import TEST_KEY
from .data import small_tables


def test_migrations_create_the_whole_schema(fresh_url: str) -> None:
    engine = reg.make_engine(fresh_url)
    try:
        assert reg.current_revision(engine) == reg.head_revision()
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            assert set(reg.Base.metadata.tables) | {"alembic_version"} == tables
            # the models and the migrations describe the same schema
            assert compare_metadata(MigrationContext.configure(conn), reg.Base.metadata) == []
        reg.upgrade(engine)  # idempotent
        assert reg.current_revision(engine) == reg.head_revision()
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_migration_0011_upgrades_and_downgrades(fresh_url: str) -> None:
    """0011 adds visit_values and users.language/date_style; down to 0010 removes them and
    keeps the users; up again restores them."""
    from alembic import command

    from regmed.registry.db import _alembic_config

    engine = reg.make_engine(fresh_url)
    try:
        def shape() -> tuple[bool, set[str]]:
            with engine.connect() as conn:
                found = inspect(conn)
                return (found.has_table("visit_values"),
                        {c["name"] for c in found.get_columns("users")})

        with reg.session_scope(engine) as s:
            reg.add_user("ana", "admin", session=s, actor="t", language="en",
                         date_style="wareki")
        assert reg.current_revision(engine) == reg.head_revision()
        has, columns = shape()
        assert has and {"language", "date_style"} <= columns
        with engine.begin() as conn:
            command.downgrade(_alembic_config(conn), "0010")
        assert reg.current_revision(engine) == "0010"
        has, columns = shape()
        assert not has and not {"language", "date_style"} & columns
        with engine.connect() as conn:
            assert conn.execute(text("SELECT username FROM users")).scalars().all() == ["ana"]
        assert reg.upgrade(engine) == reg.head_revision()
        has, columns = shape()
        assert has and {"language", "date_style"} <= columns
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), reg.Base.metadata) == []
    finally:
        engine.dispose()


def test_make_engine_reads_the_environment_when_called(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("REGMED_DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite'}")
    assert reg.make_engine().url.database == str(tmp_path / "x.sqlite")
    monkeypatch.delenv("REGMED_DATABASE_URL")
    assert reg.database_url() == "sqlite:///regmed.sqlite"
    assert reg.database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"


def _all_text(url: str) -> str:
    engine = reg.make_engine(url)
    chunks = []
    try:
        with engine.connect() as conn:
            for name in inspect(conn).get_table_names():
                for row in conn.execute(text(f'SELECT * FROM "{name}"')):
                    chunks.append(" ".join(str(v) for v in row))
    finally:
        engine.dispose()
    return "\n".join(chunks)


def test_round_trip_export_import_loses_nothing(fresh_url: str, tmp_path: Path) -> None:
    engine = reg.make_engine(fresh_url)
    try:
        with reg.session_scope(engine) as s:
            reg.import_tables(s, small_tables(), actor="tester")
        with reg.session_scope(engine) as s:
            first = reg.export_tables(s, tmp_path / "one")
            n_events = reg.count_events(s)
        with reg.session_scope(engine) as s:  # the same registry: nothing changes
            summary = reg.import_tables(s, reg.read_folder(tmp_path / "one"), actor="tester")
            assert sum(summary.inserted.values()) + sum(summary.updated.values()) == 0
            assert reg.count_events(s) == n_events
        with reg.session_scope(engine) as s:  # parquet too
            reg.export_tables(s, tmp_path / "pq", format="parquet")
            summary = reg.import_tables(s, reg.read_folder(tmp_path / "pq"), actor="tester")
            assert sum(summary.inserted.values()) + sum(summary.updated.values()) == 0
    finally:
        engine.dispose()
    # into an empty registry (SQLite file), and back out: identical files
    other = f"sqlite:///{tmp_path / 'other.sqlite'}"
    reg.upgrade(other)
    engine2 = reg.make_engine(other)
    try:
        with reg.session_scope(engine2) as s:
            reg.import_tables(s, reg.read_folder(tmp_path / "one"), actor="tester")
        with reg.session_scope(engine2) as s:
            second = reg.export_tables(s, tmp_path / "two")
            assert reg.verify_audit(s).ok
    finally:
        engine2.dispose()
    assert set(first) == set(reg.load_dictionary().tables)
    for name, path in first.items():
        assert path.read_text() == second[name].read_text(), name
    lots = pd.read_csv(first["lot_results"], dtype=str, keep_default_na=False)
    assert sorted(lots["value"]) == ["1234.5", "68.25", "92.5", "987.125"]
    assert len(pd.read_csv(first["assessments"])) == 4


def test_pseudonyms_are_stable_and_the_key_never_enters_the_database(
    fresh_url: str, tmp_path: Path
) -> None:
    engine = reg.make_engine(fresh_url)
    try:
        with reg.session_scope(engine) as s:
            reg.import_tables(s, small_tables(), actor="tester")
        with reg.session_scope(engine) as s:
            rows = s.execute(
                select(reg.Site.site_code, reg.Patient.pseudonym).join(
                    reg.Site, reg.Site.id == reg.Patient.site_id
                )
            ).all()
    finally:
        engine.dispose()
    pairs = {("S01", "P001"), ("S01", "P002"), ("S02", "P001"), ("S02", "P003")}
    key = TEST_KEY.encode()
    assert {(site, p) for site, p in rows} == {
        (site, reg.pseudonymize(key, site, ref)) for site, ref in pairs
    }
    # same site identifier at two sites: two different patients
    assert reg.pseudonymize(key, "S01", "P001") != reg.pseudonymize(key, "S02", "P001")
    dump = _all_text(fresh_url)
    assert TEST_KEY not in dump and key.hex() not in dump
    for _, ref in pairs:
        assert ref not in dump
    if fresh_url.startswith("sqlite"):
        db = Path(fresh_url.removeprefix("sqlite:///"))
        for f in db.parent.glob(db.name + "*"):
            raw = f.read_bytes()
            assert TEST_KEY.encode() not in raw and b"P002" not in raw, f.name


def test_key_file_is_created_next_to_sqlite_and_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("REGMED_PSEUDONYM_KEY")
    url = f"sqlite:///{tmp_path / 'reg.sqlite'}"
    with pytest.raises(RegmedError, match="no pseudonymization key"):
        reg.load_key(url)
    key, where = reg.ensure_key(url)
    path = tmp_path / "reg.sqlite.key"
    assert str(path) in where and path.exists()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert reg.load_key(url) == key and len(key) == 64
    assert reg.ensure_key(url)[0] == key  # not replaced
    other = tmp_path / "k.txt"
    other.write_text("file-key\n")
    monkeypatch.setenv("REGMED_PSEUDONYM_KEY_FILE", str(other))
    assert reg.load_key(url) == b"file-key"


def test_migration_0012_indexes_the_audit_trail_by_record(fresh_url: str) -> None:
    """0012 adds the (table, record id, seq) index that the last-change queries use; down to
    0011 drops it, up again restores it, and the models match the schema."""
    from alembic import command

    from regmed.registry.db import _alembic_config

    name = "ix_audit_events_table_name_record_id_seq"
    engine = reg.make_engine(fresh_url)
    try:
        def indexes() -> dict[str, list[str]]:
            with engine.connect() as conn:
                return {i["name"]: list(i["column_names"])
                        for i in inspect(conn).get_indexes("audit_events")}

        assert indexes()[name] == ["table_name", "record_id", "seq"]
        with engine.begin() as conn:
            command.downgrade(_alembic_config(conn), "0011")
        assert name not in indexes()
        assert reg.upgrade(engine) == "0012" == reg.head_revision()
        assert name in indexes()
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), reg.Base.metadata) == []
    finally:
        engine.dispose()
