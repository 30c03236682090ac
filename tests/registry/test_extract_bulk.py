"""The bulk extraction (one SQL statement per table, only what the plan needs) gives the same
study data as the full export of every table, on SQLite and PostgreSQL."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import delete, update
from sqlalchemy.orm import Session

import regmed.registry as reg
from regmed import demo
from regmed.plan import load_plan
from regmed.registry.extract import extract, extract_exported
from regmed.registry.extract_read import endpoint_variables, read_tables
from regmed.registry.models import Assessment, Baseline
from regmed.studydata import StudyData, frame_hash

SIZES = {"sci": {"n_treated": 30, "n_concurrent": 40, "n_historical": 60},
         "heart_failure_shortfall": {}}


def _same(a: StudyData, b: StudyData) -> None:
    pd.testing.assert_frame_equal(a.patients, b.patients)
    pd.testing.assert_frame_equal(a.attrition, b.attrition)
    assert a.endpoints == b.endpoints and a.facts == b.facts
    assert sorted(a.quality) == sorted(b.quality)
    for name, frame in a.quality.items():
        pd.testing.assert_frame_equal(frame, b.quality[name])
    assert a.data_hash == b.data_hash


def _load(session: Session, scenario: str, seed: int = 3):
    data = demo.generate(scenario, seed=seed, **SIZES[scenario])
    reg.import_tables(session, data.tables, actor="tester", reason="test data")
    return data, load_plan(data.plan_yaml)


@pytest.mark.parametrize("scenario", sorted(SIZES))
def test_bulk_extraction_equals_the_full_export(session: Session, scenario: str) -> None:
    data, plan = _load(session, scenario)
    bulk, full = extract(session, plan), extract_exported(session, plan)
    _same(bulk, full)
    assert len(bulk.patients) == len(data.tables["enrollments"])
    assert bulk.patients["cohort"].value_counts().to_dict() == (
        data.tables["enrollments"]["cohort"].value_counts().to_dict())


def test_only_the_plans_assessments_are_read(session: Session) -> None:
    data, plan = _load(session, "sci")
    other = data.tables["assessments"].head(3).assign(
        assessment_ref=["X1", "X2", "X3"], endpoint="grip_strength", value="1.5")
    reg.import_tables(session, {"assessments": other}, actor="tester")
    tables = read_tables(session, plan)
    assert endpoint_variables(plan) == ["ais_grade"]
    assert set(tables["assessments"]["endpoint"]) == {"ais_grade"}
    assert len(tables["assessments"]) == len(data.tables["assessments"])
    # the other endpoint's rows change nothing the analysis reads
    _same(extract(session, plan), extract_exported(session, plan))


def test_ties_and_edge_values_as_the_export_gives_them(session: Session) -> None:
    # assessments of one patient that tie on every sort key: the export's order (references
    # in code points: "AB1" < "AS..." < "Aa2", whatever the database's collation) picks one
    data, plan = _load(session, "sci")
    a = data.tables["assessments"]
    first = a[(a["visit"] == "day180") & (a["assessor_role"] == "blinded_central")].iloc[0]
    twin = pd.DataFrame([{**first.to_dict(), "assessment_ref": "Aa2", "value_text": "E",
                          "assessor": "CRC-98"},
                         {**first.to_dict(), "assessment_ref": "AB1", "value_text": "D",
                          "assessor": "CRC-99"}])
    reg.import_tables(session, {"assessments": twin}, actor="tester")
    # a stored NULL, and a patient without the row, of a text covariate
    session.execute(update(Baseline).where(Baseline.variable == "injury_level",
                                           Baseline.id % 7 == 0).values(value_text=None))
    session.execute(delete(Baseline).where(Baseline.variable == "injury_level",
                                           Baseline.id % 7 == 1))
    session.execute(update(Assessment).where(Assessment.assessment_ref == "AB1")
                    .values(value=None))
    bulk, full = extract(session, plan), extract_exported(session, plan)
    _same(bulk, full)
    assert bulk.patients["injury_level"].isna().sum() >= 2


def test_the_data_hash_sees_every_value_and_type() -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", None]},
                         index=pd.Index(["S1:p", "S1:q"], name="patient_id"))
    h = frame_hash(frame)
    assert frame_hash(frame.copy()) == h and frame_hash(frame[["b", "a"]]) == h
    changed = [frame.assign(a=[1.0, 2.5]), frame.assign(b=["x", "y"]),
               frame.assign(a=pd.array([1, 2], dtype="Int64")),
               frame.rename(index={"S1:q": "S2:q"}), frame.rename(columns={"b": "c"}),
               frame.iloc[:1]]
    hashes = {frame_hash(f) for f in changed}
    assert h not in hashes and len(hashes) == len(changed)
