"""A control source that is a data set, not registry rows (issue 18, part 1).

An external control pool — a Parquet data set (a folder of files), a CSV glob, or a SQL table
or query (an OMOP CDM ``person`` + ``observation_period`` extract in PostgreSQL, say) — is named
by a :class:`PoolSource`: where it is, which column identifies a patient, and which source
column holds each study-dictionary variable. :func:`validate_source` reads it by chunks and
checks every mapped column with the study dictionary's rules and sentences
(:func:`regmed.app.pool_columns.column_problems`: all problems at once, each with its file, row
and column); :func:`source_hash` hashes exactly the data read (the files' bytes; the query's
rows in id order), so an evaluation records which data it used; :func:`open_source` gives the
pool as a lazy Dask data frame with the dictionary's names, indexed by the patient id.
"""

from __future__ import annotations

import glob
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

from regmed.app.pool_columns import column_problems
from regmed.errors import DataError, Problem
from regmed.study import StudyDictionary

__all__ = ["PoolSource", "read_pool_source", "source_files", "source_hash", "validate_source",
           "open_source", "SourceCheck"]

CHUNK_ROWS = 500_000


class PoolSource(BaseModel):
    """Where a control pool is and how its columns map to the study dictionary.

    ``kind``: ``parquet`` (``path``: a folder of Parquet files or one file), ``csv``
    (``path``: a glob such as ``extract/part-*.csv``), ``sql`` (``url``: a SQLAlchemy URL, and
    ``table`` or ``query``). ``id_column`` identifies a patient; ``columns`` maps each
    dictionary variable (and the treatment/outcome names the plan uses) to its source column.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    kind: Literal["parquet", "csv", "sql"]
    path: str | None = None
    url: str | None = None
    table: str | None = None
    query: str | None = None
    id_column: str
    columns: dict[str, str]


def read_pool_source(data: Any, where: str = "control.source") -> PoolSource:
    """A :class:`PoolSource` from a plan's mapping, every problem with its key path."""
    try:
        spec = PoolSource.model_validate(data)
    except ValidationError as exc:
        raise DataError("the control source is not valid", [
            Problem(e["msg"], field=".".join([where, *map(str, e["loc"])]))
            for e in exc.errors()]) from None
    problems = []
    if spec.kind in ("parquet", "csv") and not spec.path:
        problems.append(Problem("a path is needed", field=f"{where}.path"))
    if spec.kind == "sql" and not spec.url:
        problems.append(Problem("a url is needed", field=f"{where}.url"))
    if spec.kind == "sql" and (spec.table is None) == (spec.query is None):
        problems.append(Problem("give a table or a query (one of them)", field=f"{where}.table"))
    if problems:
        raise DataError("the control source is not valid", problems)
    return spec


def source_files(spec: PoolSource) -> list[Path]:
    """The files of a Parquet or CSV source, in name order."""
    assert spec.path is not None
    if spec.kind == "parquet":
        p = Path(spec.path)
        files = sorted(p.rglob("*.parquet")) if p.is_dir() else [p]
    else:
        files = sorted(Path(f) for f in glob.glob(spec.path))
    if not files or not all(f.is_file() for f in files):
        raise DataError("cannot read the control source",
                        [Problem("no such file", file=spec.path)])
    return files


def _query(spec: PoolSource, quote: Any) -> str:
    """The source's rows in id order (identifiers quoted as the database needs)."""
    if spec.table:
        schema, _, name = spec.table.rpartition(".")
        body = "SELECT * FROM " + (f"{quote(schema)}." if schema else "") + quote(name)
    else:
        body = str(spec.query)
    return f"SELECT * FROM ({body}) AS pool ORDER BY {quote(spec.id_column)}"


def _chunks(spec: PoolSource, columns: list[str]) -> Iterator[tuple[str, int, pd.DataFrame]]:
    """``(file or table, first row number, chunk)`` over the whole source."""
    if spec.kind == "parquet":
        import pyarrow.parquet as pq

        for f in source_files(spec):
            row = 1
            handle = pq.ParquetFile(f)
            have = set(handle.schema_arrow.names)
            for batch in handle.iter_batches(batch_size=CHUNK_ROWS,
                                             columns=[c for c in columns if c in have]):
                chunk = batch.to_pandas()
                yield str(f), row, chunk
                row += len(chunk)
    elif spec.kind == "csv":
        for f in source_files(spec):
            row = 2  # the header is row 1
            for chunk in pd.read_csv(f, chunksize=CHUNK_ROWS,
                                     usecols=lambda c: c in columns):
                yield str(f), row, chunk
                row += len(chunk)
    else:
        from sqlalchemy import create_engine, text
        from sqlalchemy.exc import SQLAlchemyError

        engine = create_engine(str(spec.url))
        name = spec.table or "query"
        sql = _query(spec, engine.dialect.identifier_preparer.quote)
        try:
            with engine.connect() as conn:
                row = 1
                for chunk in pd.read_sql_query(text(sql), conn, chunksize=CHUNK_ROWS):
                    yield name, row, chunk[[c for c in chunk.columns if c in columns]]
                    row += len(chunk)
        except SQLAlchemyError as exc:
            first = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise DataError("cannot read the control source",
                            [Problem(first, file=name)]) from None
        finally:
            engine.dispose()


