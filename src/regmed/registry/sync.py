"""File sync points in the audit trail: when a record was last imported or exported by file.

An import of files (:func:`regmed.registry.import_tables`) ends with one event
``file_syncs / file-sync:import`` naming the range of events it wrote (``first_seq`` ..
``last_seq``); ``regmed export`` writes one event ``file_syncs / file-sync:export`` naming the
head of the trail when the files were written (``head_seq``). So the trail says, for every
record, what it held when it last went through a file: the values of its latest event that an
import wrote, or of its latest event before an export — whichever is later. A record that never
went through a file is taken at its creation.

The importer refuses to update a field whose stored value differs from that *base* value
(someone changed it since — on the web, through a service) unless it is told ``overwrite``
with a reason: re-importing last month's file cannot silently undo a correction made since.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from regmed.registry.audit import AuditWriter, canonical_json
from regmed.registry.models import AuditEvent

__all__ = ["SYNC_TABLE", "SyncPoints", "load_sync_points", "record_import", "record_export",
           "base_values"]

#: ``table_name`` of the sync events (no table of that name holds rows).
SYNC_TABLE = "file_syncs"
IMPORT_KEY = "file-sync:import"
EXPORT_KEY = "file-sync:export"


@dataclass(frozen=True)
class SyncPoints:
    """The imports' event ranges (sorted) and the newest export's head."""

    starts: tuple[int, ...] = ()
    ends: tuple[int, ...] = ()
    last_export: int = 0

    def by_import(self, seq: int) -> bool:
        """Whether event ``seq`` was written by an import of files."""
        i = bisect.bisect_right(self.starts, seq) - 1
        return i >= 0 and seq <= self.ends[i]


def load_sync_points(session: Session) -> SyncPoints:
    """The sync points of the registry's trail."""
    rows = session.execute(select(AuditEvent.record_key, AuditEvent.new_values).where(
        AuditEvent.record_key.in_((IMPORT_KEY, EXPORT_KEY)),
        AuditEvent.table_name == SYNC_TABLE)).all()
    ranges, last_export = [], 0
    for key, new in rows:
        values = json.loads(new)
        if key == IMPORT_KEY:
            ranges.append((int(values["first_seq"]), int(values["last_seq"])))
        else:
            last_export = max(last_export, int(values["head_seq"]))
    ranges.sort()
    return SyncPoints(tuple(a for a, _ in ranges), tuple(b for _, b in ranges), last_export)


def record_import(writer: AuditWriter, first_seq: int, files: Sequence[str],
                  reason: str | None) -> None:
    """Append the sync event of an import whose row events are ``first_seq`` .. now."""
    if writer.seq < first_seq:
        return  # nothing written
    values = {"first_seq": first_seq, "last_seq": writer.seq, "files": ", ".join(files)}
    writer.add(SYNC_TABLE, 0, IMPORT_KEY, "import", None, canonical_json(values), reason)


def record_export(session: Session, *, actor: str, files: Sequence[str]) -> int:
    """Append the sync event of an export of every record as of now; returns its head seq."""
    writer = AuditWriter(session, actor)
    head = writer.seq
    values = {"head_seq": head, "files": ", ".join(files)}
    writer.add(SYNC_TABLE, 0, EXPORT_KEY, "export", None, canonical_json(values), None)
    writer.flush()
    return head


def base_values(session: Session, table: str, keys: Mapping[int, str],
                points: SyncPoints) -> dict[int, dict[str, Any] | None]:
    """Each record's audited values when it last went through a file (see the module).

    ``keys`` maps record ids to their audit ``record_key``. None for a record without events.
    """
    events: dict[int, list[tuple[int, str | None]]] = {}
    wanted = sorted(set(keys.values()))
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        for seq, rid, new in session.execute(
                select(AuditEvent.seq, AuditEvent.record_id, AuditEvent.new_values)
                .where(AuditEvent.table_name == table, AuditEvent.record_key.in_(chunk))
                .order_by(AuditEvent.seq)):
            if int(rid) in keys:
                events.setdefault(int(rid), []).append((int(seq), new))
    out: dict[int, dict[str, Any] | None] = {}
    for rid in keys:
        history = events.get(rid, [])
        base = history[0][1] if history else None
        for seq, new in history:
            if seq <= points.last_export or points.by_import(seq):
                base = new
        out[rid] = json.loads(base) if base else None
    return out
