"""Every user mistake at import is one clear sentence, exit status 2, and nothing is written.

Each case is run through the command line on SQLite and PostgreSQL; the registry's row counts
and its audit head are compared before and after.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import String, func, select

import regmed.registry as reg
from regmed.registry.models import AuditEvent, Base
from regmed.registry.tables import TABLE_MAPS

from .data import small_tables
from .test_cli import run


def registry_state(url: str) -> dict[str, object]:
    """Row count of every table and the audit head (seq, hash): what a refusal must keep."""
    engine = reg.make_engine(url)
    try:
        with reg.session_scope(engine) as session:
            state: dict[str, object] = {
                t.name: session.scalar(select(func.count()).select_from(t))
                for t in Base.metadata.sorted_tables
            }
            head = session.execute(
                select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
            ).first()
            state["_audit_head"] = tuple(head) if head else None
    finally:
        engine.dispose()
    return state


def _csv_without(tmp_path: Path, table: str, column: str) -> Path:
    folder = tmp_path / f"no_{column}"
    folder.mkdir()
    frame = small_tables()[table].drop(columns=column)
    frame["note"] = "x"  # an unknown column too: all problems are listed at once
    frame.to_csv(folder / f"{table}.csv", index=False)
    return folder


def _merged_header(tmp_path: Path) -> Path:
    folder = tmp_path / "merged"
    folder.mkdir()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "sites"
    ws.append(["site_code", None, "country"])
    ws.merge_cells("A1:B1")
    for row in small_tables()["sites"].itertuples(index=False):
        ws.append([f"N{row.site_code}", row.name, row.country])
    wb.save(folder / "sites.xlsx")
    return folder


def _corrupt_parquet(tmp_path: Path) -> Path:
    folder = tmp_path / "parquet"
    folder.mkdir()
    good = folder / "sites.parquet"
    small_tables()["sites"].to_parquet(good)
    data = bytearray(good.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 16] = b"\0" * 16  # a damaged block ...
    (folder / "donors.parquet").write_bytes(b"PAR1 not really parquet")  # ... and no footer
    good.write_bytes(bytes(data[: len(data) - 5]))
    return folder


def _encodings(tmp_path: Path) -> Path:
    folder = tmp_path / "encodings"
    folder.mkdir()
    sites = small_tables()["sites"].assign(name=["札幌医科大学", "大阪総合病院"])
    sites.to_csv(folder / "sites.csv", index=False, encoding="cp932")
    small_tables()["donors"].to_csv(folder / "donors.csv", index=False, encoding="utf-16")
    (folder / "lots.csv").write_bytes(bytes(range(256)) * 8)
    return folder


CASES = {
    "missing patient_ref": (
        lambda p: _csv_without(p, "assessments", "patient_ref"),
        ["assessments.csv, patient_ref: required column is missing",
         "assessments.csv, note: unknown column"]),
    "missing onset_on": (
        lambda p: _csv_without(p, "adverse_events", "onset_on"),
        ["adverse_events.csv, onset_on: required column is missing"]),
    "merged Excel header": (
        _merged_header,
        ["sites.xlsx[sites]: column 2 has no name in the header row (an empty or merged header",
         "sites.xlsx[sites], name: required column is missing"]),
    "corrupt Parquet": (
        _corrupt_parquet,
        ["donors.parquet: not a readable Parquet file", "sites.parquet: not a readable Parquet"]),
    "neither UTF-8 nor CP932": (  # CP932 and UTF-16 files are read (test_japanese_files)
        _encodings,
        ["lots.csv, row 1: it is neither UTF-8 (byte 128 on line 2 does not decode) nor CP932"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_import_mistake_is_one_message_and_writes_nothing(
    case: str, loaded: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make, expected = CASES[case]
    folder = make(tmp_path)
    before = registry_state(loaded)
    for _ in range(2):  # a retry neither writes
        code, out, err = run(["import", str(folder), "--actor", "ana", "--reason", "retry"],
                             capsys)
        assert code == 2, (out, err)
        assert err.startswith("error: ") and "nothing was written" in err
        for text in expected:
            assert text in err, err
        assert "Traceback" not in err and "Error:" not in err.removeprefix("error:")
    assert registry_state(loaded) == before


def _db_length(table: str, column: str) -> int | None:
    """The length of the database column a dictionary column is stored in (or refers to)."""
    tmap = TABLE_MAPS[table]
    t = tmap.model.__table__
    name = dict(tmap.renames).get(column, column)
    if name in t.c:
        return getattr(t.c[name].type, "length", None)
    for link in tmap.links:
        if column in link.columns:
            return TABLE_MAPS[link.target].model.__table__.c[column].type.length
    return None  # not stored as text (patient_ref: only its keyed hash is stored)


def test_dictionary_declares_the_database_text_limits() -> None:
    d = reg.load_dictionary()
    checked = 0
    for name, spec in d.tables.items():
        for col, cs in spec.columns.items():
            length = _db_length(name, col)
            if cs.type == "enum":
                assert length is not None and max(map(len, cs.values)) <= length, (name, col)
                continue
            if cs.type != "string":
                continue
            if length is not None:
                assert cs.max_length == length, (name, col, cs.max_length, length)
                checked += 1
            else:
                t = TABLE_MAPS[name].model.__table__
                stored = t.c.get(col)
                # not a VARCHAR: either unbounded text or not stored; then a declared limit is ours
                assert stored is None or not isinstance(stored.type, String) or (
                    stored.type.length is None and cs.max_length is None)
    assert checked >= 50
    assert d.tables["adverse_events"].columns["term"].max_length == 255
    assert "term: string [required; at most 255 characters]" in reg.format_dictionary()


def test_too_long_text_is_refused_on_both_backends(
    loaded: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "long"
    folder.mkdir()
    ae = small_tables()["adverse_events"]
    ae = pd.concat([ae, ae.assign(ae_ref="AE-long", term="x" * 300)], ignore_index=True)
    ae.to_csv(folder / "adverse_events.csv", index=False)
    sites = small_tables()["sites"].assign(site_code=["S01", "S" * 65])
    sites.to_csv(folder / "sites.csv", index=False)
    before = registry_state(loaded)
    code, _, err = run(["import", str(folder), "--actor", "ana"], capsys)
    assert code == 2
    assert "adverse_events.csv, row 2, term: longer than 255 characters: 300" in err
    assert "sites.csv, row 2, site_code: longer than 64 characters: 65" in err
    assert "Traceback" not in err
    assert registry_state(loaded) == before


def test_web_row_check_applies_the_same_limit() -> None:
    from regmed.registry.rowcheck import check_row

    spec = reg.load_dictionary().tables["adverse_events"]
    row = {c: v for c, v in small_tables()["adverse_events"].iloc[0].items()}
    _, _, ok = check_row("adverse_events", {**row, "term": "y" * 255}, spec, "form")
    assert ok == []
    _, _, problems = check_row("adverse_events", {**row, "term": "y" * 256}, spec, "form")
    assert [str(p) for p in problems] == ["form, row 1, term: longer than 255 characters: 256"]


def test_sqlite_export_imports_into_postgresql(
    tmp_path: Path, pg_schemas, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str]
) -> None:
    """Moving a registry from SQLite to PostgreSQL by export → import keeps every value,
    including texts at the declared limit (255 characters, also in Japanese)."""
    tables = small_tables()
    tables["adverse_events"] = tables["adverse_events"].assign(term="脊" * 255)
    tables["assessments"] = tables["assessments"].assign(assessor="a" * 128)
    source = tmp_path / "source"
    source.mkdir()
    for name, frame in tables.items():
        frame.to_csv(source / f"{name}.csv", index=False)
    sqlite_url = f"sqlite:///{tmp_path / 'regmed.sqlite'}"
    pg_url = pg_schemas.new()
    exported = tmp_path / "export"
    for url, folder in ((sqlite_url, source), (pg_url, exported)):
        monkeypatch.setenv("REGMED_DATABASE_URL", url)
        code, _, err = run(["init"], capsys)
        assert code == 0, err
        code, out, err = run(["import", str(folder), "--actor", "mover"], capsys)
        assert code == 0, err
        if url == sqlite_url:
            code, _, err = run(["export", "--out", str(exported)], capsys)
            assert code == 0, err
    frames = {}
    for url in (sqlite_url, pg_url):
        engine = reg.make_engine(url)
        with reg.session_scope(engine) as session:
            frames[url] = reg.export_frames(session)
        engine.dispose()
    for name in tables:
        pd.testing.assert_frame_equal(frames[sqlite_url][name], frames[pg_url][name])
    assert frames[pg_url]["adverse_events"]["term"].tolist() == ["脊" * 255]
    pg_schemas.drop(pg_url)
