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


#: A sci registry large enough that the Cox model of overall survival converges in every
#: comparison (shared by the contract and the imputation/interim tests).
SMALL_SCI = {"n_treated": 220, "n_concurrent": 440, "n_historical": 100}


@pytest.fixture()
def sci(demo_registry: Callable[..., Any]) -> tuple[str, str, str, Any]:
    """``(url, plan name, plan YAML, StudyData)`` of a small seeded sci registry."""
    from regmed.plan import load_plan
    from regmed.registry.extract import extract

    url, name, data = demo_registry("sci", seed=5, **SMALL_SCI)
    engine = registry.make_engine(url)
    with registry.session_scope(engine) as session:
        study = extract(session, load_plan(data.plan_yaml))
    engine.dispose()
    return url, name, data.plan_yaml, study


@pytest.fixture()
def stored_copy() -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    """``stored_copy(url, doc)``: the document as stored in and loaded back from the registry."""
    from regmed.registry.extract import load_evaluation, store_evaluation

    def round_trip(url: str, doc: dict[str, Any]) -> dict[str, Any]:
        engine = registry.make_engine(url)
        try:
            with registry.session_scope(engine) as session:
                eid = store_evaluation(doc, session=session, actor="test", plan_version_id=None)
            with registry.session_scope(engine) as session:
                return load_evaluation(session, eid)
        finally:
            engine.dispose()

    return round_trip
