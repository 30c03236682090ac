"""The append-only, hash-chained audit trail.

Every insert, update and delete made through regmed's services appends one
:class:`~regmed.registry.models.AuditEvent`: actor, UTC timestamp, table, record (surrogate id
and natural key), action, old and new values (canonical JSON of the row's columns) and a reason.
Event ``seq`` numbers run 1, 2, 3, ... and each event's ``hash`` is the SHA-256 of the canonical
JSON array ``[seq, occurred_at, actor, table_name, record_id, record_key, action, old_values,
new_values, reason, prev_hash]``; ``prev_hash`` is the previous event's hash (64 zeros for the
first). Each event also carries ``mac``, the HMAC-SHA256 of its hash under the audit key kept
outside the database (:mod:`regmed.registry.audit_key`), so that an appended, correctly chained
event cannot be forged by someone who can only write the database. Events written before
revision 0006 have no MAC; the first keyed event links to the last of them (``regmed init``
appends a ``seal`` event right after the upgrade), so its MAC pins the older chain too.
:func:`~regmed.registry.audit_verify.verify_audit` walks the chain, then compares every audited
record's current row with its last audited values, so that a row edited outside regmed (raw
SQL) is named.

The database refuses UPDATE and DELETE on ``audit_events`` (triggers made by the migrations),
and on PostgreSQL also TRUNCATE.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

try:  # the C version json.dumps uses (ensure_ascii=False)
    from _json import encode_basestring as _encode_str
except ImportError:  # pragma: no cover
    from json.encoder import py_encode_basestring as _encode_str

from regmed.registry.audit_key import (
    audit_key_check,
    event_mac,
    load_audit_key,
    register_audit_key,
    registered_check,
)
from regmed.registry.models import AuditEvent

__all__ = [
    "GENESIS_HASH",
    "AuditWriter",
    "WRITE_COLUMNS",
    "audit_values",
    "canonical_json",
    "canonical_rows",
    "encode_value",
    "event_hash",
    "audit_log",
    "count_events",
    "utc_now",
]

#: ``prev_hash`` of the first event.
GENESIS_HASH = "0" * 64
#: Columns whose audited value is a digest of the stored value rather than the value itself.
DIGESTED = {("users", "password_hash")}


def utc_now() -> str:
    """The current UTC time as the ISO 8601 string stored in ``occurred_at``."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _iso(value: dt.date) -> str:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.isoformat()


def encode_value(value: Any) -> str:
    """JSON text of one value as :func:`json.dumps` writes it; dates become ISO strings."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return _encode_str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("cannot audit NaN or infinite numbers")
        return float.__repr__(value)
    if isinstance(value, dt.date):
        return _encode_str(_iso(value))
    if hasattr(value, "item"):  # numpy scalar
        return encode_value(value.item())
    raise TypeError(f"cannot audit a value of type {type(value).__name__}")


def canonical_json(values: dict[str, Any]) -> str:
    """Canonical JSON of a flat dict: sorted keys, no spaces, UTF-8, dates as ISO strings.

    The same text as ``json.dumps(values, sort_keys=True, separators=(",", ":"),
    ensure_ascii=False)`` with dates written as ISO strings.
    """
    parts = [_encode_str(k) + ":" + encode_value(values[k]) for k in sorted(values)]
    return "{" + ",".join(parts) + "}"


def _encode_column(prefix: str, values: Sequence[Any]) -> list[str]:
    """``prefix + encode_value(v)`` for every value, specialized by the column's type."""
    kinds = {type(v) for v in values} - {type(None)}
    null = prefix + "null"
    if kinds <= {str}:
        enc = _encode_str
        return [null if v is None else prefix + enc(v) for v in values]
    if kinds <= {float} and all(v == v for v in values if v is not None):
        rep = float.__repr__
        return [null if v is None else prefix + rep(v) for v in values]
    if kinds <= {int}:
        return [null if v is None else prefix + int.__repr__(v) for v in values]
    if kinds <= {dt.date}:
        return [null if v is None else prefix + '"' + v.isoformat() + '"' for v in values]
    return [prefix + encode_value(v) for v in values]


def canonical_rows(columns: Sequence[str], values: Sequence[Sequence[Any]]) -> list[str]:
    """:func:`canonical_json` of many rows given column-wise (a fast path for bulk writes).

    ``values[j][i]`` is row ``i``'s value of ``columns[j]``.
    """
    order = sorted(range(len(columns)), key=lambda j: columns[j])
    encoded = [_encode_column(_encode_str(columns[j]) + ":", values[j]) for j in order]
    if not encoded:
        return []
    return ["{" + ",".join(parts) + "}" for parts in zip(*encoded, strict=True)]


