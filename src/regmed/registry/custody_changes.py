"""Changes that would break the chain of identity and custody of stored administrations.

An import may change the facts an administration was accepted on after it was recorded: move a
lot's shipment to another site or its receipt after the day the lot was given, withdraw the
lot's release, give the lot or the patient another donor, or enroll a patient who was given a
lot in a control cohort. :func:`stored_problems` applies the rule of
:mod:`regmed.registry.custody` to every stored administration such a change touches, with the
import's rows overlaid, and reports each problem the change *adds* (one that held before, e.g.
in data recorded before the rule existed, is not the change's fault and is not reported). Each
problem names the import row that touches the administration.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from regmed.errors import Problem
from regmed.registry.custody import (
    administration_problems,
    given_rows,
    load_lots,
    load_recipients,
    overlay_lots,
    overlay_recipients,
)
from regmed.registry.dictionary import PSEUDONYM_COLUMN
from regmed.registry.models import Administration, Lot, Patient

__all__ = ["stored_problems"]

#: Per table: the columns a change of which can break a stored administration, and the key
#: (lot or patient) that names the administrations it touches.
_SOURCES: dict[str, tuple[tuple[str, ...], str]] = {
    "shipments": (("site_code", "received_on", "receipt_temperature_c",
                   "time_out_of_storage_min", "deviation_reference"), "lot_code"),
    "lots": (("product_code", "status", "released_on", "donor_code"), "lot_code"),
    "patients": (("donor_code",), PSEUDONYM_COLUMN),
    "enrollments": (("indication_code", "cohort"), PSEUDONYM_COLUMN),
}

Stored = tuple[Any, Any, dt.date | None, bool | None]


def _touching(parsed: Mapping[str, Any]) -> dict[tuple[str, Any], tuple[str, int]]:
    """(``lot_code`` or pseudonym column, value) → (file, row) of the first row touching it."""
    out: dict[tuple[str, Any], tuple[str, int]] = {}
    for table, (columns, key) in _SOURCES.items():
        p = parsed.get(table)
        if p is None or not any(c in p.given for c in columns):
            continue
        for row, r in given_rows(p, (key,)):
            if r.get(key) is not None:
                out.setdefault((key, r[key]), (p.file, row))
    return out


def _stored(session: Session, lots: list[Any], people: list[Any]) -> list[Stored]:
    """Stored administrations of these lots or patients: (pseudonym, lot, date, oos)."""
    q = (select(Patient.pseudonym, Lot.lot_code, Administration.administered_on,
                Administration.oos_request_documented)
         .join(Patient, Patient.id == Administration.patient_id)
         .join(Lot, Lot.id == Administration.lot_id))
    found: dict[tuple[Any, Any], Stored] = {}
    for column, values in ((Lot.lot_code, lots), (Patient.pseudonym, people)):
        for start in range(0, len(values), 500):
            for r in session.execute(q.where(column.in_(values[start:start + 500]))).all():
                found[(r[0], r[1])] = (r[0], r[1], r[2], r[3])
    return sorted(found.values(), key=lambda r: (str(r[0]), str(r[1])))


def _in_this_import(parsed: Mapping[str, Any]) -> set[tuple[Any, Any]]:
    adm = parsed.get("administrations")
    if adm is None:
        return set()
    return {(r.get(PSEUDONYM_COLUMN), r.get("lot_code"))
            for _, r in given_rows(adm, (PSEUDONYM_COLUMN, "lot_code"))}


def _messages(lot: Any, person: Any, given_on: dt.date | None, oos: bool | None) -> set[str]:
    return {p.message for p in administration_problems(lot, person, given_on, oos)}


def stored_problems(session: Session, parsed: Mapping[str, Any]) -> list[Problem]:
    """What this import's lots, shipments, patients and enrollments would break of stored
    administrations (those the import gives again are checked as its own rows)."""
    touching = _touching(parsed)
    if not touching:
        return []
    lot_codes = sorted({v for k, v in touching if k == "lot_code"}, key=str)
    pseudonyms = sorted({v for k, v in touching if k == PSEUDONYM_COLUMN}, key=str)
    again = _in_this_import(parsed)
    stored = [s for s in _stored(session, lot_codes, pseudonyms) if (s[0], s[1]) not in again]
    if not stored:
        return []
    before_lots = load_lots(session, {s[1] for s in stored})
    before_people = load_recipients(session, {s[0] for s in stored})
    after_lots, after_people = dict(before_lots), dict(before_people)
    overlay_lots(session, after_lots, parsed)
    overlay_recipients(session, after_people, parsed)
    out: list[Problem] = []
    for pseudonym, code, given_on, oos in stored:
        if code not in before_lots or pseudonym not in before_people:
            continue
        facts = (given_on, oos)
        held = _messages(before_lots[code], before_people[pseudonym], *facts)
        broken = _messages(after_lots[code], after_people[pseudonym], *facts) - held
        by_lot = _messages(after_lots[code], before_people[pseudonym], *facts)
        when = given_on.isoformat() if given_on else "?"
        for message in sorted(broken):
            first, second = ("lot_code", code), (PSEUDONYM_COLUMN, pseudonym)
            if message not in by_lot:  # the patient's or the enrollment's change did it
                first, second = second, first
            file, row = touching.get(first) or touching[second]
            out.append(Problem(f"breaks the stored administration of lot {code!r} (given "
                               f"{when}) to patient {pseudonym}: {message}", file=file, row=row))
    return out
