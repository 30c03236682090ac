"""Signed checkpoints of the audit trail's head, to keep apart from the database.

A checkpoint is a small JSON file::

    {"format": "regmed-audit-checkpoint/1", "events": 1234, "head_seq": 1234,
     "head_hash": "…", "created_at": "2026-12-02T11:00:00.000000Z", "mac": "…"}

``mac`` is HMAC-SHA256 under the audit key of the canonical JSON of the other fields, so a
checkpoint cannot be forged or edited without the key. ``regmed audit verify --checkpoint FILE``
fails when the trail no longer holds the checkpoint's head event unchanged: tail truncation,
a rewrite, or a wiped trail ("0 events") are all caught.
"""

from __future__ import annotations

import hmac
import json
import os
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from regmed.errors import RegmedError
from regmed.registry.audit import canonical_json, utc_now

__all__ = ["CHECKPOINT_FORMAT", "make_checkpoint", "write_checkpoint", "read_checkpoint"]

CHECKPOINT_FORMAT = "regmed-audit-checkpoint/1"
_FIELDS = ("format", "events", "head_seq", "head_hash", "created_at")


def _mac(key: bytes, body: dict[str, Any]) -> str:
    text = canonical_json({k: body[k] for k in _FIELDS})
    return hmac.digest(key, text.encode("utf-8"), "sha256").hex()


def make_checkpoint(session: Session, key: bytes | None = None) -> dict[str, Any]:
    """Verify the trail and return a signed checkpoint of its head.

    Raises
    ------
    RegmedError
        When the trail does not verify (a checkpoint of a broken trail would pin the damage).
    """
    from regmed.registry.audit_key import load_audit_key
    from regmed.registry.audit_verify import verify_audit

    if key is None:
        key = load_audit_key(str(session.get_bind().engine.url))[0]
    result = verify_audit(session, key)
    if not result.ok:
        raise RegmedError(f"no checkpoint written: {result.message}")
    body: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "events": result.events,
        "head_seq": result.head_seq,
        "head_hash": result.head_hash,
        "created_at": utc_now(),
    }
    body["mac"] = _mac(key, body)
    return body


def write_checkpoint(session: Session, out: Path, key: bytes | None = None) -> dict[str, Any]:
    """Write :func:`make_checkpoint` to ``out`` (refused if ``out`` exists); returns it."""
    out = Path(out)
    if out.exists():
        raise RegmedError(f"{str(out)!r} exists already; give a new file for the checkpoint")
    if not out.parent.is_dir():
        raise RegmedError(f"the folder of {str(out)!r} does not exist")
    body = make_checkpoint(session, key)
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(body, fh, indent=2, sort_keys=True)
            fh.write("\n")
    except OSError as exc:
        raise RegmedError(f"cannot write the checkpoint {str(out)!r}: {exc}") from exc
    return body


def read_checkpoint(path: Path, key: bytes) -> dict[str, Any]:
    """Read a checkpoint and check its MAC under the audit key.

    Raises
    ------
    RegmedError
        When the file cannot be read, is not a checkpoint, or was not signed with ``key``.
    """
    path = Path(path)
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RegmedError(f"cannot read the checkpoint {str(path)!r}: {exc}") from exc
    missing = [k for k in (*_FIELDS, "mac") if not isinstance(body, dict) or k not in body]
    if missing or body.get("format") != CHECKPOINT_FORMAT:
        raise RegmedError(
            f"{str(path)!r} is not a regmed audit checkpoint"
            + (f" (missing: {', '.join(missing)})" if missing else "")
        )
    if not isinstance(body["mac"], str) or not hmac.compare_digest(_mac(key, body), body["mac"]):
        raise RegmedError(
            f"the checkpoint {str(path)!r} is not signed by this registry's audit key "
            "(edited, or made with another key)"
        )
    return dict(body)
