"""A control source that is a data set (issue 18, part 1): Parquet folders, CSV globs and a
PostgreSQL table or query are checked by chunks with the study dictionary's sentences (file,
row, column; all at once), hashed, and opened lazily for the Dask path, whose fit equals the
in-memory fit of the same rows."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from regmed.app.pool_source import (
    open_source,
    read_pool_source,
    source_hash,
    validate_source,
)
from regmed.errors import DataError
from regmed.evidence import fit_propensity
from regmed.evidence.dask_path import fit_propensity_dask
from regmed.study import Variable, build_dictionary, validate_record

PG_URL = os.environ.get("REGMED_TEST_POSTGRES_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DICTIONARY = build_dictionary([
    Variable(form="baseline", name="age", field_type="integer", label_ja="年齢", min=0,
             max=120, required=True),
    Variable(form="baseline", name="sex", field_type="single_choice", label_ja="性別",
             choices=({"code": "M", "label_ja": "男性"}, {"code": "F", "label_ja": "女性"})),
    Variable(form="baseline", name="injury_year", field_type="integer", label_ja="受傷年",
             min=1990, max=2100),
])
MAPPING = {"age": "AGE_YRS", "sex": "GENDER", "injury_year": "YEAR_OF_INJURY",
           "treated": "TRT"}


def _pool(n: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"PERSON_ID": np.arange(1, n + 1) * 3,
                       "AGE_YRS": rng.integers(18, 90, n),
                       "GENDER": rng.choice(["M", "F"], n),
                       "YEAR_OF_INJURY": rng.integers(2000, 2027, n)})
    lp = -1 + 0.02 * (df.AGE_YRS - 50) + 0.05 * (df.YEAR_OF_INJURY - 2013)
    df["TRT"] = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int)
    return df


def _spec(kind: str, **where: str) -> object:
    return read_pool_source({"kind": kind, "id_column": "PERSON_ID", "columns": MAPPING,
                             **where})


def _in_memory(df: pd.DataFrame) -> object:
    renamed = df.rename(columns={v: k for k, v in MAPPING.items()}).set_index("PERSON_ID")
    return fit_propensity(renamed, "treated", ["age", "sex", "injury_year"])


def test_a_parquet_folder_is_checked_hashed_and_fitted_lazily(tmp_path: Path) -> None:
    df = _pool(5000)
    folder = tmp_path / "pool"
    folder.mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(df)), 3)):
        df.iloc[part].to_parquet(folder / f"part-{i}.parquet", index=False)
    spec = _spec("parquet", path=str(folder))
    check = validate_source(spec, DICTIONARY)
    assert check.rows == 5000 and check.sha256 == source_hash(spec)
    ddf = open_source(spec)
    fit = fit_propensity_dask(ddf, "treated", ["age", "sex", "injury_year"])
    want = _in_memory(df)
    np.testing.assert_allclose(fit.estimates["estimate"], want.estimates["estimate"],
                               rtol=1e-10)
    df.iloc[:10].to_parquet(folder / "part-9.parquet", index=False)  # a file more
    assert source_hash(spec) != check.sha256


def test_refused_cells_carry_file_row_and_column_with_the_dictionarys_sentences(
        tmp_path: Path) -> None:
    df = _pool(300)
    df["AGE_YRS"] = df["AGE_YRS"].astype(object)
    df.loc[4, "AGE_YRS"] = 130
    df.loc[7, "AGE_YRS"] = "abc"
    df.loc[9, "GENDER"] = "X"
    df.loc[11, "PERSON_ID"] = df.loc[12, "PERSON_ID"]
    df.iloc[:150].to_csv(tmp_path / "extract-1.csv", index=False)
    df.iloc[150:].drop(columns=["YEAR_OF_INJURY"]).to_csv(tmp_path / "extract-2.csv",
                                                          index=False)
    spec = _spec("csv", path=str(tmp_path / "extract-*.csv"))
    with pytest.raises(DataError) as err:
        validate_source(spec, DICTIONARY)
    got = [(Path(p.file).name if p.file else None, p.row, p.field, p.message)
           for p in err.value.problems]
    one = str(tmp_path / "extract-1.csv")
    same = {p.message for p in validate_record(DICTIONARY, "baseline",
                                               {"age": "130", "sex": "X"})}
    assert ("extract-1.csv", 6, "AGE_YRS", "Must be at most 120 (got 130).") in got
    assert ("extract-1.csv", 9, "AGE_YRS", "Enter a whole number (got abc).") in got
    assert any((a, b, c) == ("extract-1.csv", 11, "GENDER") and m in same
               for a, b, c, m in got)
    assert {m for *_, m in got} >= same  # the web form's and the importer's sentences
    assert any(f == "PERSON_ID" and "more than once" in m for _, _, f, m in got)
    assert ("extract-2.csv", None, "YEAR_OF_INJURY", "not a column of the control source") \
        in got
    assert not any(p.file == one and p.field == "YEAR_OF_INJURY" for p in err.value.problems)


def test_a_postgresql_query_is_a_control_source() -> None:
    df = _pool(3000, seed=11)
    schema = f"regmed_pool_{uuid.uuid4().hex[:10]}"
    engine = create_engine(PG_URL)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        df.to_sql("person", engine, schema=schema, index=False)
        spec = _spec("sql", url=PG_URL,
                     query=f'SELECT * FROM "{schema}".person WHERE "AGE_YRS" >= 18')
        spec = read_pool_source({**spec.model_dump(), "columns": MAPPING,  # type: ignore[attr-defined]
                                 "id_column": "PERSON_ID"})
        check = validate_source(spec, DICTIONARY)
        assert check.rows == 3000
        again = validate_source(spec, DICTIONARY)
        assert again.sha256 == check.sha256  # id order: the same rows give the same hash
        fit = fit_propensity_dask(open_source(spec, npartitions=3), "treated",
                                  ["age", "sex", "injury_year"])
        want = _in_memory(df)
        np.testing.assert_allclose(fit.estimates["estimate"], want.estimates["estimate"],
                                   rtol=1e-10)
        table = read_pool_source({"kind": "sql", "url": PG_URL, "table": f"{schema}.person",
                                  "id_column": "PERSON_ID", "columns": MAPPING})
        assert validate_source(table, DICTIONARY).sha256 == check.sha256
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def test_a_bad_source_spec_names_its_key_paths() -> None:
    with pytest.raises(DataError) as err:
        read_pool_source({"kind": "sql", "id_column": "id", "columns": {}, "path": 3},
                         "controls[1].source")
    fields = {p.field for p in err.value.problems}
    assert "controls[1].source.path" in fields
    with pytest.raises(DataError) as err:
        read_pool_source({"kind": "sql", "id_column": "id", "columns": {}})
    assert {p.field for p in err.value.problems} == {"control.source.url",
                                                     "control.source.table"}
