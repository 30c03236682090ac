"""`regmed export` carries the whole history; `regmed import` of it into a new registry keeps it:
the audit trail verifies, plans and their versions, evaluations, users and signatures are there."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from sqlalchemy import select

import regmed.registry as reg
from regmed.plan import example_path
from regmed.registry.extract import store_evaluation
from regmed.registry.models import PlanVersion, User
from regmed.registry.plans import lock_plan
from regmed.registry.services import verify_password
from regmed.registry.web_models import RecordSignature

from .data import small_tables
from .test_audit_keyed import _document
from .test_cli import run
from .test_mistakes import registry_state

PASSWORD = "long enough pass phrase 42"


def _build_source(url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "base"
    folder.mkdir()
    for name, frame in small_tables().items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    assert run(["init"], capsys)[0] == 0
    assert run(["import", str(folder), "--actor", "ana"], capsys)[0] == 0
    from regmed.web.signing import sign_record

    engine = reg.make_engine(url)
    with reg.session_scope(engine) as session:
        reg.add_user("mona", "monitor", session=session, actor="admin", password=PASSWORD,
                     full_name="Mona Monitor")
        text = example_path("sci_example").read_text(encoding="utf-8")
        text = re.sub(r"\n  interim: \{.*\}\n", "\n", text)  # the engine runs no interim look
        lock_plan(text, session=session, name="sci", signer="Stat", reason="agreed")
        lock_plan(text.replace("threshold: 0.15 ", "threshold: 0.2 ", 1), session=session,
                  name="sci", signer="Stat", reason="amended", amend=True)
        store_evaluation(_document(), session=session, actor="stat", plan_version_id=None)
    with reg.session_scope(engine) as session:
        user = session.execute(select(User).where(User.username == "mona")).scalar_one()
        sign_record(session, user, "assessments", 1, PASSWORD, "reviewed", now=time.time())
    engine.dispose()


def _history_of(url: str) -> dict[str, object]:
    engine = reg.make_engine(url)
    with reg.session_scope(engine) as session:
        out = {
            "plans": [(p.name, p.version, p.sha256, p.signer) for p in session.execute(
                select(PlanVersion).order_by(PlanVersion.id)).scalars()],
            "signatures": [(s.table_name, s.record_id, s.username, s.meaning, s.record_sha256)
                           for s in session.execute(select(RecordSignature)).scalars()],
            "users": [(u.username, u.role, u.full_name) for u in session.execute(
                select(User).order_by(User.id)).scalars()],
            "hash": session.execute(select(User.password_hash)).scalar(),
            "log": reg.audit_log(session, "assessments", record_id=1),
        }
    engine.dispose()
    return out


@pytest.fixture
def audit_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """One audit key for the source and the target registry (the way a move is made)."""
    monkeypatch.setenv("REGMED_AUDIT_KEY", "history-test-audit-key-0123456789")
    monkeypatch.delenv("REGMED_AUDIT_KEY_FILE", raising=False)


@pytest.mark.parametrize("hashes", [False, True])
def test_export_import_keeps_the_history(
    fresh_url: str, backend: str, pg_schemas, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], audit_key: None, hashes: bool
) -> None:
    monkeypatch.setenv("REGMED_DATABASE_URL", fresh_url)
    _build_source(fresh_url, tmp_path, capsys)
    out = tmp_path / "export"
    argv = ["export", "--out", str(out)] + (["--with-password-hashes"] if hashes else [])
    code, said, err = run(argv, capsys)
    assert code == 0, err
    assert "wrote the history to" in said and (hashes or "without password hashes" in said)
    assert (out / "history" / "manifest.json").is_file() and (out / "sites.csv").is_file()
    target = (f"sqlite:///{tmp_path / 'moved.sqlite'}" if backend == "sqlite"
              else pg_schemas.new())
    monkeypatch.setenv("REGMED_DATABASE_URL", target)
    assert run(["init"], capsys)[0] == 0
    code, said, err = run(["import", str(out)], capsys)
    assert code == 0, err
    assert "loaded the history" in said and "(verified)" in said
    code, said, err = run(["audit", "verify"], capsys)
    assert code == 0 and "audit trail intact" in said, err
    before, after = _history_of(fresh_url), _history_of(target)
    for part in ("plans", "signatures", "users", "log"):
        assert after[part] == before[part], part
    assert len(after["plans"]) == 2 and len(after["signatures"]) == 1
    state = registry_state(target)
    assert state == {**registry_state(fresh_url), "web_sessions": state["web_sessions"],
                     "login_failures": state["login_failures"]}
    assert state["evaluations"] == 1 and state["plan_versions"] == 2
    if hashes:
        assert after["hash"] == before["hash"] and verify_password(PASSWORD, after["hash"])
    else:  # the digest comes back: no password matches it until an admin sets a new one
        assert str(after["hash"]).startswith("sha256:") and not verify_password(
            PASSWORD, after["hash"])
    # a registry with records is not overwritten: only the tables are imported (unchanged)
    code, said, err = run(["import", str(out)], capsys)
    assert code == 0 and "importing the tables only" in err
    assert registry_state(target) == state
    if backend == "postgresql":
        pg_schemas.drop(target)


def test_a_changed_history_is_refused_and_nothing_written(
    fresh_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], audit_key: None
) -> None:
    monkeypatch.setenv("REGMED_DATABASE_URL", fresh_url)
    _build_source(fresh_url, tmp_path, capsys)
    out = tmp_path / "export"
    assert run(["export", "--out", str(out)], capsys)[0] == 0
    sites = out / "history" / "tables" / "sites.csv"
    sites.write_bytes(sites.read_bytes().replace(b"Sapporo", b"Sapporx"))
    target = f"sqlite:///{tmp_path / 'moved.sqlite'}"
    monkeypatch.setenv("REGMED_DATABASE_URL", target)
    assert run(["init"], capsys)[0] == 0
    before = registry_state(target)
    code, _, err = run(["import", str(out)], capsys)
    assert code == 2
    assert "history not loaded, nothing was written: archive check failed: tables/sites.csv " \
           "was changed" in err and "Traceback" not in err
    assert registry_state(target) == before
    monkeypatch.setenv("REGMED_AUDIT_KEY", "another-key-of-another-registry-xyz")
    code, _, err = run(["import", str(out)], capsys)
    assert code == 2 and "not the one this archive was signed with" in err
