"""A lot's .h5ad file: registered with its SHA-256 through the audited services."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import regmed.registry as reg
from regmed.errors import DataError

from .data import small_tables


def test_register_a_lot_file_records_its_hash_and_audits(session: Session,
                                                         tmp_path: Path) -> None:
    reg.import_tables(session, small_tables(), actor="tester")
    f = tmp_path / "L1.h5ad"
    f.write_bytes(b"pretend h5ad content")
    rec = reg.register_lot_file("L1", f, session=session, actor="ana", description="scRNA")
    assert rec.sha256 == hashlib.sha256(b"pretend h5ad content").hexdigest()
    assert rec.size_bytes == 20 and rec.path == str(f.resolve())
    log = reg.audit_log(session, "lot_files", key=f"L1:h5ad:{f.resolve()}")
    assert [e["action"] for e in log] == ["insert"] and log[0]["actor"] == "ana"
    assert log[0]["new_values"]["sha256"] == rec.sha256
    assert reg.verify_audit(session).ok
    frame = reg.lot_files(session, verify=True)
    assert frame[["lot_code", "sha256"]].values.tolist() == [["L1", rec.sha256]]

    # the content changes: verification names the file; re-registering needs a reason
    f.write_bytes(b"other content")
    with pytest.raises(DataError, match="content changed"):
        reg.lot_files(session, verify=True)
    with pytest.raises(DataError, match="needs a reason"):
        reg.register_lot_file("L1", f, session=session, actor="ana")
    reg.register_lot_file("L1", f, session=session, actor="ana", reason="re-sequenced")
    assert reg.lot_files(session, ["L1"], verify=True)["size_bytes"].tolist() == [13]
    assert [e["action"] for e in reg.audit_log(session, "lot_files", record_id=rec.id)] == [
        "insert", "update"]
    assert reg.verify_audit(session).ok


def test_register_lot_file_reports_every_problem(session: Session, tmp_path: Path) -> None:
    reg.import_tables(session, small_tables(), actor="tester")
    with pytest.raises(DataError) as err:
        reg.register_lot_file("L9", tmp_path / "missing.csv", session=session, actor="ana")
    text = str(err.value)
    assert "3 problems" in text and "unknown lot 'L9'" in text and "end in .h5ad" in text
    assert "file not found" in text
    assert session.execute(select(reg.LotFile)).first() is None


def test_lot_attribute_reads_potency_from_lot_results(session: Session) -> None:
    reg.import_tables(session, small_tables(), actor="tester")
    pot = reg.lot_attribute(session, "potency")
    assert pot.loc["L1"] == pytest.approx(1234.5) and pot.name == "potency"
    with pytest.raises(DataError, match="no lot has a result"):
        reg.lot_attribute(session, "vegf")
