"""``verify_audit``: walk the keyed hash chain, then compare every audited record, streaming.

The events are read in chunks through a server-side cursor (PostgreSQL) or a stepped SQLite
cursor, and only a 16-byte digest of each record's last audited values is kept, so that memory
stays far below 1 GB for millions of events. Each table's current rows are streamed the same way.
A checkpoint (:mod:`regmed.registry.audit_checkpoint`) pins a head the chain must extend.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from regmed.errors import RegmedError
from regmed.registry.audit import DIGESTED, GENESIS_HASH, _payload, audit_values, canonical_rows
from regmed.registry.audit_key import (
    audit_key_check,
    event_mac,
    load_audit_key,
    registered_check,
)
from regmed.registry.models import AUDITED_MODELS, AuditEvent, AuditKey, Base

__all__ = ["AuditVerification", "verify_audit"]

#: Events (and rows) read per round trip.
CHUNK = 20000
#: Mismatched records described in detail (the rest are counted).
DETAILED = 1000
_PACK = struct.Struct(">QB")


@dataclass(frozen=True)
class AuditVerification:
    """Outcome of :func:`verify_audit`.

    Attributes
    ----------
    ok : bool
        True when the chain is intact, every event is authenticated by the audit key (events
        from before the keyed trail: pinned by the first keyed one), the chain extends the
        checkpoint if one was given, and every audited record matches its last audited values.
    events : int
        Number of events checked.
    records : int
        Number of records compared.
    message : str
        One sentence saying what was found.
    broken_event : int or None
        ``seq`` of the first event whose hash, link or MAC is wrong.
    record : str or None
        ``table:key`` (with ``#id``) of the first record that no longer matches.
    problems : tuple of str
        Every mismatch found (the first is the one named in ``message``).
    head_seq, head_hash : int and str
        The newest event's ``seq`` and hash (0 and 64 zeros for an empty trail): write them
        down, or keep a checkpoint, to detect a truncated or rewritten trail later.
    unkeyed : int
        Events from before the keyed trail (no MAC).
    """

    ok: bool
    events: int
    records: int
    message: str
    broken_event: int | None = None
    record: str | None = None
    problems: tuple[str, ...] = field(default=())
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    unkeyed: int = 0

    @property
    def head(self) -> str:
        """``#seq hash`` of the newest event."""
        return f"#{self.head_seq} {self.head_hash}"


_COLS = (
    AuditEvent.seq,
    AuditEvent.occurred_at,
    AuditEvent.actor,
    AuditEvent.table_name,
    AuditEvent.record_id,
    AuditEvent.record_key,
    AuditEvent.action,
    AuditEvent.old_values,
    AuditEvent.new_values,
    AuditEvent.reason,
    AuditEvent.prev_hash,
    AuditEvent.hash,
    AuditEvent.mac,
)


def _digest(text: str | None) -> bytes:
    return hashlib.blake2b((text or "").encode("utf-8"), digest_size=16).digest()


def _stream(session: Session, stmt: Any) -> Iterator[Any]:
    result = session.execute(stmt, execution_options={"yield_per": CHUNK})
    try:
        for part in result.partitions():
            yield from part
    finally:
        result.close()


class _Walk:
    """State of one walk of the chain."""

    def __init__(self, key: bytes | None, checkpoint: Mapping[str, Any] | None) -> None:
        self.key = key
        self.checkpoint = checkpoint
        self.n = 0
        self.unkeyed = 0
        self.keyed = 0
        self.prev = GENESIS_HASH
        self.cp_hash: str | None = None
        #: table -> record id -> 16-byte digest of the last new values + (seq, deleted)
        self.last: dict[str, dict[int, bytes]] = {}

    def event(self, ev: Any) -> str | None:
        self.n += 1
        seq = int(ev[0])
        sha = hashlib.sha256
        if seq != self.n:
            return f"audit event {self.n} is missing (next event is {seq})"
        if ev[10] != self.prev:
            return f"audit event {seq} does not link to the event before it"
        if sha(_payload(*ev[:11]).encode("utf-8")).hexdigest() != ev[11]:
            return f"audit event {seq} was altered (its hash does not match its contents)"
        mac = ev[12]
        if mac is None:
            if self.keyed:
                return f"audit event {seq} has no MAC although it follows keyed events (forged)"
            self.unkeyed += 1
        else:
            self.keyed += 1
            if self.key is None:
                return f"audit event {seq} cannot be authenticated without the audit key"
            if not hmac.compare_digest(event_mac(self.key, ev[11]), mac):
                return (
                    f"audit event {seq} is not authenticated by the audit key "
                    "(forged, or written with another key)"
                )
        self.prev = ev[11]
        if self.checkpoint is not None and seq == int(self.checkpoint["head_seq"]):
            self.cp_hash = ev[11]
        packed = _digest(ev[8]) + _PACK.pack(seq, ev[6] == "delete")
        self.last.setdefault(ev[3], {})[int(ev[4])] = packed
        return None

    def ending(self, first_seq: int | None) -> str | None:
        """What is wrong with the chain as a whole (after the last event), if anything."""
        if self.unkeyed and not self.keyed:
            return (
                f"the {self.unkeyed} audit events are not keyed (written before regmed "
                "revision 0006) and not sealed; run `regmed init` to seal them"
            )
        if first_seq is not None and self.n < first_seq:
            return (
                f"the audit trail has {self.n} events but its key was registered at event "
                f"{first_seq}: events were removed"
            )
        cp = self.checkpoint
        if cp is not None:
            head, count = int(cp["head_seq"]), int(cp["events"])
            when = cp.get("created_at", "?")
            if self.n < count or self.cp_hash is None:
                return (
                    f"the audit trail has {self.n} events but the checkpoint of {when} "
                    f"recorded {count} (head #{head}): events were removed"
                )
            if self.cp_hash != cp["head_hash"]:
                return (
                    f"audit event {head} differs from the checkpoint of {when}: "
                    "the trail was rewritten"
                )
        return None


def _key_for(session: Session, key: bytes | None) -> tuple[bytes | None, str | None]:
    """The audit key to verify with, and a problem when it is not the registered one."""
    registered = registered_check(session)
    if key is None:
        try:
            key = load_audit_key(str(session.get_bind().engine.url))[0]
        except RegmedError:
            return None, None
    if registered is not None and registered != audit_key_check(key):
        return key, "the audit key is not the one this registry's audit trail is authenticated with"
    return key, None


def _changed(session: Session, seq: int, current: str) -> tuple[str, list[str]]:
    new, key = session.execute(
        select(AuditEvent.new_values, AuditEvent.record_key).where(AuditEvent.seq == seq)
    ).one()
    now, then = json.loads(current), json.loads(new) if new else {}
    return str(key), sorted(k for k in set(now) | set(then) if now.get(k) != then.get(k))


def _event_key(session: Session, seq: int) -> str:
    return str(session.execute(select(AuditEvent.record_key).where(AuditEvent.seq == seq)).scalar())


def _compare_table(
    session: Session, model: type[Base], audited: dict[int, bytes], problems: list[tuple[str, str]]
) -> int:
    """Stream ``model``'s rows against their last audited digests; returns records compared."""
    table, name = model.__table__, model.__tablename__
    names = [c for c in table.c.keys() if c != "id"]
    digested = [j for j, c in enumerate(names) if (name, c) in DIGESTED]
    rows = _stream(session, select(table.c.id, *(table.c[c] for c in names)).order_by(table.c.id))
    n = 0
    detailed = len(problems) < DETAILED

    def add(where: str, text: str) -> None:
        problems.append((where, text))

    chunk: list[Any] = []

    def flush() -> None:
        nonlocal n
        if not chunk:
            return
        cols = list(zip(*chunk, strict=True))
        values = [list(c) for c in cols[1:]]
        for j in digested:
            values[j] = [audit_values(name, {names[j]: v})[names[j]] for v in values[j]]
        for rid, row in zip(cols[0], canonical_rows(names, values), strict=True):
            rid = int(rid)
            packed = audited.pop(rid, None)
            if packed is None:
                add(f"{name}: id {rid}", f"record {name}: id {rid} has no audit event "
                    "(written outside regmed)")
                continue
            seq, deleted = _PACK.unpack(packed[16:])
            if deleted:
                key = _event_key(session, seq) if detailed else "?"
                where = f"{name}:{key} (id {rid})"
                add(where, f"record {where} exists but was deleted (event {seq})")
                continue
            n += 1
            if _digest(row) == packed[:16]:
                continue
            key, changed = _changed(session, seq, row) if detailed else ("?", ["?"])
            if changed:
                where = f"{name}:{key} (id {rid})"
                add(where, f"record {where} does not match its last audited values "
                    f"(event {seq}); changed: {', '.join(changed)}")
        chunk.clear()

    for r in rows:
        chunk.append(r)
        if len(chunk) >= CHUNK:
            flush()
            detailed = len(problems) < DETAILED
    flush()
    for rid, packed in sorted(audited.items()):
        seq, deleted = _PACK.unpack(packed[16:])
        if deleted:
            continue
        n += 1
        key = _event_key(session, seq) if len(problems) < DETAILED else "?"
        where = f"{name}:{key} (id {rid})"
        add(where, f"record {where} is missing from the database")
    return n


def verify_audit(
    session: Session,
    key: bytes | None = None,
    *,
    checkpoint: Mapping[str, Any] | None = None,
) -> AuditVerification:
    """Walk the keyed hash chain, then compare every audited record with its last audited values.

    Parameters
    ----------
    session : Session
        The registry.
    key : bytes, optional
        The audit key (default :func:`~regmed.registry.audit_key.load_audit_key`).
    checkpoint : mapping, optional
        A checkpoint read by :func:`~regmed.registry.audit_checkpoint.read_checkpoint`: the
        chain must still hold its head event unchanged (no truncation, no rewrite, no wipe).

    Returns
    -------
    AuditVerification
        Naming the first broken event (changed, removed, reordered, forged without the key,
        not extending the checkpoint) or, if the chain is intact, the first record whose current
        values differ from its last audited new values (e.g. edited with raw SQL), that exists
        without any audit event (inserted outside regmed), or that is missing although never
        deleted through regmed.
    """
    key, key_problem = _key_for(session, key)
    walk = _Walk(key, checkpoint)
    first_seq = session.execute(select(AuditKey.first_seq).order_by(AuditKey.id).limit(1)).scalar()

    def broken(problem: str, at: int | None) -> AuditVerification:
        return AuditVerification(
            ok=False, events=walk.n, records=0, message=f"audit chain broken: {problem}",
            broken_event=at, problems=(problem,), head_seq=walk.n, head_hash=walk.prev,
            unkeyed=walk.unkeyed,
        )

    if key_problem:
        return broken(key_problem, None)
    for ev in _stream(session, select(*_COLS).order_by(AuditEvent.seq)):
        problem = walk.event(ev)
        if problem:
            return broken(problem, walk.n)
    problem = walk.ending(first_seq)
    if problem:
        return broken(problem, None)
    head_seq, head_hash = walk.n, walk.prev
    problems: list[tuple[str, str]] = []
    n_records = 0
    for table in AUDITED_MODELS:
        n_records += _compare_table(
            session, AUDITED_MODELS[table], walk.last.pop(table, {}), problems
        )
    common = {"events": walk.n, "records": n_records, "head_seq": head_seq,
              "head_hash": head_hash, "unkeyed": walk.unkeyed}
    if problems:
        return AuditVerification(
            ok=False, message=f"audit check failed: {problems[0][1]}", record=problems[0][0],
            problems=tuple(p for _, p in problems), **common,  # type: ignore[arg-type]
        )
    return AuditVerification(
        ok=True, message=f"audit trail intact: {walk.n} events, {n_records} records match",
        **common,  # type: ignore[arg-type]
    )
