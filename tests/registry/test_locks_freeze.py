"""One rule for what may not change (regmed.registry.locks), asked by the importer, the
single-record path and the services alike: signed/locked records, locked plan versions,
sealed evaluations, and data frozen by a data manager (audited freeze and unfreeze)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import regmed.registry as reg
from regmed.errors import DataError
from regmed.registry.extract import store_evaluation
from regmed.registry.freeze import active_freezes, freeze_data, unfreeze_data
from regmed.registry.web_models import RecordLock

from .conftest import TEST_KEY, table_counts
from .data import small_tables


@pytest.fixture
def registry(session: Session) -> Session:
    reg.import_tables(session, small_tables(), actor="dm", key=TEST_KEY.encode())
    return session


def _assessment(session: Session, ref: str) -> reg.Assessment:
    return session.execute(select(reg.Assessment).where(
        reg.Assessment.assessment_ref == ref)).scalar_one()


def _file_row(ref: str, value_text: str) -> dict[str, pd.DataFrame]:
    rows = small_tables()["assessments"]
    return {"assessments": rows[rows["assessment_ref"] == ref].assign(value_text=value_text)}


def _form_row(session: Session, a: reg.Assessment, **changes: Any) -> dict[str, Any]:
    patient = session.get_one(reg.Patient, a.patient_id)
    site = session.get_one(reg.Site, patient.site_id)
    row = {c: getattr(a, c) for c in ("assessment_ref", "endpoint", "visit", "assessed_on",
                                      "value", "value_text", "assessor", "assessor_role",
                                      "blinded")}
    return {**row, "site_code": site.site_code, "patient_pseudonym": patient.pseudonym,
            **changes}


def _refused(fn: Any, *words: str) -> None:
    with pytest.raises(DataError) as err:
        fn()
    text = str(err.value) + " " + " ".join(p.message for p in err.value.problems)
    for w in words:
        assert w in text, text


def test_a_locked_record_refuses_every_path(registry: Session) -> None:
    a = _assessment(registry, "A0")
    registry.add(RecordLock(table_name="assessments", record_id=a.id, signed_by="inv1",
                            meaning="approved", signed_at="2026-03-01T00:00:00Z"))
    registry.flush()
    counts = table_counts(registry)
    _refused(lambda: reg.import_tables(registry, _file_row("A0", "D"), actor="dm",
                                       reason="fix", key=TEST_KEY.encode()),
             "signed by inv1", "locked", "audited unlock")
    _refused(lambda: reg.save_row(registry, "assessments", _form_row(registry, a,
                                                                     value_text="D"),
                                  actor="inv1", reason="fix"), "locked")
    _refused(lambda: reg.update_record(a, {"value_text": "D"}, session=registry, actor="dm",
                                       reason="fix"), "locked")
    _refused(lambda: reg.delete_record(a, session=registry, actor="dm", reason="duplicate"),
             "locked")
    assert table_counts(registry) == counts and a.value_text == "B"
    # another record, and unchanged rows of the locked one, pass
    tables = _file_row("A1", "D")
    tables["assessments"] = pd.concat([tables["assessments"], _file_row("A0", "B")[
        "assessments"]])
    s = reg.import_tables(registry, tables, actor="dm", reason="fix", key=TEST_KEY.encode())
    assert (s.updated["assessments"], s.unchanged["assessments"]) == (1, 1)


def test_locked_plans_and_sealed_evaluations_never_change(registry: Session) -> None:
    plan = reg.add_record(reg.PlanVersion(name="p", version=1, yaml_text="x: 1", sha256="0" * 64,
                                          status="locked", signer="stat", reason="agreed",
                                          locked_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),
                          session=registry, actor="stat", reason="agreed")
    _refused(lambda: reg.update_record(plan, {"yaml_text": "x: 2"}, session=registry,
                                       actor="stat", reason="typo"), "amendment")
    doc = {"meta": {"created_at": "2026-12-01T00:00:00Z", "regmed_version": "0.1",
                    "data_hash": "d" * 64, "seed": 1, "exploratory": False}}
    eid = store_evaluation(doc, session=registry, actor="stat", plan_version_id=None)
    evaluation = registry.get_one(reg.Evaluation, eid)
    _refused(lambda: reg.update_record(evaluation, {"seed": 2}, session=registry, actor="stat",
                                       reason="rerun"), "sealed")
    _refused(lambda: reg.delete_record(evaluation, session=registry, actor="stat",
                                       reason="rerun"), "sealed")


def test_a_frozen_site_refuses_every_path_until_an_audited_unfreeze(registry: Session) -> None:
    _refused(lambda: freeze_data(registry, actor="dm", reason=" ", site_code="S01"),
             "a reason is required")
    _refused(lambda: freeze_data(registry, actor="dm", reason="x", site_code="S99"),
             "unknown site")
    _refused(lambda: freeze_data(registry, actor="dm", reason="x"), "one site or the whole")
    freeze_data(registry, actor="dm", reason="interim database lock", site_code="S01")
    [row] = active_freezes(registry)
    assert (row["scope"], row["site_code"], row["frozen_by"]) == ("site", "S01", "dm")
    a0 = _assessment(registry, "A0")  # S01
    counts = table_counts(registry)
    for fn in (
        lambda: reg.import_tables(registry, _file_row("A0", "D"), actor="dm", reason="fix",
                                  key=TEST_KEY.encode()),
        lambda: reg.import_tables(registry, {"patients": pd.DataFrame([{
            "site_code": "S01", "patient_ref": "P777", "sex": "F", "birth_year": "1990"}])},
            actor="dm", key=TEST_KEY.encode()),
        lambda: reg.import_tables(registry, {"adjudications": pd.DataFrame([{
            "assessment_ref": "A0", "reviewer": "second", "value_text": "B",
            "adjudicated_on": "2020-03-02"}])}, actor="dm", key=TEST_KEY.encode()),
        lambda: reg.save_row(registry, "assessments", _form_row(registry, a0, value_text="D"),
                             actor="inv1", reason="fix"),
        lambda: reg.update_record(a0, {"value_text": "D"}, session=registry, actor="dm",
                                  reason="fix"),
        lambda: reg.add_record(reg.Baseline(patient_id=a0.patient_id, variable="bmi",
                                            value=22.0), session=registry, actor="dm"),
    ):
        _refused(fn, "site S01 are frozen", "interim database lock", "audited unfreeze")
    assert table_counts(registry) == counts
    # S02 is not frozen
    s = reg.import_tables(registry, _file_row("A2", "D"), actor="dm", reason="fix",
                          key=TEST_KEY.encode())
    assert s.updated["assessments"] == 1
    _refused(lambda: unfreeze_data(registry, actor="dm", reason="", site_code="S01"),
             "a reason is required")
    unfreeze_data(registry, actor="dm", reason="interim analysis done", site_code="S01")
    assert active_freezes(registry) == []
    _refused(lambda: unfreeze_data(registry, actor="dm", reason="again", site_code="S01"),
             "is not frozen")
    s = reg.import_tables(registry, _file_row("A0", "D"), actor="dm", reason="fix",
                          key=TEST_KEY.encode())
    assert s.updated["assessments"] == 1
    log = reg.audit_log(registry, "data_freezes", key="site:S01")
    assert [(e["action"], e["reason"]) for e in log] == [
        ("insert", "interim database lock"), ("update", "interim analysis done")]
    assert reg.verify_audit(registry).ok


def test_a_study_freeze_covers_master_data_but_not_plans(registry: Session) -> None:
    freeze_data(registry, actor="dm", reason="final analysis", study=True)
    _refused(lambda: freeze_data(registry, actor="dm", reason="x", study=True), "already")
    _refused(lambda: reg.import_tables(registry, {"sites": pd.DataFrame([{
        "site_code": "S09", "name": "New"}])}, actor="dm"), "the study's data are frozen")
    lot = registry.execute(select(reg.Lot)).scalars().first()
    assert lot is not None
    _refused(lambda: reg.update_record(lot, {"coa_reference": "X"}, session=registry,
                                       actor="dm", reason="fix"), "frozen")
    # a plan is still locked and an evaluation still stored on frozen data
    reg.add_record(reg.PlanVersion(name="p", version=1, yaml_text="x: 1", sha256="0" * 64,
                                   status="locked", signer="stat", reason="agreed"),
                   session=registry, actor="stat", reason="agreed")
    unfreeze_data(registry, actor="dm", reason="late data", study=True)
    reg.import_tables(registry, {"sites": pd.DataFrame([{"site_code": "S09", "name": "New"}])},
                      actor="dm")
