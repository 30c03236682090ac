"""`regmed demo` never touches the registry REGMED_DATABASE_URL names (SQLite: the file and its
folder stay byte-identical; PostgreSQL: every table and the audit trail stay row-identical)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select

import regmed.registry as reg
from regmed.app.evaluation import run_demo
from regmed.registry.db import sqlite_path

from .conftest import table_counts
from .data import small_tables


def _state(url: str) -> tuple[dict[str, int], str, list[tuple[str, str]]]:
    engine = reg.make_engine(url)
    try:
        with reg.session_scope(engine) as s:
            check = reg.verify_audit(s)
            assert check.ok, check.message
            sites = [tuple(r) for r in s.execute(
                select(reg.Site.site_code, reg.Site.name).order_by(reg.Site.id)).all()]
            return table_counts(s), check.head, sites  # type: ignore[return-value]
    finally:
        engine.dispose()


def _files(url: str) -> dict[str, str]:
    path = sqlite_path(url)
    if path is None:
        return {}
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.parent.iterdir()) if p.is_file()}


def test_the_demo_leaves_the_configured_registry_untouched(
        fresh_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = reg.make_engine(fresh_url)
    with reg.session_scope(engine) as s:
        reg.import_tables(s, small_tables(), actor="dm", reason="site data")
    engine.dispose()
    counts, head, sites = _state(fresh_url)
    files = _files(fresh_url)
    monkeypatch.setenv("REGMED_DATABASE_URL", fresh_url)  # as the README tells users to
    said: list[str] = []
    out = tmp_path / "demo"
    run_demo(out=out, scenario="sci", seed=5, lang="en", pdf=False,
             params={"n_treated": 40, "n_concurrent": 80, "n_historical": 100},
             say=lambda t: said.append(str(t)))
    assert _files(fresh_url) == files  # SQLite: byte-identical, no file added or removed
    assert _state(fresh_url) == (counts, head, sites)  # row-identical, same audit head
    assert counts["patients"] == 4 and ("S01", "Sapporo Medical") in sites
    assert any(f"demo registry: {out / 'regmed.sqlite'}" in t and "left alone" in t
               for t in said), said
    demo_counts, _, _ = _state(f"sqlite:///{out / 'regmed.sqlite'}")
    assert demo_counts["patients"] == 220
