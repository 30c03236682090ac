"""Streamed import: chunk by chunk, the same result as all at once; problems of every chunk,
rows counted from the file's start; nothing written on any refusal."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import regmed.registry as reg
from regmed.errors import DataError
from regmed.registry.io import open_folder
from regmed.registry.stream import import_files

from .data import small_tables
from .test_concurrent import _tables
from .test_mistakes import registry_state


def _write(folder: Path, tables: dict[str, pd.DataFrame]) -> Path:
    folder.mkdir(exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


def _import(url: str, folder: Path, chunk_rows: int) -> reg.ImportSummary:
    engine = reg.make_engine(url)
    try:
        return reg.run_write(engine, lambda s: import_files(
            s, open_folder(folder, chunk_rows=chunk_rows), actor="t", reason="test"))
    finally:
        engine.dispose()


def _exported(url: str) -> dict[str, pd.DataFrame]:
    engine = reg.make_engine(url)
    with reg.session_scope(engine) as session:
        frames = reg.export_frames(session)
    engine.dispose()
    return frames


def test_chunked_import_equals_the_whole_import(fresh_url: str, tmp_path: Path) -> None:
    base, assessments = _tables(40, 250)
    folder = _write(tmp_path / "in", {**base, "assessments": assessments})
    summary = _import(fresh_url, folder, chunk_rows=17)
    assert summary.inserted["assessments"] == 250 and summary.inserted["patients"] == 40
    other = f"sqlite:///{tmp_path / 'whole.sqlite'}"
    reg.upgrade(other)
    engine = reg.make_engine(other)
    with reg.session_scope(engine) as session:
        whole = reg.import_tables(session, reg.read_folder(folder), actor="t")
    engine.dispose()
    assert whole.inserted == summary.inserted and whole.events == summary.events
    a, b = _exported(fresh_url), _exported(other)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    again = _import(fresh_url, folder, chunk_rows=17)  # an unchanged re-import changes nothing
    assert again.unchanged["assessments"] == 250 and again.events == 0
    engine = reg.make_engine(fresh_url)
    with reg.session_scope(engine) as session:
        assert reg.verify_audit(session).ok
    engine.dispose()


def test_problems_of_every_chunk_with_file_rows_and_nothing_written(
    fresh_url: str, tmp_path: Path
) -> None:
    base, assessments = _tables(40, 100)
    bad = assessments.copy()
    bad.loc[3, "assessed_on"] = "2020-13-01"           # chunk 1
    bad.loc[57, "value"] = "many"                       # chunk 3
    bad.loc[90, "assessment_ref"] = bad.loc[10, "assessment_ref"]  # duplicate across chunks
    patients = base["patients"].copy()
    patients.loc[5, "sex"] = "X"                        # a refused patient row ...
    folder = _write(tmp_path / "in", {**base, "patients": patients, "assessments": bad})
    before = registry_state(fresh_url)
    with pytest.raises(DataError) as err:
        _import(fresh_url, folder, chunk_rows=25)
    shown = [str(p) for p in err.value.problems]
    assert ("assessments.csv, row 4, assessed_on: not a date: no such day 2020-13-01: "
            "'2020-13-01'") in shown
    assert "assessments.csv, row 58, value: not a number: 'many'" in shown
    assert ("assessments.csv, row 91, assessment_ref: duplicate key (A0000010); also in row 11"
            in shown)
    assert "patients.csv, row 6, sex: not one of F, M: 'X'" in shown
    # ... the other patients' assessments are not reported as naming unknown patients
    unknown = [s for s in shown if "unknown patient" in s]
    p6 = patients.loc[5, "patient_ref"]
    assert unknown and all(s.endswith(f"{p6!r}") for s in unknown)
    assert len(unknown) == 1 + int((assessments["patient_ref"] == p6).sum())  # + enrollment
    assert registry_state(fresh_url) == before


def test_a_file_unreadable_part_way_writes_nothing(fresh_url: str, tmp_path: Path) -> None:
    base, assessments = _tables(10, 60)
    folder = _write(tmp_path / "in", {**base, "assessments": assessments})
    path = folder / "assessments.csv"
    # bytes that are neither UTF-8 nor CP932, after the first chunks
    path.write_bytes(path.read_bytes() + b"A9,S01,P00001,x,y,2020-01-01,1,\x85\x86\n")
    before = registry_state(fresh_url)
    with pytest.raises(DataError) as err:
        _import(fresh_url, folder, chunk_rows=10)
    assert [str(p) for p in err.value.problems][-1].startswith(
        "assessments.csv, row 61: it is neither UTF-8 (byte")
    assert registry_state(fresh_url) == before


def test_small_example_streams_like_before(fresh_url: str, tmp_path: Path) -> None:
    folder = _write(tmp_path / "small", small_tables())
    summary = _import(fresh_url, folder, chunk_rows=1)
    assert summary.inserted["adjudications"] == 1 and summary.inserted["administrations"] == 2
