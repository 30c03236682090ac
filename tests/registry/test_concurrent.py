"""Two imports at once into one SQLite registry both succeed: the second waits and retries."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import event

import regmed.registry as reg
from regmed.errors import RegmedError
from regmed.registry.db import run_write, write_engine

from .test_cli import SRC
from .test_mistakes import registry_state


def _tables(n_patients: int, n_assessments: int) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    rng = np.random.default_rng(3)
    ref = [f"P{i:05d}" for i in range(n_patients)]
    base = {
        "sites": pd.DataFrame({"site_code": ["S01"], "name": ["Site 1"]}),
        "products": pd.DataFrame([{"product_code": "MSC1", "name": "BM-MSC",
                                   "type": "autologous", "approval_kind": "conditional"}]),
        "indications": pd.DataFrame([{"indication_code": "SCI", "product_code": "MSC1",
                                      "name": "Spinal cord injury"}]),
        "patients": pd.DataFrame({"site_code": "S01", "patient_ref": ref, "sex": "F",
                                  "birth_year": "1970"}),
        "enrollments": pd.DataFrame({"site_code": "S01", "patient_ref": ref,
                                     "indication_code": "SCI", "cohort": "treated",
                                     "direction": "prospective", "index_on": "2020-01-01",
                                     "enrolled_on": "2020-01-02"}),
    }
    who = rng.integers(0, n_patients, n_assessments)
    assessments = pd.DataFrame({
        "assessment_ref": [f"A{i:07d}" for i in range(n_assessments)],
        # a numeric endpoint (ais_grade is coded A-E); one assessment a visit
        "site_code": "S01", "patient_ref": [ref[i] for i in who], "endpoint": "motor_score",
        "visit": [f"v{i}" for i in range(n_assessments)], "assessed_on": "2020-07-01",
        "value": rng.integers(0, 5, n_assessments).astype(str), "assessor": "dr_a",
        "assessor_role": "treating_physician", "blinded": "false"})
    return base, assessments


def test_two_imports_at_once_into_sqlite_both_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'regmed.sqlite'}"
    base, assessments = _tables(500, 24_000)
    engine = reg.make_engine(url)
    reg.upgrade(engine)
    with reg.session_scope(engine) as session:
        reg.import_tables(session, base, actor="setup")
    engine.dispose()
    folders = []
    for k in range(2):
        folder = tmp_path / f"part{k}"
        folder.mkdir()
        assessments.iloc[k * 12_000:(k + 1) * 12_000].to_csv(folder / "assessments.csv",
                                                               index=False)
        folders.append(folder)
    env = dict(os.environ, REGMED_DATABASE_URL=url, PYTHONPATH=SRC)
    procs = [subprocess.Popen([sys.executable, "-m", "regmed", "import", str(f), "--actor",
                               f"site{k}"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for k, f in enumerate(folders)]
    results = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err
        assert "database is locked" not in err and "Traceback" not in err
        assert "assessments              12000" in out
    state = registry_state(url)
    assert state["assessments"] == 24_000
    engine = reg.make_engine(url)
    with reg.session_scope(engine) as session:
        check = reg.verify_audit(session)
    engine.dispose()
    assert check.ok, check.message


def test_run_write_gives_up_with_a_sentence(tmp_path: Path) -> None:
    """A registry held locked longer than the wait: one sentence, nothing written."""
    url = f"sqlite:///{tmp_path / 'regmed.sqlite'}"
    reg.upgrade(url)
    holder = reg.make_engine(url)
    conn = write_engine(holder).connect()
    conn.begin()
    conn.exec_driver_sql("SELECT 1")  # BEGIN IMMEDIATE: holds the write lock
    quick = reg.make_engine(url)

    @event.listens_for(quick, "connect")
    def _short(dbapi_connection, record):  # after regmed's own PRAGMAs
        dbapi_connection.execute("PRAGMA busy_timeout=50")

    calls = []

    def work(session):
        calls.append(1)
        return reg.import_tables(session, _tables(2, 1)[0], actor="x")

    try:
        with pytest.raises(RegmedError, match="stayed locked by another writer for 0 s; "
                                              "nothing was written"):
            run_write(quick, work, wait=0.3, pause=0.05)
    finally:
        conn.rollback()
        conn.close()
        holder.dispose()
        quick.dispose()
    assert len(calls) >= 2  # run again from the start; its first statement waits for the lock
    assert registry_state(url)["sites"] == 0
    assert run_write(reg.make_engine(url), work).inserted["sites"] == 1
