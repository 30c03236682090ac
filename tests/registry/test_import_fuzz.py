"""Fuzz test of `regmed import` (hypothesis): random tables, wrong encodings, broken files.

Random tables of the column dictionary with columns left out, unknown, unnamed or doubled;
cells that are empty, huge, NaN/inf, of the wrong type or in another script; written as UTF-8,
CP932 or UTF-16 CSV, as binary garbage, as Excel (typed number cells, merged cells) or Parquet
(text, typed float columns with NaN/inf, or cut short). Whatever comes, the command exits 0 or
2 with a message — never a traceback — and a refusal leaves every table's row count and the
audit head as they were.
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

import regmed.registry as reg

from .data import small_tables
from .test_cli import run
from .test_mistakes import registry_state

DICT = reg.load_dictionary()
SMALL = small_tables()

_cells = st.one_of(
    st.sampled_from(["", " ", "nan", "NaN", "inf", "-inf", "1e400", "NULL", "true", "0", "1.5",
                     "2020-02-30", "2020-01-10", "S01", "P001", "MSC1", "L1", "released",
                     "Ｐ００１", "札幌", "\x00", "=1+1", '"', "a,b", "\n"]),
    st.text(max_size=20),
    st.integers(min_value=-10**20, max_value=10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=250, max_value=20_000).map(lambda n: "x" * n),  # huge strings
)


@st.composite
def tables(draw: st.DrawFn) -> tuple[str, pd.DataFrame]:
    name = draw(st.sampled_from(DICT.order))
    spec = DICT.tables[name]
    known = list(spec.columns)
    if spec.has_patient:
        known.append(reg.PSEUDONYM_COLUMN)
    cols = draw(st.lists(st.sampled_from(known), min_size=0, max_size=len(known), unique=True))
    extra = draw(st.lists(st.sampled_from(["note", "Unnamed: 1", "", known[0]]), max_size=2))
    n = draw(st.integers(min_value=0, max_value=5))
    base = SMALL.get(name)
    data: dict[str, list[object]] = {}
    for c in cols:
        valid = list(base[c]) if base is not None and c in base else []
        data[c] = [draw(st.one_of(_cells, st.sampled_from(valid))) if valid else draw(_cells)
                   for _ in range(n)]
    frame = pd.DataFrame(data, columns=cols, dtype=object) if cols else pd.DataFrame(
        index=range(n))
    for i, c in enumerate(extra):
        frame.insert(min(i, len(frame.columns)), c, [draw(_cells) for _ in range(n)],
                     allow_duplicates=True)
    return name, frame


def _excel_cell(v: object) -> object:
    """Numbers as numbers (Excel's typed cells), other text cleaned of what Excel refuses."""
    if v == "":
        return None
    try:
        x = float(str(v))
    except ValueError:
        return ILLEGAL_CHARACTERS_RE.sub("", str(v))
    return x if math.isfinite(x) else str(v)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns whose cells all read as numbers become float columns (NaN, inf included)."""
    out = pd.DataFrame(index=frame.index)
    for i, c in enumerate(frame.columns):
        col = frame.iloc[:, i].astype(str)
        num = pd.to_numeric(col, errors="coerce")
        out[c] = num if num.notna().all() or col.isin(["nan", "NaN"]).any() else col
    return out


def _excel(path: Path, frame: pd.DataFrame, sheet: str, merge: str | None) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet[:31]
    ws.append([ILLEGAL_CHARACTERS_RE.sub("", str(c)) for c in frame.columns])
    for row in frame.itertuples(index=False):
        ws.append([_excel_cell(v) for v in row])
    if merge and ws.max_column >= 1:
        ws.merge_cells(merge)
    wb.save(path)


def write_files(folder: Path, tables_: list[tuple[str, pd.DataFrame]], form: str,
                merge: str | None) -> None:
    for name, frame in tables_:
        if form == "xlsx":
            _excel(folder / f"{name}.xlsx", frame, name, merge)
        elif form in ("parquet", "typed parquet", "cut parquet"):
            path = folder / f"{name}.parquet"
            frame.columns = [str(c) or "blank" for c in frame.columns]
            frame = frame.loc[:, ~frame.columns.duplicated()]
            (_typed(frame) if form == "typed parquet" else frame.astype(str)).to_parquet(path)
            if form == "cut parquet":
                path.write_bytes(path.read_bytes()[: max(1, path.stat().st_size // 2)])
        elif form == "binary":
            (folder / f"{name}.csv").write_bytes(bytes(range(256)) * 3)
        else:
            encoding = {"csv": "utf-8", "csv cp932": "cp932", "csv utf-16": "utf-16"}[form]
            text = frame.to_csv(index=False)
            (folder / f"{name}.csv").write_bytes(text.encode(encoding, errors="replace"))


def test_fuzzed_imports_never_trace_back_or_write_part(
    loaded: str, backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    examples = int(os.environ.get("REGMED_FUZZ_EXAMPLES", 60 if backend == "sqlite" else 25))
    seen: dict[str, int] = {"refused": 0, "imported": 0}

    @settings(max_examples=examples, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate],  # no shrinking: the example is shown
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.lists(tables(), min_size=1, max_size=3, unique_by=lambda t: t[0]),
           st.sampled_from(["csv", "csv", "csv cp932", "csv utf-16", "binary", "xlsx",
                            "parquet", "typed parquet", "cut parquet"]),
           st.sampled_from([None, "A1:B1", "A2:A3", "B2:C2"]),
           st.booleans())
    def attempt(tables_, form, merge, with_reason):
        folder = tmp_path / "fuzz"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        write_files(folder, tables_, form, merge)
        before = registry_state(loaded)
        argv = ["import", str(folder), "--actor", "fuzz"]
        if with_reason:
            argv += ["--reason", "fuzz"]
        code, out, err = run(argv, capsys)
        assert code in (0, 2), (code, out, err)
        assert "Traceback" not in err + out
        if code == 2:
            assert err.startswith("error: ")
            assert registry_state(loaded) == before
            seen["refused"] += 1
        else:
            seen["imported"] += 1

    attempt()
    assert seen["refused"] > 0
