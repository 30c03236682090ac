"""A self-describing long-term archive of the registry, verifiable without the database.

``archive(session, out)`` writes, from one consistent read of the registry::

    OUT/README.txt            what this is and how to check it
    OUT/manifest.json         SHA-256 and row count of every file, the audit chain's head, MAC
    OUT/columns.json          the column dictionary of every table (type, null, keys, meaning)
    OUT/dictionary.yaml       regmed's import dictionary (the meaning of each import column)
    OUT/tables/<table>.csv    every table, the audit trail, plans and versions, evaluations,
                              users and signatures included (UTF-8, RFC 4180)
    OUT/evaluations/<id>.json every stored evaluation document, exactly as sealed
    OUT/reports/<id>/...      rendered reports, when the caller gives a renderer (HTML; PDF where
                              Chromium is present)

CSV cells: NULL is written ``\\N``; a text starting with a backslash gets one more in front
(so ``\\N`` as text is ``\\\\N``). Users' ``password_hash`` is archived in the audited form
(``sha256:`` of the scrypt hash, as in the audit trail): no password hash leaves the registry,
yet every user row still matches its audit events. The manifest's ``mac`` is HMAC-SHA256 under
the audit key of the manifest without it, so the archive cannot be re-made consistently by
someone without the key. :func:`verify_archive` re-checks every file's SHA-256, files not in the
manifest, the audit chain from ``tables/audit_events.csv`` (seq, links, SHA-256 of every event,
each event's MAC) against the manifest's head, and the manifest's MAC.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import regmed
from regmed.errors import RegmedError
from regmed.registry.audit import DIGESTED, GENESIS_HASH, _payload, audit_values, utc_now
from regmed.registry.audit_key import audit_key_check, event_mac
from regmed.registry.audit_verify import verify_audit
from regmed.registry.dictionary import DICTIONARY_FILE, load_dictionary
from regmed.registry.models import Base, Evaluation

__all__ = ["ARCHIVE_FORMAT", "ArchiveCheck", "archive", "verify_archive", "decode_cell"]

ARCHIVE_FORMAT = "regmed-archive/1"
NULL = "\\N"
_README = """regmed registry archive ({format})

Written {created} by regmed {version} from a registry at schema revision {revision}.
The audit trail holds {events} events; its head is event #{head_seq} {head_hash}.

* tables/<table>.csv: every table (UTF-8 CSV, header row). A cell \\N is NULL; a text that
  starts with a backslash has one more in front. columns.json describes every column.
* evaluations/<id>.json: the stored evaluation documents, byte for byte as sealed
  (evaluations.sha256 is their SHA-256).
* manifest.json: the SHA-256 of every file, the audit head, and an HMAC-SHA256 under the
  registry's audit key (kept apart from this archive).

