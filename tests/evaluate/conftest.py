"""Small seeded demo registries on SQLite for the evaluation tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from regmed import demo, registry
from regmed.registry.plans import lock_plan


@pytest.fixture()
def demo_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """Build a registry from a demo scenario, lock its plan, and return (url, name, data)."""
    monkeypatch.delenv("REGMED_DATABASE_URL", raising=False)
    monkeypatch.setenv("REGMED_PSEUDONYM_KEY", "0" * 64)

    def build(scenario: str = "sci", *, seed: int = 11, lock: bool = True,
              **params: Any) -> tuple[str, str, Any]:
        url = f"sqlite:///{tmp_path / f'{scenario}-{seed}.sqlite'}"
        engine = registry.make_engine(url)
        registry.upgrade(engine)
        data = demo.generate(scenario, seed=seed, **params)
        name = f"plan-{scenario}"
        with registry.session_scope(engine) as session:
            registry.import_tables(session, data.tables, actor="test", reason="test data",
                                   key=registry.load_key(url))
            if lock:
                lock_plan(data.plan_yaml, session=session, name=name, signer="Tester",
                          reason="agreed before outcome data")
        engine.dispose()
        return url, name, data

    return build
