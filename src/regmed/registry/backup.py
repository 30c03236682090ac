"""Consistent online backups of the registry, checked before they are kept or restored.

SQLite: :meth:`sqlite3.Connection.backup` copies the database page by page under SQLite's own
locking, so the copy is one consistent state even while ``regmed serve`` or an import writes
(a file copy of ``regmed.sqlite`` without its WAL loses the newest commits). PostgreSQL:
``pg_dump`` (one snapshot) in its custom format, when it is on ``PATH``.

Every backup is verified before it is kept: SQLite's ``integrity_check`` and
:func:`~regmed.registry.audit_verify.verify_audit` on the copy (with the registry's audit key);
for PostgreSQL the dump is restored into a scratch database and verified there when the role may
create databases, otherwise its table of contents is checked. :func:`restore` checks a copy the
same way *before* replacing anything, and refuses it otherwise. The keys are never in a backup:
keep the audit and pseudonymization key files apart from it (``docs/archive.md``).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import text
from sqlalchemy.engine import make_url

from regmed.errors import RegmedError
from regmed.registry.audit_key import load_audit_key
from regmed.registry.audit_verify import AuditVerification, verify_audit
from regmed.registry.db import current_revision, make_engine, session_scope, sqlite_path

__all__ = ["BackupResult", "backup", "restore", "check_sqlite_copy"]


@dataclass(frozen=True)
class BackupResult:
    """What a backup or restore did: the file, the audit check of the copy, and a sentence."""

    path: Path
    verification: AuditVerification | None
    message: str


def _fresh_out(out: Path) -> Path:
    out = Path(out)
    if out.exists():
        raise RegmedError(f"{str(out)!r} exists already; give a new file for the backup")
    if not out.parent.is_dir():
        raise RegmedError(f"the folder of {str(out)!r} does not exist")
    if not os.access(out.parent, os.W_OK):
        raise RegmedError(f"cannot write into the folder of {str(out)!r}")
    return out


def check_sqlite_copy(path: Path, key: bytes) -> AuditVerification:
    """``integrity_check`` and a full audit verification of a SQLite file (no changes made).

    Raises
    ------
    RegmedError
        When the file is not a sound regmed registry or its audit trail does not verify.
    """
    path = Path(path)
    if not path.is_file():
        raise RegmedError(f"no backup file {str(path)!r}")
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = con.execute("PRAGMA integrity_check").fetchall()
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise RegmedError(f"{str(path)!r} is not a SQLite database: {exc}") from exc
    if rows != [("ok",)]:
        raise RegmedError(f"{str(path)!r} fails SQLite's integrity check: {rows[0][0]}")
    engine = make_engine(f"sqlite:///{path}")
    try:
        if current_revision(engine) is None:
            raise RegmedError(f"{str(path)!r} is not a regmed registry (no schema revision)")
        with session_scope(engine) as session:
            result = verify_audit(session, key)
    finally:
        engine.dispose()
    if not result.ok:
        raise RegmedError(f"the copy {str(path)!r} does not verify: {result.message}")
    return result


def _sqlite_copy(src: Path, dst: Path) -> None:
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True, timeout=60)
    target = sqlite3.connect(dst)
    try:
        source.backup(target)  # one consistent snapshot, even with writers in WAL mode
        target.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
    finally:
        target.close()
        source.close()


def backup(url: str, out: Path, *, key: bytes | None = None) -> BackupResult:
    """Take a consistent online copy of the registry at ``url`` into ``out`` and verify it.

    Parameters
    ----------
    url : str
        The registry.
    out : Path
        A new file (SQLite: a SQLite database; PostgreSQL: a ``pg_dump`` custom-format file).
    key : bytes, optional
        The audit key (default: the registry's, :func:`~regmed.registry.audit_key.load_audit_key`).

    Raises
    ------
    RegmedError
        When ``out`` exists or cannot be written, ``pg_dump`` is missing, or the copy does not
        verify (then nothing is left behind).
    """
    out = _fresh_out(out)
    key = key if key is not None else load_audit_key(url)[0]
    path = sqlite_path(url)
    if path is not None:
        if not path.is_file():
            raise RegmedError(f"no registry at {str(path)!r}")
        partial = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.partial")
        try:
            _sqlite_copy(path, partial)
            result = check_sqlite_copy(partial, key)
            os.replace(partial, out)
        finally:
            partial.unlink(missing_ok=True)
        return BackupResult(out, result, f"backup {out}: {result.events} events, head event "
                            f"{result.head}; verified")
    if make_url(url).get_backend_name() != "postgresql":
        raise RegmedError(f"backups of {make_url(url).get_backend_name()} are not supported")
    return _pg_backup(url, out, key)


def _libpq(url: str) -> tuple[str, str | None]:
    """A libpq connection string for ``pg_dump``/``pg_restore`` and the schema in search_path."""
    u = make_url(url)
    plain = u.set(drivername="postgresql").render_as_string(hide_password=False)
    options = " ".join(parse_qs(urlsplit(plain).query).get("options", []))
    schema = None
    for part in options.split():
        if part.startswith("-csearch_path="):
            schema = part.split("=", 1)[1].split(",")[0]
    return plain, schema


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise RegmedError(
            f"{name} is not on PATH: install the PostgreSQL client tools (e.g. `apt-get install "
            f"postgresql-client`) matching the server's version, then run this again"
        )
    return found


def _run(args: list[str], what: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise RegmedError(f"{what} failed: {done.stderr.strip().splitlines()[-1:]}")
    return done.stdout


def _pg_scratch_verify(url: str, dump: Path, key: bytes) -> AuditVerification | None:
    """Restore ``dump`` into a scratch database and verify it; None if no database can be made."""
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    name = f"regmed_check_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception:
        admin.dispose()
        return None
    scratch = make_url(url).set(database=name).render_as_string(hide_password=False)
    try:
        _run([_tool("pg_restore"), "--no-owner", "-d", _libpq(scratch)[0].split("?")[0],
              str(dump)], "pg_restore into a scratch database")
        engine = make_engine(scratch)
        try:
            with session_scope(engine) as session:
                return verify_audit(session, key)
        finally:
            engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _pg_check(url: str, dump: Path, key: bytes) -> tuple[AuditVerification | None, str]:
    toc = _run([_tool("pg_restore"), "--list", str(dump)], f"reading {dump}")
    if "TABLE DATA" not in toc or "audit_events" not in toc:
        raise RegmedError(f"{str(dump)!r} is not a dump of a regmed registry")
    result = _pg_scratch_verify(url, dump, key)
    if result is None:
        return None, "table of contents checked (no database could be made for a full check)"
    if not result.ok:
        raise RegmedError(f"the dump {str(dump)!r} does not verify: {result.message}")
    return result, f"{result.events} events, head event {result.head}; verified"


def _pg_backup(url: str, out: Path, key: bytes) -> BackupResult:
    conn, schema = _libpq(url)
    args = [_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={out}"]
    if schema:
        args.append(f"--schema={schema}")
    _run([*args, conn.split("?")[0]], "pg_dump")
    try:
        result, said = _pg_check(url, out, key)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return BackupResult(out, result, f"backup {out}: {said}")


def restore(file: Path, url: str, *, key: bytes | None = None) -> BackupResult:
    """Replace the registry at ``url`` by the backup ``file``, after checking the backup.

    The backup must pass SQLite's ``integrity_check`` (PostgreSQL: a readable dump restored and
    verified in a scratch database) and :func:`verify_audit` under the registry's audit key;
    otherwise nothing is changed. A SQLite registry being replaced is first copied to
    ``<db>.before-restore-<id>.sqlite``.

    Raises
    ------
    RegmedError
        When the backup does not check out, or the tools are missing.
    """
    file = Path(file)
    key = key if key is not None else load_audit_key(url)[0]
    path = sqlite_path(url)
    if path is not None:
        checked = check_sqlite_copy(file, key)
        kept = ""
        if path.exists():
            before = path.with_name(f"{path.name}.before-restore-{uuid.uuid4().hex[:8]}.sqlite")
            _sqlite_copy(path, before)
            kept = f"; the replaced registry is kept as {before}"
        source = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
        target = sqlite3.connect(path, timeout=60)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        return BackupResult(path, checked, f"restored {file} into {path}: {checked.events} "
                            f"events, head event {checked.head}{kept}")
    if not file.is_file():
        raise RegmedError(f"no backup file {str(file)!r}")
    result, said = _pg_check(url, file, key)
    conn, _ = _libpq(url)
    _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
          "-d", conn.split("?")[0], str(file)], "pg_restore")
    return BackupResult(file, result, f"restored {file}: {said}")
