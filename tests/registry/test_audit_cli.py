"""`regmed audit verify` (head, --checkpoint), `regmed audit checkpoint`, `regmed report` seal."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

import regmed.registry as reg
from regmed.registry.extract import store_evaluation

from .test_audit import _drop_guard
from .test_audit_keyed import _document
from .test_cli import folder, regmed_process, run  # noqa: F401  (fixture)


def test_verify_prints_the_head_and_a_checkpoint_catches_truncation(
    fresh_url: str, folder: Path, tmp_path: Path  # noqa: F811
) -> None:
    assert regmed_process(["import", str(folder), "--actor", "site"], fresh_url).returncode == 0
    engine = reg.make_engine(fresh_url)
    try:
        with reg.session_scope(engine) as s:
            reg.add_user("eve", "regulator", session=s, actor="admin")
        with reg.session_scope(engine) as s:
            head = reg.verify_audit(s)
        ok = regmed_process(["audit", "verify"], fresh_url)
        assert ok.returncode == 0, ok.stderr
        assert f"head: event #{head.head_seq} {head.head_hash}" in ok.stdout
        cp = tmp_path / "checkpoint.json"
        made = regmed_process(["audit", "checkpoint", "--out", str(cp)], fresh_url)
        assert made.returncode == 0 and head.head_hash in made.stdout, made.stderr
        again = regmed_process(["audit", "checkpoint", "--out", str(cp)], fresh_url)
        assert again.returncode == 2 and "exists already" in again.stderr
        assert "Traceback" not in again.stderr
        good = regmed_process(["audit", "verify", "--checkpoint", str(cp)], fresh_url)
        assert good.returncode == 0 and "extends the checkpoint" in good.stdout, good.stderr
        with reg.session_scope(engine) as s:  # the newest event and its record disappear
            _drop_guard(s)
            s.execute(text("DELETE FROM users WHERE username = 'eve'"))
            s.execute(text(f"DELETE FROM audit_events WHERE seq = {head.head_seq}"))
        plain = regmed_process(["audit", "verify"], fresh_url)
        assert plain.returncode == 0  # unnoticed without the checkpoint
        bad = regmed_process(["audit", "verify", "--checkpoint", str(cp)], fresh_url)
        assert bad.returncode == 1 and "events were removed" in bad.stderr
        assert f"head: event #{head.head_seq - 1}" in bad.stderr
    finally:
        engine.dispose()


def test_report_refuses_an_evaluation_edited_with_sql(
    fresh_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = reg.make_engine(fresh_url)
    try:
        with reg.session_scope(engine) as s:
            eid = store_evaluation(_document(), session=s, actor="stat", plan_version_id=None)
        with engine.begin() as conn:
            conn.execute(text("UPDATE evaluations SET result_json = "
                              "replace(result_json, '\"MET\"', '\"NOT MET\"')"))
    finally:
        engine.dispose()
    monkeypatch.setenv("REGMED_DATABASE_URL", fresh_url)
    code, out, err = run(["report", str(eid), "--out", str(tmp_path / "r"), "--no-pdf"], capsys)
    assert code != 0 and f"evaluation {eid} was changed after it was stored" in err
    assert "Traceback" not in err and not (tmp_path / "r").exists()


def test_init_seals_a_trail_from_before_the_keyed_audit(fresh_url: str) -> None:
    from alembic import command

    from regmed.registry.db import _alembic_config

    from .test_audit_keyed import _legacy_registry

    engine = reg.make_engine(fresh_url)
    try:
        with engine.begin() as conn:
            command.downgrade(_alembic_config(conn), "0005")
        _legacy_registry(engine)
    finally:
        engine.dispose()
    done = regmed_process(["init"], fresh_url)
    assert done.returncode == 0 and "sealed the audit events" in done.stdout, done.stderr
    ok = regmed_process(["audit", "verify"], fresh_url)
    assert ok.returncode == 0 and "2 events predate the keyed trail" in ok.stdout, ok.stderr
    again = regmed_process(["init"], fresh_url)
    assert again.returncode == 0 and "sealed" not in again.stdout
