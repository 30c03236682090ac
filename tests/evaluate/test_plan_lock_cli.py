"""`regmed plan lock|amend|history` on a real registry: versions, signer, hash, audit."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from regmed import registry
from regmed.cli import app
from regmed.plan import example_path, plan_sha256
from regmed.registry.plans import get_plan_version, plan_history

PASSWORD = "plan signing passphrase"


@pytest.fixture()
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    monkeypatch.setenv("REGMED_DATABASE_URL", url)
    registry.upgrade(url)
    with registry.session_scope(registry.make_engine(url)) as session:
        for name, full, role in (("dra", "Dr A", "statistician"), ("drb", "Dr B", "admin"),
                                 ("pmda", "R. Eviewer", "regulator")):
            registry.add_user(name, role, session=session, actor="test", password=PASSWORD,
                              full_name=full)
    monkeypatch.setenv("REGMED_PASSWORD", PASSWORD)
    return url


def _runnable_example() -> str:
    """The example plan as shipped: lockable, its interim design included."""
    return example_path("sci_example").read_text(encoding="utf-8")


def test_lock_refuses_what_the_engine_does_not_run(url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    plan = tmp_path / "sci.yaml"
    # rpact's classical O'Brien-Fleming boundaries (typeOfDesign "OF") are not run (asOF is)
    plan.write_text(_runnable_example().replace("spending: asOF", "spending: OF"),
                    encoding="utf-8")
    r = runner.invoke(app, ["plan", "lock", str(plan), "--user", "dra", "--reason", "agreed"])
    assert r.exit_code != 0
    assert "sample_size.interim.spending" in str([str(p) for p in r.exception.problems])
    with registry.session_scope(registry.make_engine(url)) as session:
        assert plan_history(session, "sci") == []


def test_lock_amend_history(url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    plan = tmp_path / "sci.yaml"
    text = _runnable_example()
    plan.write_text(text, encoding="utf-8")
    r = runner.invoke(app, ["plan", "lock", str(plan), "--user", "dra", "--reason", "agreed"])
    assert r.exit_code == 0, r.output
    assert plan_sha256(text) in r.output
    # locking the same name again is refused: it must be an amendment
    r = runner.invoke(app, ["plan", "lock", str(plan), "--user", "dra", "--reason", "again"])
    assert r.exit_code != 0 and "amendment" in str(r.exception)
    # an identical amendment is refused; a changed one becomes version 2
    r = runner.invoke(app, ["plan", "amend", str(plan), "--user", "drb", "--reason", "same"])
    assert r.exit_code != 0 and "identical" in str(r.exception)
    plan.write_text(text.replace("threshold: 0.15", "threshold: 0.12"), encoding="utf-8")
    r = runner.invoke(app, ["plan", "amend", str(plan), "--user", "drb",
                            "--reason", "criterion agreed with PMDA"])
    assert r.exit_code == 0, r.output
    with registry.session_scope(registry.make_engine(url)) as session:
        history = plan_history(session, "sci")
        assert [h["version"] for h in history] == [1, 2]
        assert [h["signer"] for h in history] == ["Dr A", "Dr B"]
        assert history[1]["reason"] == "criterion agreed with PMDA"
        assert get_plan_version(session, "sci").version == 2
        assert get_plan_version(session, "sci", 1).sha256 == plan_sha256(text)
        check = registry.verify_audit(session)
        assert check.ok
    r = runner.invoke(app, ["plan", "history", "sci"])
    assert r.exit_code == 0 and "Dr B" in r.output
    with registry.session_scope(registry.make_engine(url)) as session:
        actors = [e["actor"] for e in registry.audit_log(session, "plan_versions")]
        assert actors == ["dra", "drb"]  # the authenticated users, not free text


def test_lock_needs_an_authenticated_user(url: str, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    plan = tmp_path / "sci.yaml"
    plan.write_text(_runnable_example(), encoding="utf-8")
    for user, password, message in (("dra", "wrong password", "authentication failed"),
                                    ("nobody", PASSWORD, "authentication failed"),
                                    ("Dr A", PASSWORD, "authentication failed"),
                                    ("pmda", PASSWORD, "a regulator cannot")):
        monkeypatch.setenv("REGMED_PASSWORD", password)
        r = runner.invoke(app, ["plan", "lock", str(plan), "--user", user, "--reason", "x"])
        assert r.exit_code != 0 and message in str(r.exception), (user, r.output)
    monkeypatch.delenv("REGMED_PASSWORD")
    r = runner.invoke(app, ["plan", "lock", str(plan), "--user", "dra", "--reason", "agreed"],
                      input=PASSWORD + "\n")
    assert r.exit_code == 0, r.output
    assert "password of dra" in r.output and "signed by Dr A" in r.output
    with registry.session_scope(registry.make_engine(url)) as session:
        assert [h["signer"] for h in plan_history(session, "sci")] == ["Dr A"]


def test_lock_refuses_an_invalid_plan_and_writes_nothing(url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    bad = tmp_path / "bad.yaml"
    bad.write_text("product: {name: x}\nunknown_key: 1\n", encoding="utf-8")
    r = runner.invoke(app, ["plan", "lock", str(bad), "--user", "dra", "--reason", "r"])
    assert r.exit_code != 0
    assert "unknown_key" in str(r.exception)
    with registry.session_scope(registry.make_engine(url)) as session:
        assert plan_history(session, "bad") == []
