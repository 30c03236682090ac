"""Locking: the hash is of the exact text; a changed plan no longer verifies and is refused."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from regmed.errors import PlanError
from regmed.plan import (
    LockRecord,
    example_path,
    load_plan,
    plan_sha256,
    plan_to_yaml,
    require_locked,
    verify_lock,
)


def test_hash_is_sha256_of_the_exact_bytes(example_text):
    raw = example_path("sci_example").read_bytes()
    expected = hashlib.sha256(raw).hexdigest()
    assert plan_sha256(example_text) == expected
    assert plan_sha256(raw) == expected
    assert plan_sha256(example_path("sci_example")) == expected
    assert plan_sha256(load_plan(example_path("sci_example"))) == expected


def test_plan_built_in_code_hashes_its_canonical_yaml():
    plan = load_plan(example_path("sci_extended"))
    rebuilt = type(plan).model_validate(plan.model_dump())  # built in code: no source text
    assert rebuilt.source_text is None
    assert plan_sha256(rebuilt) == plan_sha256(plan_to_yaml(plan))
    assert plan_sha256(rebuilt) != plan_sha256(plan)


def test_changed_file_no_longer_verifies(example_text, write_plan):
    path = write_plan(example_text)
    locked = plan_sha256(path)
    assert verify_lock(path, locked)
    assert verify_lock(example_text, locked.upper())
    path.write_text(example_text.replace("threshold: 0.15", "threshold: 0.10"), encoding="utf-8")
    assert not verify_lock(path, locked)
    # even a change that does not alter the content (a comment) breaks the lock
    assert not verify_lock(example_text + "# reviewed\n", locked)


def test_require_locked_refuses_unless_exploratory(example_text):
    record = LockRecord(
        sha256=plan_sha256(example_text),
        version=2,
        signer="H. Sato",
        locked_at=dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC),
        reason="agreed with PMDA",
    )
    ok = require_locked(example_text, record, exploratory=False)
    assert ok.state == "LOCKED" and not ok.exploratory
    assert ok.banner.startswith("LOCKED plan version 2 by H. Sato")

    changed = example_text.replace("n_control: 138", "n_control: 120")
    with pytest.raises(PlanError, match="does not match its lock"):
        require_locked(changed, record, exploratory=False)
    status = require_locked(changed, record, exploratory=True)
    assert status.state == "EXPLORATORY" and status.exploratory
    assert status.banner.startswith("EXPLORATORY — the plan has changed since version 2")
    assert status.to_dict()["state"] == "EXPLORATORY"

    with pytest.raises(PlanError, match="not locked"):
        require_locked(example_text, None, exploratory=False)
    unlocked = require_locked(example_text, None, exploratory=True)
    assert unlocked.state == "EXPLORATORY" and "not locked" in unlocked.banner


def test_lock_record_may_be_a_mapping_or_an_object(example_text):
    sha = plan_sha256(example_text)

    class Row:  # e.g. a registry ORM row
        sha256 = sha
        version = 3
        signer = "lead"
        locked_at = None
        reason = None

    assert require_locked(example_text, {"sha256": sha}).state == "LOCKED"
    assert require_locked(example_text, Row()).version == 3
    with pytest.raises(PlanError, match="no sha256"):
        require_locked(example_text, {"version": 1})
