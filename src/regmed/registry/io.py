"""Reading import folders and workbooks; exporting the registry one file per table.

Exports write the dictionary's columns with ``patient_pseudonym`` in place of ``patient_ref``
(the site's identifier cannot be recovered from its keyed hash); imports accept either column,
so ``regmed export`` → ``regmed import`` is a round trip that loses nothing.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
from sqlalchemy.orm import Session

from regmed.errors import DataError, Problem
from regmed.registry.dictionary import load_dictionary
from regmed.registry.tables import existing_frame, file_columns

__all__ = ["read_folder", "export_tables", "export_frames"]

_EXCEL = (".xlsx", ".xlsm", ".xls")


def _not_utf8(path: Path, exc: UnicodeDecodeError) -> DataError:
    head = path.read_bytes()[:4]
    kind = "UTF-16 text" if head[:2] in (b"\xff\xfe", b"\xfe\xff") else "not UTF-8 text"
    return DataError(
        f"cannot read {path.name}: it is {kind}; save it as CSV UTF-8 "
        "(Excel: Save As → CSV UTF-8)"
    )


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(
            path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig"
        )
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, exc) from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataError(f"cannot read {path.name}: {exc}") from None


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ... for broken files
        raise DataError(f"cannot read {path.name}: not a readable Parquet file ({exc})") from None


def _read_excel(path: Path, table: str | None) -> dict[str, pd.DataFrame]:
    try:
        sheets = pd.read_excel(path, sheet_name=None, dtype=object)
    except Exception as exc:  # openpyxl raises many kinds for broken files
        raise DataError(f"cannot read {path.name}: {exc}") from None
    names = load_dictionary().tables
    out = {}
    for sheet, frame in sheets.items():
        name = str(sheet).strip()
        if name not in names and table is not None and len(sheets) == 1:
            name = table
        frame = frame.dropna(how="all")
        frame.attrs["source"] = f"{path.name}[{sheet}]"
        out[name] = frame
    return out


def read_folder(path: str | Path) -> dict[str, pd.DataFrame]:
    """Read the tables of an import: a folder, a workbook, or one file.

    A folder holds ``<table>.csv``, ``<table>.xlsx`` or ``<table>.parquet`` files and/or
    workbooks whose sheets are named by table. A single ``.csv``/``.parquet`` file is the
    table its name says; a workbook's sheets are named by table (a one-sheet workbook named
    ``<table>.xlsx`` may use any sheet name). CSV cells are read as text; validation does the
    typing. Each frame's ``attrs["source"]`` names its file (used in problem reports).

    Raises
    ------
    DataError
        When the path does not exist, a file cannot be read, or a table comes twice.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{str(path)!r} does not exist")
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    tables: dict[str, pd.DataFrame] = {}
    problems: list[Problem] = []
    names = load_dictionary().tables
    for f in files:
        suffix = f.suffix.lower()
        if f.name.startswith((".", "~$")):
            continue
        try:
            if suffix == ".csv":
                found = {f.stem: _read_csv(f)}
                found[f.stem].attrs["source"] = f.name
            elif suffix == ".parquet":
                found = {f.stem: _read_parquet(f)}
                found[f.stem].attrs["source"] = f.name
            elif suffix in _EXCEL:
                found = _read_excel(f, f.stem if f.stem in names else None)
            else:
                if not path.is_dir():
                    problems.append(Problem("not a CSV, Excel or Parquet file", file=f.name))
                continue
        except DataError as exc:
            problems.append(Problem(exc.message.removeprefix(f"cannot read {f.name}: "),
                                    file=f.name))
            continue
        for name, frame in found.items():
            if name in tables:
                problems.append(Problem(f"table {name!r} given twice", file=f.name))
            tables[name] = frame
    if problems:
        raise DataError("cannot read the import; nothing was written", problems)
    if not tables:
        raise DataError(f"no tables found in {str(path)!r} (expected <table>.csv files)")
    return tables


def export_frames(session: Session) -> dict[str, pd.DataFrame]:
    """Every dictionary table as a typed frame in export form (dictionary column order)."""
    d = load_dictionary()
    keys: dict[str, pd.DataFrame] = {}
    out = {}
    for name in d.order:
        spec = d.tables[name]
        frame = existing_frame(session, name, keys).drop(columns="_id")
        frame = frame.sort_values(list(frame.columns[: len(spec.key)]), kind="stable")
        frame = frame.reset_index(drop=True)
        typed = pd.DataFrame(index=frame.index)
        for col in file_columns(spec):
            cs = spec.columns.get(col)
            kind = cs.type if cs else "string"
            s = frame[col]
            if kind == "integer":
                typed[col] = pd.array(s.tolist(), dtype="Int64")
            elif kind == "number":
                typed[col] = pd.to_numeric(s, errors="coerce").astype("float64")
            elif kind == "boolean":
                typed[col] = pd.array(s.tolist(), dtype="boolean")
            else:
                typed[col] = s.astype(object)
        out[name] = typed
    return out


def _csv_text(frame: pd.DataFrame) -> pd.DataFrame:
    def cell(v: object) -> str:
        if v is None or v is pd.NA or (isinstance(v, float) and v != v):
            return ""
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            return repr(v)
        if isinstance(v, dt.date):
            return v.isoformat()
        return str(v)

    return frame.astype(object).map(cell)


def export_tables(session: Session, out: str | Path, format: str = "csv") -> dict[str, Path]:
    """Write every dictionary table to ``out/<table>.csv`` (or ``.parquet``).

    Columns are the dictionary's, in its order, with ``patient_pseudonym`` in place of
    ``patient_ref``. CSV numbers are written with full precision, dates as YYYY-MM-DD and
    booleans as true/false. Returns the files written, by table.
    """
    if format not in ("csv", "parquet"):
        raise DataError(f"unknown export format {format!r} (csv or parquet)")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, frame in export_frames(session).items():
        target = out / f"{name}.{format}"
        if format == "csv":
            _csv_text(frame).to_csv(target, index=False, lineterminator="\n")
        else:
            frame.to_parquet(target, index=False)
        written[name] = target
    return written