def audit_values(table: str, row: dict[str, Any]) -> dict[str, Any]:
    """The audited form of a row: every column but ``id``; secrets replaced by a digest."""
    out = {k: v for k, v in row.items() if k != "id"}
    for t, col in DIGESTED:
        if t == table and out.get(col) is not None and not _is_digest(out[col]):
            out[col] = "sha256:" + hashlib.sha256(str(out[col]).encode()).hexdigest()
    return out


def _is_digest(value: Any) -> bool:
    """True for a value already in audited form (``sha256:`` + 64 hex digits): a registry
    moved without its password hashes holds the digest itself (no password matches it)."""
    text = str(value)
    return len(text) == 71 and text.startswith("sha256:") and all(
        c in "0123456789abcdef" for c in text[7:])


def _payload(
    seq: int,
    occurred_at: str,
    actor: str,
    table_name: str,
    record_id: int,
    record_key: str,
    action: str,
    old_values: str | None,
    new_values: str | None,
    reason: str | None,
    prev_hash: str,
) -> str:
    # == json.dumps([...], separators=(",", ":"), ensure_ascii=False), written out for speed
    enc = _encode_str
    return (
        f"[{int(seq)},{enc(occurred_at)},{enc(actor)},{enc(table_name)},{int(record_id)},"
        f"{enc(record_key)},{enc(action)},"
        f"{'null' if old_values is None else enc(old_values)},"
        f"{'null' if new_values is None else enc(new_values)},"
        f"{'null' if reason is None else enc(reason)},{enc(prev_hash)}]"
    )