class SourceCheck(BaseModel):
    """What :func:`validate_source` found: rows read and the source's hash."""

    model_config = ConfigDict(frozen=True)

    rows: int
    sha256: str


def validate_source(spec: PoolSource, dictionary: StudyDictionary, *, lang: str = "en"
                    ) -> SourceCheck:
    """Read the source by chunks, check every mapped column against its dictionary
    variable, and hash what was read.

    Raises
    ------
    DataError
        Every problem at once: a mapped column the source lacks, a mapping to a name the
        dictionary does not know (besides ``treatment``/outcome names given in ``extra``),
        refused cells (file, row, column, the dictionary's sentence), repeated patient ids.
    """
    wanted = [spec.id_column, *spec.columns.values()]
    problems: list[Problem] = []
    ids: list[np.ndarray] = []
    rows = 0
    checked: set[str] = set()
    for where, first, chunk in _chunks(spec, wanted):
        if where not in checked:  # each file (or the query) has every mapped column
            checked.add(where)
            problems += [Problem("not a column of the control source", file=where, field=col)
                         for col in dict.fromkeys(wanted) if col not in chunk.columns]
        rows += len(chunk)
        if spec.id_column in chunk.columns:
            ids.append(chunk[spec.id_column].to_numpy())
        for name, col in spec.columns.items():
            v = dictionary.variable(name)
            if v is not None and col in chunk.columns:
                problems += column_problems(chunk[col], v, file=where, field=col,
                                            first_row=first, lang=lang)
    if ids:
        every = np.concatenate(ids)
        uniq, counts = np.unique(every, return_counts=True)
        repeated = uniq[counts > 1]
        if len(repeated):
            shown = ", ".join(map(str, repeated[:5]))
            problems.append(Problem(f"{len(repeated)} patient id(s) given more than once "
                                    f"({shown}{' …' if len(repeated) > 5 else ''})",
                                    field=spec.id_column))
    if problems:
        raise DataError("the control source is refused", problems)
    return SourceCheck(rows=rows, sha256=source_hash(spec))


def source_hash(spec: PoolSource) -> str:
    """SHA-256 of the data a source names: each file's name and bytes (in name order), or
    the query's rows in id order written as CSV."""
    h = hashlib.sha256()
    if spec.kind in ("parquet", "csv"):
        for f in source_files(spec):
            h.update(f.name.encode() + b"\0")
            with f.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
        return h.hexdigest()
    header = True
    for _, _, chunk in _chunks(spec, [spec.id_column, *spec.columns.values()]):
        h.update(chunk.to_csv(index=False, header=header).encode())
        header = False
    return h.hexdigest()


def open_source(spec: PoolSource, *, npartitions: int | None = None) -> Any:
    """The pool as a lazy ``dask.dataframe.DataFrame``: the mapped columns under the
    dictionary's names, indexed by the patient id (rows in the source's order; SQL: id
    order)."""
    import dask.dataframe as dd

    source_cols = [spec.id_column, *dict.fromkeys(spec.columns.values())]
    if spec.kind == "parquet":
        ddf = dd.read_parquet([str(f) for f in source_files(spec)], columns=source_cols)
    elif spec.kind == "csv":
        ddf = dd.read_csv([str(f) for f in source_files(spec)], usecols=source_cols)
    else:
        from sqlalchemy import column, select, table, text

        if spec.table:
            schema, _, name = spec.table.rpartition(".")
            sel = select(*[column(c) for c in source_cols]).select_from(
                table(name, schema=schema or None))
        else:
            sel = select(*[column(c) for c in source_cols]).select_from(
                text(f"({spec.query}) AS pool"))
        ddf = dd.read_sql_query(sel, str(spec.url), index_col=spec.id_column,
                                npartitions=npartitions or 4)
        return ddf.rename(columns={v: k for k, v in spec.columns.items()})
    # each partition indexed by its ids (no shuffle: the ids need not be sorted)
    ddf = ddf.map_partitions(pd.DataFrame.set_index, spec.id_column)
    return ddf.rename(columns={v: k for k, v in spec.columns.items()})
