"""The audit key: authenticates every audit event (HMAC-SHA256); never stored in the database.

Someone who can write the database but does not hold the key can append a correctly
SHA-256-chained event, but not its MAC, so :func:`~regmed.registry.audit.verify_audit` names it.
The key comes from, in order:

1. ``REGMED_AUDIT_KEY`` — the key itself (any string; used as UTF-8 bytes);
2. ``REGMED_AUDIT_KEY_FILE`` — a file holding the key;
3. the default key file: for a SQLite registry ``<database file>.audit.key`` next to the
   database (``regmed.sqlite.audit.key``), for other databases
   ``$XDG_CONFIG_HOME/regmed/audit.key``. It is created (random 32 bytes, hex, mode 0600) by
   ``regmed init`` or the first audited write when no key is configured and the registry has
   none registered yet.

The registry keeps only a *check value* of the key (``audit_keys.check_value``, an HMAC of a
fixed text), so that writing or verifying with a different key is refused. Keep the key where
the people who can edit the database cannot read it (``REGMED_AUDIT_KEY_FILE`` on a path only
the regmed service account reads), and keep a copy apart from the backups: without it the trail
can no longer be authenticated (see ``docs/archive.md``).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from regmed.errors import RegmedError
from regmed.registry.models import AuditKey

__all__ = [
    "AUDIT_KEY_ENV",
    "AUDIT_KEY_FILE_ENV",
    "default_audit_key_file",
    "load_audit_key",
    "audit_key_check",
    "event_mac",
    "registered_check",
    "register_audit_key",
]

AUDIT_KEY_ENV = "REGMED_AUDIT_KEY"
AUDIT_KEY_FILE_ENV = "REGMED_AUDIT_KEY_FILE"


def default_audit_key_file(url: str) -> Path:
    """Where the audit key file lives when no variable names one (see the module docstring)."""
    from regmed.registry.db import sqlite_path

    path = sqlite_path(url)
    if path is not None:
        return path.with_name(path.name + ".audit.key")
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "regmed" / "audit.key"


def _read(path: Path) -> bytes:
    try:
        key = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise RegmedError(f"cannot read the audit key file {str(path)!r}: {exc}") from exc
    if not key:
        raise RegmedError(f"the audit key file {str(path)!r} is empty")
    return key.encode("utf-8")


def load_audit_key(url: str | None = None, *, create: bool = False) -> tuple[bytes, str]:
    """The audit key and a sentence saying where it comes from.

    With ``create=True`` the default key file is made when no key is configured.

    Raises
    ------
    RegmedError
        When no key is configured and ``create`` is false.
    """
    from regmed.registry.db import database_url

    env = os.environ.get(AUDIT_KEY_ENV)
    if env:
        return env.encode("utf-8"), f"audit key from ${AUDIT_KEY_ENV}"
    file = os.environ.get(AUDIT_KEY_FILE_ENV)
    if file:
        return _read(Path(file)), f"audit key from {file}"
    path = default_audit_key_file(database_url(url))
    if path.exists():
        return _read(path), f"audit key in {path}"
    if not create:
        raise RegmedError(
            f"no audit key: set {AUDIT_KEY_ENV} or {AUDIT_KEY_FILE_ENV}, or put the key in "
            f"{str(path)!r}"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise RegmedError(f"cannot create the audit key file {str(path)!r}: {exc}") from exc
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    return _read(path), f"created audit key file {path} (keep it safe and apart from backups)"


def audit_key_check(key: bytes) -> str:
    """A value that identifies the audit key without revealing it."""
    return hmac.new(key, b"regmed audit key check v1", hashlib.sha256).hexdigest()


def event_mac(key: bytes, event_hash: str) -> str:
    """HMAC-SHA256 (hex) of an event's hash under the audit key."""
    return hmac.digest(key, event_hash.encode("ascii"), "sha256").hex()


def registered_check(session: Session) -> str | None:
    """The check value of the audit key registered with this registry (None before the first)."""
    return session.execute(
        select(AuditKey.check_value).order_by(AuditKey.id.desc()).limit(1)
    ).scalar()


def register_audit_key(session: Session, key: bytes, next_seq: int, now: str) -> None:
    """Refuse a key other than the registered one; register ``key`` if none is.

    Raises
    ------
    RegmedError
        When the registry's events are authenticated by another key.
    """
    check = audit_key_check(key)
    stored = registered_check(session)
    if stored is None:
        session.connection().execute(
            insert(AuditKey), [{"check_value": check, "first_seq": next_seq, "created_at": now}]
        )
    elif stored != check:
        raise RegmedError(
            "the audit key is not the one this registry's audit trail is authenticated with "
            f"(check ${AUDIT_KEY_ENV} / ${AUDIT_KEY_FILE_ENV}); nothing was written"
        )