def event_hash(
    seq: int,
    occurred_at: str,
    actor: str,
    table_name: str,
    record_id: int,
    record_key: str,
    action: str,
    old_values: str | None,
    new_values: str | None,
    reason: str | None,
    prev_hash: str,
) -> str:
    """SHA-256 (hex) of the canonical JSON array of an event's fields and ``prev_hash``."""
    payload = _payload(
        seq,
        occurred_at,
        actor,
        table_name,
        record_id,
        record_key,
        action,
        old_values,
        new_values,
        reason,
        prev_hash,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


#: The columns of ``audit_events`` in hashing order, then ``hash``.
EVENT_COLUMNS = (
    "seq",
    "occurred_at",
    "actor",
    "table_name",
    "record_id",
    "record_key",
    "action",
    "old_values",
    "new_values",
    "reason",
    "prev_hash",
    "hash",
)


#: The columns an event is written with: :data:`EVENT_COLUMNS` and its ``mac``.
WRITE_COLUMNS = (*EVENT_COLUMNS, "mac")

_LOCK = text("LOCK TABLE audit_events IN SHARE ROW EXCLUSIVE MODE")
_TAIL = (
    select(AuditEvent.seq, AuditEvent.hash, AuditEvent.mac)
    .order_by(AuditEvent.seq.desc())
    .limit(1)
)
_INSERT = insert(AuditEvent.__table__)  # type: ignore[arg-type]


class AuditWriter:
    """Appends keyed events to the chain within the caller's transaction.

    The writer reads the chain's tail once (on PostgreSQL under a table lock, so that two
    writers cannot fork the chain) and then appends in memory; :meth:`flush` bulk-inserts.
    Every event carries ``mac`` = HMAC-SHA256(audit key, hash); the key comes from ``key`` or
    :func:`~regmed.registry.audit_key.load_audit_key` (created on the registry's first write)
    and must be the one registered with the registry (a different key is refused).
    """

    def __init__(self, session: Session, actor: str, *, key: bytes | None = None) -> None:
        if not actor or not str(actor).strip():
            from regmed.errors import DataError

            raise DataError("every change needs an actor (who made it)")
        self.session = session
        self.actor = str(actor)
        self.occurred_at = utc_now()
        bind = session.connection()
        if bind.dialect.name == "postgresql":
            bind.execute(_LOCK)
        last = bind.execute(_TAIL).first()
        self.seq = int(last[0]) if last else 0
        self.prev_hash = str(last[1]) if last else GENESIS_HASH
        #: True when the newest stored event has no MAC (written before the keyed trail).
        self.unsealed = last is not None and last[2] is None
        registered = registered_check(session)
        if key is None:
            url = str(session.get_bind().engine.url)
            key = load_audit_key(url, create=registered is None)[0]
        if registered is not None and registered != audit_key_check(key):
            register_audit_key(session, key, self.seq + 1, self.occurred_at)  # refuses
        self.key = key
        self._register = registered is None
        self.pending: dict[str, list[Any]] = {c: [] for c in WRITE_COLUMNS}

    def add(
        self,
        table: str,
        record_id: int,
        record_key: str,
        action: str,
        old: str | None,
        new: str | None,
        reason: str | None,
    ) -> None:
        """Append one event (``old``/``new`` are canonical JSON strings or None)."""
        self.seq += 1
        fields = (
            self.seq,
            self.occurred_at,
            self.actor,
            table,
            int(record_id),
            record_key,
            action,
            old,
            new,
            reason,
            self.prev_hash,
        )
        h = event_hash(*fields)
        for c, v in zip(WRITE_COLUMNS, (*fields, h, event_mac(self.key, h)), strict=True):
            self.pending[c].append(v)
        self.prev_hash = h

    def add_inserts(
        self,
        table: str,
        ids: Sequence[int],
        keys: Sequence[str],
        new_json: Sequence[str],
        reason: str | None,
    ) -> None:
        """Append one insert event per row (a tight loop for bulk imports)."""
        n = len(ids)
        if not n:
            return
        seq0, prev = self.seq, self.prev_hash
        sha, enc = hashlib.sha256, _encode_str
        head = f",{enc(self.occurred_at)},{enc(self.actor)},{enc(table)},"
        tail = f",{enc('insert')},null,"
        why = "null" if reason is None else enc(reason)
        prevs, hashes, macs = [], [], []
        seq = seq0
        mac, secret = hmac.digest, self.key
        for rid, key, new in zip(ids, keys, new_json, strict=True):
            seq += 1
            payload = f"[{seq}{head}{int(rid)},{enc(key)}{tail}{enc(new)},{why},{enc(prev)}]"
            prevs.append(prev)
            prev = sha(payload.encode("utf-8")).hexdigest()
            hashes.append(prev)
            macs.append(mac(secret, prev.encode("ascii"), "sha256").hex())
        p = self.pending
        p["seq"].extend(range(seq0 + 1, seq + 1))
        p["occurred_at"].extend([self.occurred_at] * n)
        p["actor"].extend([self.actor] * n)
        p["table_name"].extend([table] * n)
        p["record_id"].extend(int(r) for r in ids)
        p["record_key"].extend(keys)
        p["action"].extend(["insert"] * n)
        p["old_values"].extend([None] * n)
        p["new_values"].extend(new_json)
        p["reason"].extend([reason] * n)
        p["prev_hash"].extend(prevs)
        p["hash"].extend(hashes)
        p["mac"].extend(macs)
        self.seq, self.prev_hash = seq, prev

    def flush(self) -> int:
        """Insert the pending events; returns how many were written."""
        from regmed.registry.bulk import bulk_insert

        n = len(self.pending["seq"])
        if n and self._register:
            first = int(self.pending["seq"][0])
            register_audit_key(self.session, self.key, first, self.occurred_at)
            self._register = False
        if n > 16:
            values = [self.pending[c] for c in WRITE_COLUMNS]
            bulk_insert(self.session, AuditEvent.__table__, WRITE_COLUMNS, values)  # type: ignore
        elif n:  # a plain INSERT is quicker than COPY for a few events
            rows = [dict(zip(WRITE_COLUMNS, r, strict=True))
                    for r in zip(*(self.pending[c] for c in WRITE_COLUMNS), strict=True)]
            self.session.connection().execute(_INSERT, rows)
        self.pending = {c: [] for c in WRITE_COLUMNS}
        return n

    def seal(self) -> bool:
        """Append a ``seal`` event when the newest stored event has no MAC.

        The seal names how many unkeyed (pre-0006) events precede it and their head; its MAC
        then pins the whole older chain. Returns whether a seal was added.
        """
        if not self.unsealed:
            return False
        legacy = canonical_json({"legacy_events": self.seq, "legacy_head": self.prev_hash})
        self.add("audit_events", 0, "seal", "seal", None, legacy, "audit trail keyed")
        self.unsealed = False
        return True


def audit_log(
    session: Session, table: str, key: str | None = None, record_id: int | None = None
) -> list[dict[str, Any]]:
    """The history of one record: its events (oldest first) as dicts.

    The record is named by its natural key (``record_key``, as shown by ``regmed audit log``)
    or by its surrogate id.
    """
    q = select(AuditEvent).where(AuditEvent.table_name == table)
    if key is not None:
        q = q.where(AuditEvent.record_key == key)
    if record_id is not None:
        q = q.where(AuditEvent.record_id == record_id)
    events = session.execute(q.order_by(AuditEvent.seq)).scalars()
    return [
        {
            "seq": e.seq,
            "occurred_at": e.occurred_at,
            "actor": e.actor,
            "table": e.table_name,
            "record_id": e.record_id,
            "record_key": e.record_key,
            "action": e.action,
            "old_values": json.loads(e.old_values) if e.old_values else None,
            "new_values": json.loads(e.new_values) if e.new_values else None,
            "reason": e.reason,
            "hash": e.hash,
        }
        for e in events
    ]


def count_events(session: Session) -> int:
    """Number of audit events."""
    return int(session.execute(select(func.count()).select_from(AuditEvent)).scalar_one())
