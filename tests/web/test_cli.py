"""`regmed serve --check` on a real registry (the command is registered on a local app)."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import regmed.registry as reg
from regmed.cli import web as cli_web
from regmed.errors import RegmedError


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """root"""

    cli_web.register(app)
    return app


def test_serve_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    monkeypatch.setenv("REGMED_WEB_SECRET_KEY", "cli-secret-0123456789")
    runner = CliRunner()
    r = runner.invoke(_app(), ["serve", "--database", url, "--check"])
    assert isinstance(r.exception, RegmedError) and "regmed init" in str(r.exception)
    reg.upgrade(url)
    r = runner.invoke(_app(), ["serve", "--database", url, "--check"])
    assert r.exit_code == 0 and reg.head_revision() in r.output and "API routes" in r.output
    monkeypatch.setenv("REGMED_WEB_SECRET_KEY", "short")
    r = runner.invoke(_app(), ["serve", "--database", url, "--check"])
    assert isinstance(r.exception, RegmedError) and "secret key" in str(r.exception)


def test_serve_refuses_several_workers_on_sqlite(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    reg.upgrade(url)
    monkeypatch.setenv("REGMED_WEB_SECRET_KEY", "cli-secret-0123456789")
    r = CliRunner().invoke(_app(), ["serve", "--database", url, "--workers", "2"])
    assert isinstance(r.exception, RegmedError) and "--workers 1" in str(r.exception)


def test_serve_check_never_creates_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REGMED_DATABASE_URL", raising=False)
    monkeypatch.setenv("REGMED_WEB_SECRET_KEY", "cli-secret-0123456789")
    r = CliRunner().invoke(_app(), ["serve", "--check"])
    assert isinstance(r.exception, RegmedError) and "regmed init" in str(r.exception)
    assert "regmed.sqlite" in str(r.exception)
    assert list(tmp_path.iterdir()) == []  # no regmed.sqlite appeared
    r = CliRunner().invoke(_app(), ["serve", "--check", "--database",
                                    f"sqlite:///{tmp_path / 'other.sqlite'}"])
    assert r.exit_code != 0 and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("key", ["", "short"])
def test_serve_explains_a_missing_secret_key(monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    monkeypatch.setenv("REGMED_WEB_SECRET_KEY", key)
    r = CliRunner().invoke(_app(), ["serve", "--check"])
    assert r.exit_code != 0 and isinstance(r.exception, RegmedError)
    text = str(r.exception)
    assert text.startswith("REGMED_WEB_SECRET_KEY is ")
    assert "export REGMED_WEB_SECRET_KEY=" in text and text.count(". ") == 0  # one sentence
