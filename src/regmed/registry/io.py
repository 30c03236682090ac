"""Reading import folders and workbooks; exporting the registry one file per table.

Exports write the dictionary's columns with ``patient_pseudonym`` in place of ``patient_ref``
(the site's identifier cannot be recovered from its keyed hash); imports accept either column,
so ``regmed export`` → ``regmed import`` is a round trip that loses nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from regmed.errors import DataError, Problem
from regmed.registry.dictionary import TableSpec, load_dictionary
from regmed.registry.tables import existing_frame, file_columns
from regmed.registry.textfile import ENCODINGS, file_encoding

__all__ = [
    "TableFile",
    "open_folder",
    "unreadable",
    "read_folder",
    "export_tables",
    "export_frames",
    "typed_frame",
]

_EXCEL = (".xlsx", ".xlsm", ".xls")


def _csv_chunks(path: Path, rows: int, codec: str = "utf-8-sig") -> Iterator[pd.DataFrame]:
    """The CSV file's rows, decoded as text by ``codec`` (a text stream: characters split
    across chunks decode whole)."""
    try:
        with path.open("r", encoding=codec, errors="strict", newline="") as fh:
            reader = pd.read_csv(fh, dtype=str, keep_default_na=False, na_filter=False,
                                 chunksize=rows)
            with reader:
                yield from reader
    except pd.errors.EmptyDataError:
        yield pd.DataFrame()
    except UnicodeDecodeError:  # checked before reading: only when the file changed meanwhile
        raise DataError(f"cannot read {path.name}: it is not {codec} text") from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataError(f"cannot read {path.name}: {exc}") from None


def _parquet_file(path: Path) -> Any:
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ... for broken files
        raise DataError(f"cannot read {path.name}: not a readable Parquet file ({exc})") from None


def _parquet_chunks(path: Path, rows: int) -> Iterator[pd.DataFrame]:
    try:
        file = _parquet_file(path)
        empty = True
        for batch in file.iter_batches(batch_size=rows):
            empty = False
            yield batch.to_pandas()
        if empty:
            yield file.schema_arrow.empty_table().to_pandas()
    except DataError:
        raise
    except Exception as exc:  # a damaged column chunk shows only when it is read
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


def unreadable(exc: DataError, source: str) -> Problem:
    """The problem of a file that cannot be read, named by ``source`` (the error's own problem
    when it names the file, e.g. with the row of a byte that does not decode)."""
    if len(exc.problems) == 1 and exc.problems[0].file == source:
        return exc.problems[0]
    return Problem(exc.message.split(": ", 1)[-1], file=source)


@dataclass(frozen=True)
class TableFile:
    """One table of an import, read in chunks of rows (:func:`open_folder`)."""

    name: str
    source: str
    read: Callable[[], Iterator[pd.DataFrame]]

    def chunks(self) -> Iterator[pd.DataFrame]:
        """The table's rows, chunk by chunk, each with ``attrs["source"]`` set.

        Raises
        ------
        DataError
            When the file cannot be read (also part-way through a large file).
        """
        for chunk in self.read():
            chunk.attrs["source"] = self.source
            yield chunk


def _slices(frame: pd.DataFrame, rows: int) -> Callable[[], Iterator[pd.DataFrame]]:
    def read() -> Iterator[pd.DataFrame]:
        for start in range(0, max(len(frame), 1), rows):
            yield frame.iloc[start : start + rows].reset_index(drop=True)

    return read


def open_folder(path: str | Path, chunk_rows: int = 100_000, encoding: str = "auto"
                ) -> list[TableFile]:
    """Open the tables of an import: a folder, a workbook, or one file (see
    :func:`read_folder`), to be read ``chunk_rows`` rows at a time.

    CSV and Parquet files are streamed (memory stays bounded whatever their size); workbooks
    are read whole (a sheet holds at most about a million rows). CSV files are read in
    ``encoding`` (:data:`regmed.registry.textfile.ENCODINGS`; ``auto``, the default, detects
    UTF-8, UTF-8/UTF-16 with a BOM and CP932: :func:`~regmed.registry.textfile.file_encoding`).
    Broken files, undecodable bytes and tables given twice are all reported at once, before
    anything is read.

    Raises
    ------
    DataError
        When the path does not exist, a file cannot be opened, or a table comes twice.
    """
    path = Path(path)
    if encoding not in ENCODINGS:
        raise DataError(f"unknown encoding {encoding!r} (one of {', '.join(ENCODINGS)})")
    if not path.exists():
        raise DataError(f"{str(path)!r} does not exist")
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    found: list[TableFile] = []
    problems: list[Problem] = []
    names = load_dictionary().tables
    for f in files:
        suffix = f.suffix.lower()
        if f.name.startswith((".", "~$")):
            continue
        try:
            if suffix == ".csv":
                codec = file_encoding(f, encoding)
                first = next(_csv_chunks(f, 1, codec), None)  # the header can be read
                del first
                found.append(TableFile(f.stem, f.name, partial(_csv_chunks, f, chunk_rows,
                                                               codec)))
            elif suffix == ".parquet":
                _parquet_file(f)
                found.append(TableFile(f.stem, f.name, partial(_parquet_chunks, f, chunk_rows)))
            elif suffix in _EXCEL:
                for name, frame in _read_excel(f, f.stem if f.stem in names else None).items():
                    found.append(TableFile(name, frame.attrs["source"], _slices(frame,
                                                                                chunk_rows)))
            elif not path.is_dir():
                problems.append(Problem("not a CSV, Excel or Parquet file", file=f.name))
        except DataError as exc:
            problems.append(unreadable(exc, f.name))
    seen: set[str] = set()
    for t in found:
        if t.name in seen:
            problems.append(Problem(f"table {t.name!r} given twice", file=t.source))
        seen.add(t.name)
    if problems:
        raise DataError("cannot read the import; nothing was written", problems)
    if not found:
        raise DataError(f"no tables found in {str(path)!r} (expected <table>.csv files)")
    return found


def read_folder(path: str | Path, encoding: str = "auto") -> dict[str, pd.DataFrame]:
    """Read the tables of an import: a folder, a workbook, or one file.

    A folder holds ``<table>.csv``, ``<table>.xlsx`` or ``<table>.parquet`` files and/or
    workbooks whose sheets are named by table. A single ``.csv``/``.parquet`` file is the
    table its name says; a workbook's sheets are named by table (a one-sheet workbook named
    ``<table>.xlsx`` may use any sheet name). CSV cells are read as text in ``encoding`` (as
    for :func:`open_folder`); validation does the typing. Each frame's ``attrs["source"]``
    names its file (used in problem reports). Large imports are better streamed:
    :func:`open_folder` and :func:`regmed.registry.stream.import_files`.

    Raises
    ------
    DataError
        When the path does not exist, a file cannot be read, or a table comes twice.
    """
    tables: dict[str, pd.DataFrame] = {}
    problems: list[Problem] = []
    for t in open_folder(path, chunk_rows=1_000_000, encoding=encoding):
        try:
            parts = list(t.chunks())
        except DataError as exc:
            problems.append(unreadable(exc, t.source))
            continue
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        frame.attrs["source"] = t.source
        tables[t.name] = frame
    if problems:
        raise DataError("cannot read the import; nothing was written", problems)
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
        out[name] = typed_frame(frame.reset_index(drop=True), spec)
    return out


def typed_frame(frame: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """The dictionary columns of an exported-form frame with their export types: ``Int64``
    integers, ``float64`` numbers, ``boolean`` flags, everything else as objects."""
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
    return typed


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
