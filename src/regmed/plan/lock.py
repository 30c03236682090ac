"""Locking a plan: the hash that ties every analysis to the exact plan that was agreed.

The canonical form is **the exact bytes of the plan file** (UTF-8): the lock hash is the
SHA-256 of what was signed, so any change — a number, a comment, a line ending — breaks
it. A :class:`~regmed.plan.model.Plan` loaded with :func:`~regmed.plan.load_plan` hashes
its source text; a plan built in code hashes its canonical YAML
(:func:`~regmed.plan.plan_to_yaml`), so ``plan_sha256(plan) == plan_sha256(plan_to_yaml(plan))``.

Storage (the registry's ``Plan`` versions, signer, time, audit event) is the registry's
job; this module is the pure part: hash, verify, and the gate analyses pass through.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from regmed.errors import PlanError
from regmed.plan.model import Plan

__all__ = ["plan_sha256", "verify_lock", "require_locked", "LockRecord", "LockStatus"]


def _canonical_bytes(source: str | bytes | Path | Plan) -> bytes:
    if isinstance(source, Plan):
        if source.source_text is not None:
            return source.source_text.encode("utf-8")
        from regmed.plan.load import plan_to_yaml

        return plan_to_yaml(source).encode("utf-8")
    if isinstance(source, bytes):
        return source
    if isinstance(source, Path):
        try:
            return source.read_bytes()
        except OSError as exc:
            raise PlanError(f"Cannot read the plan file {source}: {exc.strerror}") from None
    return source.encode("utf-8")


def plan_sha256(source: str | bytes | Path | Plan) -> str:
    """SHA-256 (hex) of a plan's canonical form: the exact bytes of its text.

    Parameters
    ----------
    source : str, bytes, pathlib.Path or Plan
        The plan text (``str`` is encoded as UTF-8 and is *text*, not a path), its bytes, a
        path to the file, or a loaded plan (its source text; canonical YAML if built in
        code).

    Examples
    --------
    >>> plan_sha256("indication: x\\n")[:12]
    'b1ac63399eb7'
    """
    return hashlib.sha256(_canonical_bytes(source)).hexdigest()


def verify_lock(source: str | bytes | Path | Plan, expected_sha256: str) -> bool:
    """True when the plan's hash equals ``expected_sha256`` (hex, any case)."""
    actual = plan_sha256(source)
    return hmac.compare_digest(actual, expected_sha256.strip().lower())


@dataclass(frozen=True)
class LockRecord:
    """What the registry stores when a plan is locked (or amended).

    Parameters
    ----------
    sha256 : str
        :func:`plan_sha256` of the locked text.
    version : int
        1 for the first lock, +1 for each amendment.
    signer : str
    locked_at : datetime
    reason : str, optional
        Why (required for amendments).
    """

    sha256: str
    version: int = 1
    signer: str | None = None
    locked_at: dt.datetime | None = None
    reason: str | None = None


@dataclass(frozen=True)
class LockStatus:
    """The outcome of :func:`require_locked`, to be printed on every output.

    ``state`` is ``"LOCKED"`` (confirmatory: locked and unchanged) or ``"EXPLORATORY"``
    (unlocked or changed, run only because the user said ``--exploratory``).
    """

    state: Literal["LOCKED", "EXPLORATORY"]
    sha256: str
    version: int | None = None
    signer: str | None = None
    locked_at: dt.datetime | None = None
    reason: str = ""

    @property
    def exploratory(self) -> bool:
        return self.state == "EXPLORATORY"

    @property
    def banner(self) -> str:
        """One line for the top of every output."""
        if self.exploratory:
            return f"EXPLORATORY — {self.reason} (plan sha256 {self.sha256[:12]})"
        who = f" by {self.signer}" if self.signer else ""
        when = f" at {self.locked_at.isoformat()}" if self.locked_at else ""
        return f"LOCKED plan version {self.version}{who}{when} (sha256 {self.sha256[:12]})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "sha256": self.sha256,
            "version": self.version,
            "signer": self.signer,
            "locked_at": self.locked_at.isoformat() if self.locked_at else None,
            "reason": self.reason,
            "banner": self.banner,
        }


def _record_fields(lock: LockRecord | Mapping[str, Any] | Any) -> LockRecord:
    if isinstance(lock, LockRecord):
        return lock
    get = lock.get if isinstance(lock, Mapping) else (lambda k: getattr(lock, k, None))
    sha = get("sha256")
    if not isinstance(sha, str):
        raise PlanError("The lock record has no sha256")
    return LockRecord(
        sha256=sha,
        version=get("version") or 1,
        signer=get("signer"),
        locked_at=get("locked_at"),
        reason=get("reason"),
    )


def require_locked(
    plan_text: str | bytes | Path | Plan,
    lock_record: LockRecord | Mapping[str, Any] | Any | None,
    exploratory: bool = False,
) -> LockStatus:
    """Refuse an unlocked or changed plan unless the run is exploratory.

    Parameters
    ----------
    plan_text : str, bytes, pathlib.Path or Plan
        The plan as the analysis is about to use it.
    lock_record : LockRecord, mapping or object with ``sha256``, or None
        The registry's newest lock of this plan (``None``: never locked).
    exploratory : bool
        The user's ``--exploratory``: run anyway and mark every output EXPLORATORY.

    Returns
    -------
    LockStatus
        ``LOCKED`` when locked and unchanged (also if ``exploratory`` was given: nothing
        needs the label then), else ``EXPLORATORY``.

    Raises
    ------
    PlanError
        Unlocked or changed, and not exploratory.
    """
    actual = plan_sha256(plan_text)
    if lock_record is None:
        if exploratory:
            return LockStatus("EXPLORATORY", actual, reason="the plan is not locked")
        raise PlanError(
            "The evaluation plan is not locked: lock it (regmed plan lock) before analysing "
            "outcome data, or run with --exploratory"
        )
    rec = _record_fields(lock_record)
    if hmac.compare_digest(actual, rec.sha256.strip().lower()):
        return LockStatus("LOCKED", actual, rec.version, rec.signer, rec.locked_at)
    reason = (
        f"the plan has changed since version {rec.version} was locked "
        f"(sha256 {actual[:12]} ≠ locked {rec.sha256[:12]})"
    )
    if exploratory:
        return LockStatus("EXPLORATORY", actual, rec.version, rec.signer, rec.locked_at, reason)
    raise PlanError(
        f"The evaluation plan does not match its lock: {reason}; amend the plan "
        "(regmed plan amend) or run with --exploratory"
    )
