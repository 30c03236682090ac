"""The audit trail: hash chain, tamper detection, append-only, reasons for changes."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

import regmed.registry as reg
from regmed.errors import DataError
from regmed.registry.audit import canonical_json, canonical_rows, event_hash

from .data import small_tables


def test_event_hash_is_sha256_of_canonical_json() -> None:
    fields = [
        7,
        "2026-01-01T00:00:00.000000Z",
        "ana",
        "sites",
        3,
        "S01",
        "update",
        '{"a":1}',
        '{"a":"é\\"x"}',
        "typo ✓",
        "f" * 64,
    ]
    expected = hashlib.sha256(
        json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()
    assert event_hash(*fields) == expected  # type: ignore[arg-type]
    values = {"b": 1.5, "a": 'Ōsaka "x"', "c": None, "d": True, "e": 2, "f": 1e-300}
    assert canonical_json(values) == json.dumps(
        values, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    cols = list(values)
    assert canonical_rows(cols, [[values[c]] for c in cols]) == [canonical_json(values)]


def test_chain_links_every_event_to_the_one_before(session: Session) -> None:
    reg.import_tables(session, small_tables(), actor="tester")
    events = session.execute(select(reg.AuditEvent).order_by(reg.AuditEvent.seq)).scalars().all()
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].prev_hash == "0" * 64
    for before, after in zip(events, events[1:], strict=False):
        assert after.prev_hash == before.hash
    assert reg.verify_audit(session).ok


def test_row_changed_with_sql_is_named(session: Session) -> None:
    reg.import_tables(session, small_tables(), actor="tester")
    assert reg.verify_audit(session).ok
    session.execute(text("UPDATE assessments SET value_text = 'E' WHERE assessment_ref = 'A2'"))
    result = reg.verify_audit(session)
    assert not result.ok
    assert result.record is not None and result.record.startswith("assessments:A2 ")
    assert "value_text" in result.message and "does not match" in result.message
    assert len(result.problems) == 1


def test_rows_added_or_removed_with_sql_are_named(session: Session) -> None:
    reg.import_tables(session, small_tables(), actor="tester")
    session.execute(text("INSERT INTO sites (site_code, name) VALUES ('S99', 'ghost')"))
    result = reg.verify_audit(session)
    assert not result.ok and "no audit event" in result.message and "sites" in result.message
    session.execute(text("DELETE FROM sites WHERE site_code = 'S99'"))
    session.execute(text("DELETE FROM adjudications"))
    result = reg.verify_audit(session)
    assert not result.ok
    assert result.record is not None and result.record.startswith("adjudications:A0:committee")
    assert "missing" in result.message


def test_audit_events_cannot_be_changed_or_deleted(session: Session) -> None:
    reg.import_tables(session, small_tables(), actor="tester")
    for sql in (
        "UPDATE audit_events SET reason = 'x' WHERE seq = 2",
        "DELETE FROM audit_events WHERE seq = 2",
    ):
        nested = session.begin_nested()
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(text(sql))
        nested.rollback()
    assert reg.verify_audit(session).ok


def _drop_guard(session: Session) -> None:
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("DROP TRIGGER audit_events_no_update"))
        session.execute(text("DROP TRIGGER audit_events_no_delete"))
    else:
        session.execute(text("DROP TRIGGER audit_events_append_only ON audit_events"))


def test_altered_or_removed_event_breaks_the_chain(session: Session) -> None:
    reg.import_tables(session, small_tables(), actor="tester")
    _drop_guard(session)  # someone with DDL rights tampers with the log itself
    session.execute(text("UPDATE audit_events SET reason = 'forged' WHERE seq = 5"))
    result = reg.verify_audit(session)
    assert not result.ok and result.broken_event == 5
    assert "audit event 5 was altered" in result.message
    session.execute(text("UPDATE audit_events SET reason = NULL WHERE seq = 5"))
    assert reg.verify_audit(session).ok
    session.execute(text("DELETE FROM audit_events WHERE seq = 9"))
    result = reg.verify_audit(session)
    assert not result.ok and result.broken_event == 9 and "missing" in result.message


def test_services_need_a_reason_to_change_or_delete(session: Session) -> None:
    reg.import_tables(session, small_tables(), actor="tester")
    site = session.execute(select(reg.Site).where(reg.Site.site_code == "S02")).scalar_one()
    with pytest.raises(DataError, match="needs a reason"):
        reg.update_record(site, {"name": "New"}, session=session, actor="ana", reason=None)
    with pytest.raises(DataError, match="needs a reason"):
        reg.update_record(site, {"name": "New"}, session=session, actor="ana", reason="  ")
    with pytest.raises(DataError, match="needs a reason"):
        reg.delete_record(site, session=session, actor="ana", reason=None)
    n = reg.count_events(session)
    reg.update_record(site, {"name": "New"}, session=session, actor="ana", reason="merger")
    assert reg.count_events(session) == n + 1
    (*_, last) = reg.audit_log(session, "sites", key="S02")
    assert (last["actor"], last["action"], last["reason"]) == ("ana", "update", "merger")
    assert (last["old_values"]["name"], last["new_values"]["name"]) == ("Osaka General", "New")
    user = reg.add_user("eve", "regulator", session=session, actor="ana")
    reg.delete_record(user, session=session, actor="ana", reason="left the agency")
    assert [e["action"] for e in reg.audit_log(session, "users", key="eve")] == ["insert", "delete"]
    assert reg.verify_audit(session).ok


def test_users_roles_sites_and_passwords(session: Session) -> None:
    reg.import_tables(session, small_tables(), actor="tester")
    with pytest.raises(DataError) as err:
        reg.add_user("ian", "investigator", session=session, actor="admin")
    assert "bound to a site" in str(err.value)
    with pytest.raises(DataError, match="unknown role"):
        reg.add_user("x", "boss", session=session, actor="admin")
    with pytest.raises(DataError, match="at least 12 characters"):
        reg.add_user("ian", "investigator", site_code="S01", password="s3cret", session=session,
                     actor="admin")
    reg.add_user(
        "ian", "investigator", site_code="S01", password="s3cret s3cret", session=session,
        actor="admin"
    )
    with pytest.raises(DataError, match="exists already"):
        reg.add_user("ian", "admin", session=session, actor="admin")
    (row,) = [u for u in reg.list_users(session=session) if u["username"] == "ian"]
    assert row == {
        "username": "ian",
        "role": "investigator",
        "site": "S01",
        "active": True,
        "has_password": True,
    }
    user = session.execute(select(reg.User).where(reg.User.username == "ian")).scalar_one()
    assert user.password_hash and "s3cret" not in user.password_hash
    assert reg.verify_password("s3cret s3cret", user.password_hash)
    assert not reg.verify_password("wrong", user.password_hash)
    (event,) = reg.audit_log(session, "users", key="ian")
    assert event["new_values"]["password_hash"].startswith("sha256:")
    assert reg.verify_audit(session).ok


def test_plan_versions_and_evaluations_are_audited_records(session: Session) -> None:
    import datetime as dt

    plan = reg.PlanVersion(
        name="sci-pms", version=1, yaml_text="name: sci-pms\n", sha256="a" * 64, status="draft"
    )
    reg.add_record(plan, session=session, actor="stat")
    locked_at = dt.datetime(2026, 11, 22, 3, 4, 5, 123456, tzinfo=dt.UTC)
    reg.update_record(
        plan,
        {"status": "locked", "locked_at": locked_at, "signer": "stat", "reason": "final"},
        session=session,
        actor="stat",
        reason="plan locked before the first look at outcomes",
    )
    ev = reg.Evaluation(
        plan_version_id=plan.id,
        created_at=locked_at,
        regmed_version="0.1.0",
        data_hash="b" * 64,
        seed=7,
        exploratory=False,
        result_json='{"verdict": "met"}',
    )
    reg.add_record(ev, session=session, actor="stat")
    session.expire_all()
    assert reg.verify_audit(session).ok
    log = reg.audit_log(session, "plan_versions", key="sci-pms:1")
    assert [e["action"] for e in log] == ["insert", "update"]
    assert log[1]["new_values"]["locked_at"] == "2026-11-22T03:04:05.123456"
    session.execute(text('UPDATE evaluations SET result_json = \'{"verdict": "not met"}\''))
    result = reg.verify_audit(session)
    assert not result.ok and "evaluations" in result.message and "result_json" in result.message
