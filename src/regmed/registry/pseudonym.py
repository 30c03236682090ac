"""Pseudonymization of patient identifiers with a keyed hash (HMAC-SHA256).

A patient is stored under ``HMAC-SHA256(key, "<site_code>:<patient_ref>")`` (hex), never under
the site's own identifier. The key is never written to the database; it comes from, in order:

1. ``REGMED_PSEUDONYM_KEY`` — the key itself (any string; used as UTF-8 bytes);
2. ``REGMED_PSEUDONYM_KEY_FILE`` — a file holding the key;
3. the default key file: for a SQLite registry ``<database file>.key`` next to the database
   (e.g. ``regmed.sqlite.key``), for other databases ``$XDG_CONFIG_HOME/regmed/pseudonym.key``
   (``~/.config/regmed/pseudonym.key``). ``regmed init`` creates it (random 32 bytes, hex,
   mode 0600) when neither variable is set, and says where it is. Keep it out of backups of
   the database and safe: without it, re-imported patients cannot be matched to their records.

The registry stores only a *check value* of the key (an HMAC of a fixed text, in
``settings.pseudonym_key_check``) so that importing with a different key is refused instead of
silently creating duplicate patients.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import pandas as pd

from regmed.errors import RegmedError
from regmed.registry.identifiers import normalize_identifier

__all__ = [
    "KEY_ENV",
    "KEY_FILE_ENV",
    "default_key_file",
    "load_key",
    "ensure_key",
    "pseudonymize",
    "pseudonymize_many",
    "key_check_value",
]

KEY_ENV = "REGMED_PSEUDONYM_KEY"
KEY_FILE_ENV = "REGMED_PSEUDONYM_KEY_FILE"


def default_key_file(url: str) -> Path:
    """Where the key file lives when no variable names one (see the module docstring)."""
    from regmed.registry.db import sqlite_path

    path = sqlite_path(url)
    if path is not None:
        return path.with_name(path.name + ".key")
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "regmed" / "pseudonym.key"


def _read_key_file(path: Path) -> bytes:
    try:
        key = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise RegmedError(
            f"cannot read the pseudonymization key file {str(path)!r}: {exc}"
        ) from exc
    if not key:
        raise RegmedError(f"the pseudonymization key file {str(path)!r} is empty")
    return key.encode("utf-8")


def load_key(url: str | None = None) -> bytes:
    """Return the pseudonymization key (see the module docstring for where it comes from).

    Raises
    ------
    RegmedError
        When no key is configured (run ``regmed init`` or set ``REGMED_PSEUDONYM_KEY``).
    """
    from regmed.registry.db import database_url

    env = os.environ.get(KEY_ENV)
    if env:
        return env.encode("utf-8")
    file = os.environ.get(KEY_FILE_ENV)
    if file:
        return _read_key_file(Path(file))
    path = default_key_file(database_url(url))
    if path.exists():
        return _read_key_file(path)
    raise RegmedError(
        f"no pseudonymization key: set {KEY_ENV} or {KEY_FILE_ENV}, or run `regmed init` "
        f"to create {str(path)!r}"
    )


def ensure_key(url: str | None = None) -> tuple[bytes, str]:
    """Load the key, creating the default key file if no key is configured.

    Returns the key and a sentence saying where it comes from.
    """
    from regmed.registry.db import database_url

    if os.environ.get(KEY_ENV):
        return load_key(url), f"pseudonymization key from ${KEY_ENV}"
    if os.environ.get(KEY_FILE_ENV):
        return load_key(url), f"pseudonymization key from {os.environ[KEY_FILE_ENV]}"
    path = default_key_file(database_url(url))
    if path.exists():
        return _read_key_file(path), f"pseudonymization key in {path}"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    return _read_key_file(path), f"created pseudonymization key file {path} (keep it safe)"


def pseudonymize(key: bytes, site_code: str, patient_ref: str) -> str:
    """The pseudonym of a site's patient: HMAC-SHA256(key, "site_code:patient_ref") in hex.

    Both are normalized first (:func:`regmed.registry.identifiers.normalize_identifier`:
    NFKC; ``patient_ref`` also folded to upper case), so ``Ｐ００１`` and ``p001`` are ``P001``.

    Examples
    --------
    >>> pseudonymize(b"k", "S01", "P001")[:12]
    'bbd467fca9ac'
    """
    site, ref = normalize_identifier(site_code, "site_code"), normalize_identifier(
        patient_ref, "patient_ref")
    msg = f"{site}:{ref}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def pseudonymize_many(key: bytes, site_codes: pd.Series, patient_refs: pd.Series) -> pd.Series:
    """Vectorized :func:`pseudonymize` over aligned Series (None where either is missing)."""
    norm = normalize_identifier
    pairs = [(norm(s, "site_code"), norm(r, "patient_ref"))
             for s, r in zip(site_codes.tolist(), patient_refs.tolist(), strict=True)]
    digest = hmac.digest
    done = {
        p: digest(key, f"{p[0]}:{p[1]}".encode(), "sha256").hex()
        for p in set(pairs)
        if p[0] is not None and p[1] is not None
    }
    return pd.Series([done.get(p) for p in pairs], index=site_codes.index, dtype=object)


def key_check_value(key: bytes) -> str:
    """A value that identifies the key without revealing it (stored in the registry)."""
    return hmac.new(key, b"regmed pseudonym key check v1", hashlib.sha256).hexdigest()
