"""The append-only, hash-chained audit trail.

Every insert, update and delete made through regmed's services appends one
:class:`~regmed.registry.models.AuditEvent`: actor, UTC timestamp, table, record (surrogate id
and natural key), action, old and new values (canonical JSON of the row's columns) and a reason.
Event ``seq`` numbers run 1, 2, 3, ... and each event's ``hash`` is the SHA-256 of the canonical
JSON array ``[seq, occurred_at, actor, table_name, record_id, record_key, action, old_values,
new_values, reason, prev_hash]``; ``prev_hash`` is the previous event's hash (64 zeros for the
first). :func:`verify_audit` walks the chain, then compares every audited record's current row
with its last audited values, so that a row edited outside regmed (raw SQL) is named.

The database refuses UPDATE and DELETE on ``audit_events`` (triggers made by the migration).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

try:  # the C version json.dumps uses (ensure_ascii=False)
    from _json import encode_basestring as _encode_str
except ImportError:  # pragma: no cover
    from json.encoder import py_encode_basestring as _encode_str

from regmed.registry.models import AUDITED_MODELS, AuditEvent, Base

__all__ = [
    "GENESIS_HASH",
    "AuditWriter",
    "AuditVerification",
    "audit_values",
    "canonical_json",
    "canonical_rows",
    "encode_value",
    "event_hash",
    "verify_audit",
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
        if t == table and out.get(col) is not None:
            out[col] = "sha256:" + hashlib.sha256(str(out[col]).encode()).hexdigest()
    return out


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


_LOCK = text("LOCK TABLE audit_events IN SHARE ROW EXCLUSIVE MODE")
_TAIL = select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
_INSERT = insert(AuditEvent.__table__)  # type: ignore[arg-type]


class AuditWriter:
    """Appends events to the chain within the caller's transaction.

    The writer reads the chain's tail once (on PostgreSQL under a table lock, so that two
    writers cannot fork the chain) and then appends in memory; :meth:`flush` bulk-inserts.
    """

    def __init__(self, session: Session, actor: str) -> None:
        if not actor or not str(actor).strip():
            from regmed.errors import DataError

            raise DataError("every change needs an actor (who made it)")
        self.session = session
        self.actor = str(actor)
        self.occurred_at = utc_now()
        bind = session.connection()
        if bind.dialect.name == "postgresql":
            bind.execute(_LOCK)
        last = session.connection().execute(_TAIL).first()
        self.seq = int(last[0]) if last else 0
        self.prev_hash = str(last[1]) if last else GENESIS_HASH
        self.pending: dict[str, list[Any]] = {c: [] for c in EVENT_COLUMNS}

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
        for c, v in zip(EVENT_COLUMNS, (*fields, h), strict=True):
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
        prevs, hashes = [], []
        seq = seq0
        for rid, key, new in zip(ids, keys, new_json, strict=True):
            seq += 1
            payload = f"[{seq}{head}{int(rid)},{enc(key)}{tail}{enc(new)},{why},{enc(prev)}]"
            prevs.append(prev)
            prev = sha(payload.encode("utf-8")).hexdigest()
            hashes.append(prev)
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
        self.seq, self.prev_hash = seq, prev

    def flush(self) -> int:
        """Insert the pending events; returns how many were written."""
        from regmed.registry.bulk import bulk_insert

        n = len(self.pending["seq"])
        if n > 16:
            values = [self.pending[c] for c in EVENT_COLUMNS]
            bulk_insert(self.session, AuditEvent.__table__, EVENT_COLUMNS, values)  # type: ignore
        elif n:  # a plain INSERT is quicker than COPY for a few events
            rows = [dict(zip(EVENT_COLUMNS, r, strict=True))
                    for r in zip(*(self.pending[c] for c in EVENT_COLUMNS), strict=True)]
            self.session.connection().execute(_INSERT, rows)
        self.pending = {c: [] for c in EVENT_COLUMNS}
        return n


@dataclass(frozen=True)
class AuditVerification:
    """Outcome of :func:`verify_audit`.

    Attributes
    ----------
    ok : bool
        True when the chain is intact and every audited record matches its last audited values.
    events : int
        Number of events checked.
    records : int
        Number of records compared.
    broken_event : int or None
        ``seq`` of the first event whose hash or link is wrong.
    record : str or None
        ``table:key`` (with ``#id``) of the first record that no longer matches.
    message : str
        One sentence saying what was found.
    problems : tuple of str
        Every mismatch found (the first is the one named in ``message``).
    """

    ok: bool
    events: int
    records: int
    message: str
    broken_event: int | None = None
    record: str | None = None
    problems: tuple[str, ...] = field(default=())


def _current_rows(session: Session, model: type[Base]) -> dict[int, str]:
    """Audited JSON of every row of ``model``'s table, by id."""
    table = model.__table__
    names = [c for c in table.c.keys() if c != "id"]
    rows = session.execute(select(table.c.id, *(table.c[c] for c in names))).all()
    if not rows:
        return {}
    cols = list(zip(*rows, strict=True))
    ids = [int(x) for x in cols[0]]
    values = [list(c) for c in cols[1:]]
    for j, name in enumerate(names):
        if (model.__tablename__, name) in DIGESTED:
            values[j] = [audit_values(model.__tablename__, {name: v})[name] for v in values[j]]
    return dict(zip(ids, canonical_rows(names, values), strict=True))


def verify_audit(session: Session) -> AuditVerification:
    """Walk the hash chain, then compare every audited record with its last audited values.

    Returns an :class:`AuditVerification` naming the first broken event (a changed, removed or
    reordered event) or, if the chain is intact, the first record whose current values differ
    from its last audited new values (e.g. edited with raw SQL), that exists without any audit
    event (inserted outside regmed), or that is missing although never deleted through regmed.
    """
    prev = GENESIS_HASH
    expected_seq = 0
    last: dict[str, dict[int, tuple[int, str, str | None, str]]] = {}
    n = 0
    cols = [
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
    ]
    result = session.execute(select(*cols).order_by(AuditEvent.seq)).yield_per(20000)
    sha = hashlib.sha256
    for ev in result:
        n += 1
        expected_seq += 1
        seq = int(ev[0])
        problem = None
        if seq != expected_seq:
            problem = f"audit event {expected_seq} is missing (next event is {seq})"
        elif ev[10] != prev:
            problem = f"audit event {seq} does not link to the event before it"
        elif sha(_payload(*ev[:11]).encode("utf-8")).hexdigest() != ev[11]:
            problem = f"audit event {seq} was altered (its hash does not match its contents)"
        if problem:
            result.close()
            return AuditVerification(
                ok=False,
                events=n,
                records=0,
                message=f"audit chain broken: {problem}",
                broken_event=expected_seq,
                problems=(problem,),
            )
        prev = ev[11]
        last.setdefault(ev[3], {})[int(ev[4])] = (seq, ev[6], ev[8], ev[5])
    problems: list[tuple[str, str]] = []
    n_records = 0
    for table in sorted(set(last) | set(AUDITED_MODELS), key=_table_order):
        model = AUDITED_MODELS.get(table)
        if model is None:
            continue
        rows = _current_rows(session, model)
        audited = last.get(table, {})
        for rid, (seq, action, new, key) in sorted(audited.items()):
            row = rows.get(rid)
            where = f"{table}:{key} (id {rid})"
            if action == "delete":
                if row is not None:
                    problems.append((where, f"record {where} exists but was deleted (event {seq})"))
                continue
            n_records += 1
            if row is None:
                problems.append((where, f"record {where} is missing from the database"))
                continue
            if row == new:
                continue
            current = json.loads(row)
            audited_values = json.loads(new) if new else {}
            changed = sorted(
                k
                for k in set(current) | set(audited_values)
                if current.get(k) != audited_values.get(k)
            )
            if changed:
                problems.append(
                    (
                        where,
                        f"record {where} does not match its last audited values "
                        f"(event {seq}); changed: {', '.join(changed)}",
                    )
                )
        for rid in sorted(set(rows) - set(audited)):
            where = f"{table}: id {rid}"
            problems.append((where, f"record {where} has no audit event (written outside regmed)"))
    if problems:
        return AuditVerification(
            ok=False,
            events=n,
            records=n_records,
            message=f"audit check failed: {problems[0][1]}",
            record=problems[0][0],
            problems=tuple(p for _, p in problems),
        )
    return AuditVerification(
        ok=True,
        events=n,
        records=n_records,
        message=f"audit trail intact: {n} events, {n_records} records match",
    )


def _table_order(table: str) -> tuple[int, str]:
    names = list(AUDITED_MODELS)
    return (names.index(table) if table in names else len(names), table)


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
