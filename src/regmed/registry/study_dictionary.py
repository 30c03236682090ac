"""The study dictionary in the registry: versions, each stored with its SHA-256 and audited.

Not to be confused with :mod:`regmed.registry.dictionary`, the registry's own column
dictionary of import files. An import stores a new version of the study dictionary
(:class:`regmed.study.StudyDictionary` as canonical JSON) through the audited service, with
who, when, why and the file it came from; earlier versions stay, and a stored version never
changes (:mod:`regmed.registry.locks`). The latest version is the one imports and forms
validate against.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from regmed.errors import DataError, Problem
from regmed.registry.models import AuditEvent, StudyDictionaryVersion, VisitValue
from regmed.registry.services import add_record
from regmed.study import StudyDictionary

__all__ = ["store_study_dictionary", "latest_study_dictionary", "get_study_dictionary",
           "study_dictionary_history", "dictionary_of"]


def _latest(session: Session) -> StudyDictionaryVersion | None:
    return session.scalars(select(StudyDictionaryVersion)
                           .order_by(StudyDictionaryVersion.version.desc())).first()


def store_study_dictionary(
    dictionary: StudyDictionary,
    *,
    session: Session,
    actor: str,
    reason: str,
    source_file: str | None = None,
    source_sha256: str | None = None,
) -> StudyDictionaryVersion:
    """Store ``dictionary`` as the next version (audited; the caller commits).

    Parameters
    ----------
    dictionary : StudyDictionary
    session : Session
        The unit of work (not committed here).
    actor, reason : str
        Who imports and why (both required).
    source_file, source_sha256 : str, optional
        The file it was read from and that file's SHA-256.

    Raises
    ------
    DataError
        Without an actor or a reason, when the dictionary is identical to the latest
        version (nothing would change), or when values stored for a visit would no longer
        be on a form of that visit (the new version's mapping drops it).
    """
    problems = []
    if not actor or not actor.strip():
        problems.append(Problem("who imports is required", field="actor"))
    if not reason or not reason.strip():
        problems.append(Problem("a reason is required", field="reason"))
    problems += _orphan_problems(session, dictionary)
    if problems:
        raise DataError("the study dictionary cannot be stored", problems)
    latest = _latest(session)
    version = 1 if latest is None else latest.version + 1
    stored = dictionary.model_copy(update={"version": version})
    text = stored.to_json()
    sha = stored.sha256()
    if latest is not None and _same(latest, stored):
        raise DataError(f"the study dictionary is identical to the stored version "
                        f"{latest.version}; nothing was stored")
    record = StudyDictionaryVersion(
        version=version, json_text=text, sha256=sha, n_variables=len(stored.variables),
        source_file=source_file, source_sha256=source_sha256,
        imported_at=dt.datetime.now(dt.UTC), imported_by=actor, reason=reason,
    )
    add_record(record, session=session, actor=actor, reason=reason)
    return record


def _orphan_problems(session: Session, dictionary: StudyDictionary) -> list[Problem]:
    """Stored visit values the dictionary would no longer place on a form of their visit."""
    rows = session.execute(select(VisitValue.visit, VisitValue.variable, func.count())
                           .group_by(VisitValue.visit, VisitValue.variable)
                           .order_by(VisitValue.visit, VisitValue.variable))
    out = []
    for visit, variable, n in rows:
        v = dictionary.variable(variable)
        if v is None or v.form not in dictionary.visit_forms(visit):
            where = f"has no variable {variable}" if v is None else (
                f"does not fill its form {v.form} at {visit}")
            out.append(Problem(f"{n} stored value{'s' if n != 1 else ''} of {variable} at "
                               f"visit {visit}: the new version {where} (give the "
                               "instrument designation with --events)", field="events"))
    return out


def _same(record: StudyDictionaryVersion, dictionary: StudyDictionary) -> bool:
    old = dictionary_of(record)
    return old.model_copy(update={"version": 0}) == dictionary.model_copy(update={"version": 0})


def get_study_dictionary(session: Session, version: int | None = None
                         ) -> StudyDictionaryVersion:
    """The stored version (the latest when ``version`` is None).

    Raises
    ------
    DataError
        When the registry holds no (such) study dictionary.
    """
    query = select(StudyDictionaryVersion)
    if version is not None:
        query = query.where(StudyDictionaryVersion.version == version)
    record = session.scalars(query.order_by(StudyDictionaryVersion.version.desc())).first()
    if record is None:
        raise DataError("the registry holds no study dictionary"
                        + (f" version {version}" if version is not None else "")
                        + "; import one with `regmed dictionary import FILE`")
    return record


def latest_study_dictionary(session: Session) -> StudyDictionary | None:
    """The latest stored study dictionary, or None when the registry holds none."""
    record = _latest(session)
    return None if record is None else dictionary_of(record)


def study_dictionary_history(session: Session) -> list[dict[str, Any]]:
    """Every version: version, sha256, variables, file, who (the audit event's actor),
    when and why."""
    rows = session.scalars(select(StudyDictionaryVersion)
                           .order_by(StudyDictionaryVersion.version)).all()
    out = []
    for r in rows:
        actor = session.scalar(select(AuditEvent.actor).where(
            AuditEvent.table_name == "study_dictionary_versions",
            AuditEvent.record_id == r.id, AuditEvent.action == "insert").limit(1))
        out.append({"version": r.version, "sha256": r.sha256, "variables": r.n_variables,
                    "source_file": r.source_file, "source_sha256": r.source_sha256,
                    "imported_at": r.imported_at.isoformat() if r.imported_at else None,
                    "imported_by": actor or r.imported_by, "reason": r.reason})
    return out


@lru_cache(maxsize=8)
def _parse(text: str) -> StudyDictionary:
    return StudyDictionary.from_json(text)


def dictionary_of(record: StudyDictionaryVersion) -> StudyDictionary:
    """The study dictionary of a stored version (checked against its SHA-256).

    Raises
    ------
    DataError
        When the stored text does not match its SHA-256.
    """
    d = _parse(record.json_text)
    if d.sha256() != record.sha256:
        raise DataError(f"study dictionary version {record.version} does not match its "
                        "SHA-256; it was changed outside regmed")
    return d
