"""The error hierarchy and the shared result conventions."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest

import regmed
from regmed.errors import DataError, Problem, RegmedError
from regmed.results import Result, to_jsonable


def test_problem_names_file_row_and_field() -> None:
    p = Problem("not a date", file="patients.csv", row=4, field="birth_year")
    assert str(p) == "patients.csv, row 4, birth_year: not a date"


def test_error_lists_every_problem() -> None:
    err = DataError("patients.csv has 2 problems", [Problem("a", row=1), Problem("b", row=2)])
    text = str(err)
    assert "row 1: a" in text and "row 2: b" in text
    assert isinstance(err, RegmedError)


@dataclasses.dataclass(frozen=True)
class _Demo(Result):
    n: int
    value: float
    table: pd.DataFrame


def test_result_is_frozen_and_serializes_to_strict_json() -> None:
    r = _Demo(n=3, value=float("nan"), table=pd.DataFrame({"a": [1.5, np.nan]}))
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.n = 4  # type: ignore[misc]
    d = r.to_dict()
    assert d["value"] is None and d["table"] == [{"a": 1.5}, {"a": None}]
    json.dumps(d, allow_nan=False)
    assert "n" in r.summary()


def test_jsonable_numbers() -> None:
    assert to_jsonable(np.int64(3)) == 3 and to_jsonable(np.float64(math.inf)) is None


def test_lazy_subpackages() -> None:
    assert regmed.errors.DataError is DataError
    with pytest.raises(AttributeError):
        regmed.nonexistent  # noqa: B018
