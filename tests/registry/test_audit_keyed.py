"""The keyed audit trail: forged appends, other keys, checkpoints, TRUNCATE, the 0006 switch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

import regmed.registry as reg
from regmed.errors import DataError, RegmedError
from regmed.registry.audit import AuditWriter, canonical_json, event_hash
from regmed.registry.audit_checkpoint import make_checkpoint, read_checkpoint
from regmed.registry.audit_key import event_mac
from regmed.registry.db import _alembic_config
from regmed.registry.extract import load_evaluation, store_evaluation

from .data import small_tables
from .test_audit import _drop_guard


def _tail(session: Session) -> tuple[int, str]:
    row = session.execute(
        select(reg.AuditEvent.seq, reg.AuditEvent.hash).order_by(reg.AuditEvent.seq.desc())
    ).first()
    return (int(row[0]), str(row[1])) if row else (0, "0" * 64)


def _forge(session: Session, mac_key: bytes | None, *, legacy: bool = False) -> int:
    """Change a site with SQL and append a correctly chained event in another name, dated later."""
    session.execute(text("UPDATE sites SET name = 'Forged' WHERE site_code = 'S01'"))
    rid = session.execute(text("SELECT id FROM sites WHERE site_code = 'S01'")).scalar_one()
    new = canonical_json({"site_code": "S01", "name": "Forged", "country": "JP"})
    seq, prev = _tail(session)
    fields = (seq + 1, "2099-01-01T00:00:00.000000Z", "chief-investigator", "sites", rid,
              "S01", "update", None, new, "correction", prev)
    h = event_hash(*fields)
    mac = None if mac_key is None else event_mac(mac_key, h)
    cols = ("seq", "occurred_at", "actor", "table_name", "record_id", "record_key", "action",
            "old_values", "new_values", "reason", "prev_hash", "hash", "mac")
    row = dict(zip(cols, (*fields, h, mac), strict=True))
    session.execute(insert(reg.AuditEvent.__table__), [row])
    return seq + 1


def test_every_event_carries_a_mac_under_the_audit_key(session: Session, audit_key: str) -> None:
    reg.import_tables(session, small_tables(), actor="tester")
    events = session.execute(select(reg.AuditEvent)).scalars().all()
    assert events and all(e.mac == event_mac(audit_key.encode(), e.hash) for e in events)
    check = session.execute(select(reg.AuditKey.check_value)).scalar_one()
    assert audit_key not in check and len(check) == 64
    result = reg.verify_audit(session)
    assert result.ok and result.head_seq == len(events) and result.head_hash == events[-1].hash


@pytest.mark.parametrize("mac_key", [None, b"a guessed key"])
def test_forged_appended_event_is_detected(session: Session, mac_key: bytes | None) -> None:
    reg.import_tables(session, small_tables(), actor="tester")
    seq = _forge(session, mac_key)
    result = reg.verify_audit(session)
    assert not result.ok and result.broken_event == seq
    assert ("no MAC" if mac_key is None else "not authenticated by the audit key") in result.message


def test_another_key_is_refused_for_writing_and_verifying(session: Session) -> None:
    reg.import_tables(session, small_tables(), actor="tester")
    n = reg.count_events(session)
    with pytest.raises(RegmedError, match="not the one this registry"):
        AuditWriter(session, "mallory", key=b"another key")
    assert reg.count_events(session) == n
    result = reg.verify_audit(session, b"another key")
    assert not result.ok and "not the one this registry" in result.message


def test_no_key_means_no_verification(session: Session, monkeypatch: pytest.MonkeyPatch,
                                      tmp_path: Path) -> None:
    reg.import_tables(session, small_tables(), actor="tester")
    monkeypatch.delenv("REGMED_AUDIT_KEY")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setattr("regmed.registry.audit_key.default_audit_key_file",
                        lambda url: tmp_path / "none.key")
    result = reg.verify_audit(session)
    assert not result.ok and "without the audit key" in result.message


def test_checkpoint_catches_truncation_rewrite_and_wipe(session: Session, audit_key: str) -> None:
    reg.import_tables(session, small_tables(), actor="tester")
    reg.add_user("eve", "regulator", session=session, actor="ana")
    cp = make_checkpoint(session)
    assert cp["events"] == cp["head_seq"] == reg.count_events(session)
    assert reg.verify_audit(session, checkpoint=cp).ok
    site = session.execute(select(reg.Site).where(reg.Site.site_code == "S02")).scalar_one()
    reg.update_record(site, {"name": "Later"}, session=session, actor="ana", reason="rename")
    assert reg.verify_audit(session, checkpoint=cp).ok  # the chain extends the checkpoint
    _drop_guard(session)
    # tail truncation: the newest events and their records go, the rest is consistent
    nested = session.begin_nested()
    session.execute(text("UPDATE sites SET name = 'Osaka General' WHERE site_code = 'S02'"))
    session.execute(text("DELETE FROM users WHERE username = 'eve'"))
    session.execute(text(f"DELETE FROM audit_events WHERE seq >= {cp['head_seq']}"))
    truncated = reg.verify_audit(session)
    assert truncated.ok, truncated.message  # without the checkpoint this goes unnoticed
    result = reg.verify_audit(session, checkpoint=cp)
    assert not result.ok and "events were removed" in result.message
    nested.rollback()
    # wipe: "0 events" must fail against the checkpoint
    nested = session.begin_nested()
    for table in reversed(list(reg.models.AUDITED_MODELS)):
        session.execute(text(f'DELETE FROM "{table}"'))
    session.execute(text("DELETE FROM audit_keys"))
    session.execute(text("DELETE FROM audit_events"))
    assert reg.verify_audit(session).ok  # an empty registry is consistent in itself
    result = reg.verify_audit(session, checkpoint=cp)
    assert not result.ok and result.events == 0 and "events were removed" in result.message
    nested.rollback()
    # rewrite by someone holding the key: the head event is replaced by a different one
    nested = session.begin_nested()
    session.execute(text("UPDATE sites SET name = 'Osaka General' WHERE site_code = 'S02'"))
    session.execute(text("DELETE FROM users WHERE username = 'eve'"))
    session.execute(text(f"DELETE FROM audit_events WHERE seq >= {cp['head_seq']}"))
    assert _forge(session, audit_key.encode()) == cp["head_seq"]
    assert reg.verify_audit(session).ok
    result = reg.verify_audit(session, checkpoint=cp)
    assert not result.ok and "the trail was rewritten" in result.message
    nested.rollback()


def test_checkpoint_file_is_signed(session: Session, tmp_path: Path, audit_key: str) -> None:
    reg.import_tables(session, small_tables(), actor="tester")
    path = tmp_path / "cp.json"
    body = reg.write_checkpoint(session, path)
    assert read_checkpoint(path, audit_key.encode()) == body
    with pytest.raises(RegmedError, match="exists already"):
        reg.write_checkpoint(session, path)
    with pytest.raises(RegmedError, match="not signed"):
        read_checkpoint(path, b"other key")
    edited = dict(body, events=1, head_seq=1)
    path.write_text(json.dumps(edited), encoding="utf-8")
    with pytest.raises(RegmedError, match="not signed"):
        read_checkpoint(path, audit_key.encode())
    path.write_text("{}", encoding="utf-8")
    with pytest.raises(RegmedError, match="not a regmed audit checkpoint"):
        read_checkpoint(path, audit_key.encode())


def test_truncate_is_refused(session: Session) -> None:
    reg.import_tables(session, small_tables(), actor="tester")
    nested = session.begin_nested()
    sql = "TRUNCATE audit_events" if session.get_bind().dialect.name == "postgresql" else (
        "DELETE FROM audit_events")  # SQLite has no TRUNCATE; its DELETE trigger holds
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text(sql))
    nested.rollback()
    assert reg.verify_audit(session).ok


def test_old_unkeyed_trail_is_sealed_by_the_first_keyed_event(fresh_url: str) -> None:
    engine = reg.make_engine(fresh_url)
    try:
        with engine.begin() as conn:  # an old registry: back to 0005, events without MAC
            command.downgrade(_alembic_config(conn), "0005")
        _legacy_registry(engine)
        reg.upgrade(engine)
        with reg.session_scope(engine) as s:
            result = reg.verify_audit(s)
            assert not result.ok and "not sealed" in result.message
        with reg.session_scope(engine) as s:
            writer = AuditWriter(s, "admin")
            assert writer.seal()
            writer.flush()
        with reg.session_scope(engine) as s:
            result = reg.verify_audit(s)
            assert result.ok and result.unkeyed == 2 and result.head_seq == 3, result.message
            seal = s.execute(select(reg.AuditEvent).where(reg.AuditEvent.seq == 3)).scalar_one()
            assert seal.action == "seal" and json.loads(seal.new_values)["legacy_events"] == 2
            _forge_legacy(s)
            result = reg.verify_audit(s)
            assert not result.ok and "no MAC" in result.message
            s.rollback()
    finally:
        engine.dispose()


def _legacy_registry(engine: object) -> None:
    """Two sites written the pre-0006 way: chained events without MAC, no registered key."""
    with reg.session_scope(engine) as s:  # type: ignore[arg-type]
        prev = "0" * 64
        for i, code in enumerate(("S01", "S02"), start=1):
            s.execute(text("INSERT INTO sites (id, site_code, name, country) "
                           f"VALUES ({i}, '{code}', 'Site {code}', 'JP')"))
            new = canonical_json({"site_code": code, "name": f"Site {code}", "country": "JP"})
            fields = (i, "2025-01-01T00:00:00.000000Z", "old", "sites", i, code, "insert",
                      None, new, None, prev)
            prev = event_hash(*fields)
            cols = ("seq", "occurred_at", "actor", "table_name", "record_id", "record_key",
                    "action", "old_values", "new_values", "reason", "prev_hash", "hash")
            s.execute(text(f"INSERT INTO audit_events ({', '.join(cols)}) VALUES "
                           f"({', '.join(':' + c for c in cols)})"),
                      dict(zip(cols, (*fields, prev), strict=True)))


def _forge_legacy(s: Session) -> None:
    seq, prev = _tail(s)
    fields = (seq + 1, "2099-01-01T00:00:00.000000Z", "x", "sites", 1, "S01", "update",
              None, None, None, prev)
    cols = ("seq", "occurred_at", "actor", "table_name", "record_id", "record_key",
            "action", "old_values", "new_values", "reason", "prev_hash", "hash")
    row = dict(zip(cols, (*fields, event_hash(*fields)), strict=True))
    s.execute(insert(reg.AuditEvent.__table__), [row])


def _document() -> dict[str, object]:
    return {"meta": {"created_at": "2026-12-01T00:00:00Z", "regmed_version": "0.1",
                     "data_hash": "d" * 64, "seed": 1, "exploratory": False},
            "verdicts": [{"endpoint": "ais", "verdict": "MET"}]}


def test_edited_evaluation_is_refused(session: Session) -> None:
    eid = store_evaluation(_document(), session=session, actor="stat", plan_version_id=None)
    assert load_evaluation(session, eid)["verdicts"][0]["verdict"] == "MET"
    stored = session.execute(text(f"SELECT result_json, sha256 FROM evaluations WHERE id = {eid}"))
    text_, seal = stored.one()
    (event,) = reg.audit_log(session, "evaluations", record_id=eid)
    assert event["new_values"]["sha256"] == seal
    forged = text_.replace('"MET"', '"NOT MET"')
    session.execute(text("UPDATE evaluations SET result_json = :j WHERE id = :i"),
                    {"j": forged, "i": eid})
    session.expire_all()
    with pytest.raises(DataError, match=f"evaluation {eid} was changed after it was stored"):
        load_evaluation(session, eid)
    import hashlib

    session.execute(text("UPDATE evaluations SET sha256 = :h WHERE id = :i"),
                    {"h": hashlib.sha256(forged.encode()).hexdigest(), "i": eid})
    session.expire_all()
    with pytest.raises(DataError, match="does not match its audit trail"):
        load_evaluation(session, eid)
