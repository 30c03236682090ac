"""The attack list of issue 16 (``attacks.run_attacks``), one round on SQLite and PostgreSQL:
every rule holds. ``benchmarks/attacks.py`` runs the same list with about 3,000 requests."""

from __future__ import annotations

from typing import Any

from .attacks import run_attacks


def test_every_attack_of_the_list_is_held(app: Any) -> None:
    outcomes = run_attacks(app, rounds=1)
    assert len(outcomes) == 12
    broken = [o.line() for o in outcomes if not o.held]
    assert broken == [], "\n".join(broken)
    assert all(o.requests > 0 for o in outcomes)
    by = {o.attack: o.statuses for o in outcomes}
    assert by["copied cookie after logout"]["401"] == 3
    assert by["password spraying over 12 names"]["429"] > 0
    assert by["lockout of the rightful user"]["200"] == 1