Check it without the database: `regmed archive verify <this folder>` with REGMED_AUDIT_KEY or
REGMED_AUDIT_KEY_FILE set to the registry's audit key. Without regmed: recompute the SHA-256 of
each file (sha256sum) and compare with manifest.json; each audit event's hash is the SHA-256 of
the UTF-8 JSON array [seq, occurred_at, actor, table_name, record_id, record_key, action,
old_values, new_values, reason, prev_hash] (no spaces, non-ASCII as is), and its mac is
HMAC-SHA256(key, hash).
"""


def _cell(value: Any) -> str:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return float.__repr__(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    return "\\" + text if text.startswith("\\") else text


def decode_cell(text: str) -> str | None:
    """The stored text of an archived CSV cell (None for NULL)."""
    if text == NULL:
        return None
    return text[1:] if text.startswith("\\\\") else text


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _columns() -> dict[str, Any]:
    d = load_dictionary()
    out: dict[str, Any] = {"null": NULL, "tables": {}}
    for name, table in sorted(Base.metadata.tables.items()):
        spec = d.tables.get(name)
        meaning = {n: c.description for n, c in spec.columns.items()} if spec is not None else {}
        out["tables"][name] = [
            {"name": c.name, "type": str(c.type), "nullable": bool(c.nullable),
             "primary_key": bool(c.primary_key),
             "references": sorted(f"{fk.column.table.name}.{fk.column.name}"
                                  for fk in c.foreign_keys),
             "audited_as": "sha256 digest" if (name, c.name) in DIGESTED else None,
             "description": meaning.get(c.name, "")}
            for c in table.columns
        ]
    return out


def _write_table(session: Session, name: str, path: Path, secrets: bool = False) -> int:
    table = Base.metadata.tables[name]
    names = list(table.c.keys())
    digested = [] if secrets else [j for j, c in enumerate(names) if (name, c) in DIGESTED]
    order = list(table.primary_key.columns) or [table.c[names[0]]]
    result = session.execute(select(table).order_by(*order), execution_options={"yield_per": 20000})
    n = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\r\n")
        out.writerow(names)
        for row in result:
            values = list(row)
            for j in digested:
                values[j] = audit_values(name, {names[j]: values[j]})[names[j]]
            out.writerow([_cell(v) for v in values])
            n += 1
    return n


Renderer = Callable[[dict[str, Any], Path], list[Path]]


def archive(
    session: Session, out: Path, key: bytes, *, render: Renderer | None = None,
    password_hashes: bool = False,
) -> dict[str, Any]:
    """Write the archive of the registry into the new or empty folder ``out``; returns the manifest.

    Parameters
    ----------
    session : Session
        The registry, read in one transaction (one consistent state).
    out : Path
        A folder that does not exist yet or is empty.
    key : bytes
        The registry's audit key (verifies the trail first, signs the manifest).
    render : callable, optional
        ``render(document, folder)`` writes a stored evaluation's report files into ``folder``.
    password_hashes : bool
        Write users' scrypt password hashes as they are (for moving a registry whose users
        keep their passwords; an administrator's choice) instead of their audited digest.

    Raises
    ------
    RegmedError
        When ``out`` is not new/empty, or the audit trail does not verify (an archive must not
        pin a damaged trail).
    """
    from regmed.registry.db import current_revision

    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise RegmedError(f"{str(out)!r} is not an empty folder; give a new folder for the archive")
    if not out.parent.is_dir():
        raise RegmedError(f"the folder of {str(out)!r} does not exist")
    check = verify_audit(session, key)
    if not check.ok:
        raise RegmedError(f"no archive written: {check.message}")
    (out / "tables").mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {}
    for name in sorted(Base.metadata.tables):
        rows[f"tables/{name}.csv"] = _write_table(session, name, out / "tables" / f"{name}.csv",
                                                  password_hashes)
    (out / "columns.json").write_text(json.dumps(_columns(), indent=1), encoding="utf-8")
    (out / "dictionary.yaml").write_bytes(DICTIONARY_FILE.read_bytes())
    evaluations = session.execute(select(Evaluation).order_by(Evaluation.id)).scalars()
    for ev in evaluations:
        folder = out / "evaluations"
        folder.mkdir(exist_ok=True)
        (folder / f"{ev.id}.json").write_text(ev.result_json, encoding="utf-8")
        if render is not None:
            document = dict(json.loads(ev.result_json))
            document.setdefault("meta", {})["evaluation_id"] = int(ev.id)
            render(document, out / "reports" / str(ev.id))
    created = utc_now()
    revision = current_revision(session.get_bind().engine)  # type: ignore[union-attr]
    (out / "README.txt").write_text(_README.format(
        format=ARCHIVE_FORMAT, created=created, version=regmed.__version__, revision=revision,
        events=check.events, head_seq=check.head_seq, head_hash=check.head_hash),
        encoding="utf-8")
    files = {p.relative_to(out).as_posix(): _sha256(p)
             for p in sorted(out.rglob("*")) if p.is_file()}
    manifest: dict[str, Any] = {
        "format": ARCHIVE_FORMAT, "created_at": created, "regmed_version": regmed.__version__,
        "schema_revision": revision,
        "audit": {"events": check.events, "head_seq": check.head_seq,
                  "head_hash": check.head_hash, "key_check": audit_key_check(key)},
        "rows": rows, "files": files, "password_hashes": password_hashes,
    }
    manifest["mac"] = _manifest_mac(key, manifest)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n",
                                       encoding="utf-8")
    return manifest


def _manifest_mac(key: bytes, manifest: dict[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != "mac"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.digest(key, text.encode("utf-8"), "sha256").hex()


@dataclass(frozen=True)
class ArchiveCheck:
    """Outcome of :func:`verify_archive`: ok, what was checked, and every problem found."""

    ok: bool
    message: str
    files: int = 0
    events: int = 0
    authenticated: bool = False
    problems: tuple[str, ...] = field(default=())


def _events(path: Path) -> Iterator[list[Any]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        idx = [header.index(c) for c in ("seq", "occurred_at", "actor", "table_name",
                                         "record_id", "record_key", "action", "old_values",
                                         "new_values", "reason", "prev_hash", "hash", "mac")]
        for row in reader:
            cells: list[Any] = [decode_cell(row[i]) for i in idx]
            cells[0], cells[4] = int(cells[0] or 0), int(cells[4] or 0)
            yield cells


def _chain_problems(path: Path, key: bytes | None, head: dict[str, Any]) -> tuple[int, list[str]]:
    prev, n, keyed = GENESIS_HASH, 0, False
    sha = hashlib.sha256
    for ev in _events(path):
        n += 1
        seq = ev[0]
        if seq != n:
            return n, [f"audit event {n} is missing from the archive (next is {seq})"]
        if ev[10] != prev:
            return n, [f"audit event {seq} does not link to the event before it"]
        if sha(_payload(*ev[:11]).encode("utf-8")).hexdigest() != ev[11]:
            return n, [f"audit event {seq} was altered (its hash does not match its contents)"]
        if ev[12] is None:
            if keyed:
                return n, [f"audit event {seq} has no MAC although it follows keyed events"]
        else:
            keyed = True
            if key is not None and not hmac.compare_digest(event_mac(key, ev[11]), ev[12]):
                return n, [f"audit event {seq} is not authenticated by the audit key"]
        prev = str(ev[11])
    if n != head.get("events") or prev != head.get("head_hash"):
        return n, [f"the archived audit trail ends at event #{n} {prev}, but the manifest "
                   f"names #{head.get('head_seq')} {head.get('head_hash')}"]
    return n, []


def verify_archive(folder: Path, key: bytes | None = None) -> ArchiveCheck:
    """Re-check an archive without the database (see the module docstring).

    Without ``key`` the SHA-256 sums and the hash chain are checked but nothing is
    authenticated (someone could have re-made a consistent archive); the result says so.
    """
    folder = Path(folder)
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RegmedError(f"{str(folder)!r} holds no readable manifest.json: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != ARCHIVE_FORMAT:
        raise RegmedError(f"{str(folder)!r} is not a regmed archive ({ARCHIVE_FORMAT})")
    problems: list[str] = []
    if key is not None:
        if manifest.get("audit", {}).get("key_check") != audit_key_check(key):
            problems.append("the audit key given is not the one this archive was signed with")
        elif not hmac.compare_digest(_manifest_mac(key, manifest), str(manifest.get("mac"))):
            problems.append("manifest.json was changed (its MAC does not match)")
    listed: dict[str, str] = manifest.get("files", {})
    for rel, digest in sorted(listed.items()):
        path = folder / rel
        if not path.is_file():
            problems.append(f"{rel} is missing")
        elif _sha256(path) != digest:
            problems.append(f"{rel} was changed (its SHA-256 does not match the manifest)")
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_file() and rel != "manifest.json" and rel not in listed:
            problems.append(f"{rel} is not in the manifest")
    events = 0
    trail = folder / "tables" / "audit_events.csv"
    if trail.is_file():
        events, chain = _chain_problems(trail, key, manifest.get("audit", {}))
        problems += chain
    if problems:
        return ArchiveCheck(False, f"archive check failed: {problems[0]}", len(listed), events,
                            key is not None, tuple(problems))
    said = "authenticated by the audit key" if key is not None else (
        "NOT authenticated (no audit key given: set REGMED_AUDIT_KEY or REGMED_AUDIT_KEY_FILE)")
    head = manifest["audit"]
    return ArchiveCheck(True, f"archive intact: {len(listed)} files, {events} audit events, head "
                        f"event #{head['head_seq']} {head['head_hash']}; {said}", len(listed),
                        events, key is not None)
