"""Audited write services on single records, and users.

Every function takes the caller's ``session`` (keyword-only) and never commits; the caller's
unit of work (:func:`regmed.registry.db.session_scope`) does. Each insert, update and delete
appends an audit event; an update or delete needs a reason.

Examples
--------
>>> from regmed.registry import make_engine, upgrade, session_scope, add_user
>>> engine = make_engine("sqlite://")
>>> _ = upgrade(engine)
>>> with session_scope(engine) as session:
...     user = add_user("ana", "statistician", session=session, actor="admin")
...     user.role
'statistician'
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from regmed.errors import DataError, Problem
from regmed.registry.adjudicated import add_reopenings
from regmed.registry.audit import AuditWriter, audit_values, canonical_json
from regmed.registry.custody import record_problems
from regmed.registry.dictionary import load_dictionary
from regmed.registry.identifiers import normalize_identifier
from regmed.registry.locks import check_record
from regmed.registry.models import (
    AUDITED_MODELS,
    ROLES,
    Adjudication,
    Assessment,
    Base,
    Lot,
    LotFile,
    Patient,
    Product,
    QualityAttribute,
    Site,
    User,
)

__all__ = [
    "add_record",
    "update_record",
    "delete_record",
    "record_key",
    "add_user",
    "list_users",
    "hash_password",
    "verify_password",
    "UNKNOWN_USER_HASH",
]

_SINGLE_KEYS = {
    "sites": ("site_code",),
    "products": ("product_code",),
    "indications": ("indication_code",),
    "donors": ("donor_code",),
    "lots": ("lot_code",),
    "shipments": ("shipment_code",),
    "assessments": ("assessment_ref",),
    "users": ("username",),
    "plan_versions": ("name", "version"),
    "study_dictionary_versions": ("version",),
    "settings": ("name",),
    "evaluations": ("id",),
}
_PATIENT_KEYS = {
    "baseline": ("variable",),
    "visit_values": ("visit", "variable"),
    "enrollments": (),
    "administrations": ("lot",),
    "adverse_events": ("ae_ref",),
    "follow_ups": (),
}


def _row(record: Base) -> dict[str, Any]:
    return {c.key: getattr(record, c.key) for c in record.__table__.columns}


def record_key(record: Base, *, session: Session) -> str:
    """The natural key of a record as the audit trail shows it (``a:b:c``).

    Keys follow the column dictionary, with the patient's pseudonym in place of
    ``patient_ref`` (e.g. ``baseline`` → ``S01:<pseudonym>:ais_grade``).
    """
    table = record.__tablename__
    if table in _SINGLE_KEYS:
        return ":".join(str(getattr(record, c)) for c in _SINGLE_KEYS[table])
    if isinstance(record, Patient):
        site = session.get(Site, record.site_id)
        return f"{site.site_code if site else '?'}:{record.pseudonym}"
    if table in _PATIENT_KEYS:
        patient = session.get(Patient, record.patient_id)  # type: ignore[attr-defined]
        if patient is None:
            raise DataError(f"{table}: unknown patient id {record.patient_id}")  # type: ignore
        site = session.get(Site, patient.site_id)
        parts = [site.site_code if site else "?", patient.pseudonym]
        for c in _PATIENT_KEYS[table]:
            if c == "lot":
                lot = session.get(Lot, record.lot_id)  # type: ignore[attr-defined]
                parts.append(lot.lot_code if lot else "?")
            else:
                parts.append(str(getattr(record, c)))
        return ":".join(parts)
    if table == "quality_attributes":
        product = session.get(Product, record.product_id)  # type: ignore[attr-defined]
        return f"{product.product_code if product else '?'}:{record.attribute_code}"  # type: ignore
    if table == "lot_results":
        lot = session.get(Lot, record.lot_id)  # type: ignore[attr-defined]
        attr = session.get(QualityAttribute, record.attribute_id)  # type: ignore[attr-defined]
        return f"{lot.lot_code if lot else '?'}:{attr.attribute_code if attr else '?'}"
    if isinstance(record, LotFile):
        lot = session.get(Lot, record.lot_id)
        return f"{lot.lot_code if lot else '?'}:{record.kind}:{record.path}"
    if isinstance(record, Adjudication):
        assessment = session.get(Assessment, record.assessment_id)
        return f"{assessment.assessment_ref if assessment else '?'}:{record.reviewer}"
    return str(getattr(record, "id", "?"))


def _check_audited(record: Base) -> str:
    table = record.__tablename__
    if table not in AUDITED_MODELS:
        raise DataError(f"records of {table!r} cannot be written through this service")
    return table


def _need_reason(reason: str | None, what: str) -> str:
    if reason is None or not str(reason).strip():
        raise DataError(f"{what} needs a reason (the record was entered before)")
    return str(reason)


def _check_custody(session: Session, table: str, values: Mapping[str, Any]) -> None:
    """An administration keeps the chain of identity and custody
    (:mod:`regmed.registry.custody`)."""
    if table != "administrations":
        return
    problems = record_problems(session, values)
    if problems:
        raise DataError("administration refused: nothing was written", problems)


def add_record(record: Base, *, session: Session, actor: str, reason: str | None = None) -> Base:
    """Insert ``record`` (a new model instance) and audit it. Returns the flushed record.

    Refused for frozen data (:mod:`regmed.registry.locks`); an administration must keep the
    chain of identity and custody.
    """
    table = _check_audited(record)
    for c in load_dictionary().identifiers:  # as the importer: Ｌ０１ is L01
        if c in record.__table__.columns:
            setattr(record, c, normalize_identifier(getattr(record, c), c))
    check_record(session, record, "insert")
    _check_custody(session, table, _row(record))
    writer = AuditWriter(session, actor)
    session.add(record)
    session.flush()
    values = canonical_json(audit_values(table, _row(record)))
    key = record_key(record, session=session)
    writer.add(table, int(record.id), key, "insert", None, values, reason)  # type: ignore
    writer.flush()
    return record


def update_record(
    record: Base,
    changes: Mapping[str, Any],
    *,
    session: Session,
    actor: str,
    reason: str | None,
) -> Base:
    """Change fields of a stored ``record``; needs a ``reason``. Unchanged fields write nothing.

    Raises
    ------
    DataError
        When no reason is given, a field is not a column of the record, or the record may
        not change (signed or locked, a locked plan, a sealed evaluation, frozen data: see
        :mod:`regmed.registry.locks`).
    """
    table = _check_audited(record)
    columns = set(record.__table__.columns.keys())
    unknown = [k for k in changes if k not in columns or k == "id"]
    if unknown:
        raise DataError(
            f"cannot change {table}",
            [Problem("not a changeable column", field=k) for k in unknown],
        )
    reason = _need_reason(reason, f"changing a record of {table}")
    ids = load_dictionary().identifiers
    changes = {k: normalize_identifier(v, k) if k in ids else v for k, v in changes.items()}
    old = _row(record)
    if all(old[k] == v for k, v in changes.items()):
        return record
    check_record(session, record, "update", old)
    _check_custody(session, table, {**old, **changes})
    writer = AuditWriter(session, actor)
    for k, v in changes.items():
        setattr(record, k, v)
    session.flush()
    new = _row(record)
    writer.add(
        table,
        int(old["id"]),
        record_key(record, session=session),
        "update",
        canonical_json(audit_values(table, old)),
        canonical_json(audit_values(table, new)),
        reason,
    )
    if table == "assessments":  # its adjudication goes back to the adjudicators
        add_reopenings(session, writer, [int(old["id"])], reason)
    writer.flush()
    return record


def delete_record(record: Base, *, session: Session, actor: str, reason: str | None) -> None:
    """Delete a stored ``record``; needs a ``reason``. Refused when the record may not change
    (:mod:`regmed.registry.locks`)."""
    table = _check_audited(record)
    reason = _need_reason(reason, f"deleting a record of {table}")
    old = _row(record)
    check_record(session, record, "delete", old)
    key = record_key(record, session=session)
    writer = AuditWriter(session, actor)
    session.delete(record)
    session.flush()
    old_json = canonical_json(audit_values(table, old))
    writer.add(table, int(old["id"]), key, "delete", old_json, None, reason)
    writer.flush()


#: A :func:`hash_password` hash of a random, forgotten password, with the parameters users'
#: hashes have: verified for an unknown or inactive user, so that the time a check takes does
#: not tell user names apart.
UNKNOWN_USER_HASH = (
    "scrypt$16384$8$1$3Lh924R1AiJE6LWj9uDv7A==$F8XnAPlB/MuW7kRidariGgFuGUU+vfV/tT6Aa+Xv4VI=")


def hash_password(password: str) -> str:
    """scrypt hash of ``password``: ``scrypt$n$r$p$salt$hash`` (base64 parts)."""
    n, r, p = 2**14, 8, 1
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${n}${r}${p}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, hashed: str | None) -> bool:
    """True when ``password`` matches a :func:`hash_password` hash."""
    if not hashed:
        return False
    try:
        kind, n, r, p, salt, digest = hashed.split("$")
    except ValueError:
        return False
    if kind != "scrypt":
        return False
    got = hashlib.scrypt(
        password.encode(),
        salt=base64.b64decode(salt),
        n=int(n),
        r=int(r),
        p=int(p),
        dklen=len(base64.b64decode(digest)),
    )
    return hmac.compare_digest(got, base64.b64decode(digest))


#: A user's language and date style (None: follow the browser).
USER_LANGUAGES = ("ja", "en")
USER_DATE_STYLES = ("western", "wareki")


def preference_problems(language: str | None, date_style: str | None) -> list[Problem]:
    """Problems of a user's language and date style (None is allowed)."""
    return [Problem(f"{value!r} is not one of {', '.join(allowed)}", field=column)
            for column, value, allowed in (("language", language, USER_LANGUAGES),
                                           ("date_style", date_style, USER_DATE_STYLES))
            if value is not None and value not in allowed]


def add_user(
    username: str,
    role: str,
    *,
    session: Session,
    actor: str,
    site_code: str | None = None,
    password: str | None = None,
    full_name: str | None = None,
    language: str | None = None,
    date_style: str | None = None,
) -> User:
    """Add a user. Investigators must be bound to one site; other roles to none. A password
    must satisfy :func:`regmed.registry.passwords.password_problems`; ``full_name`` is the
    printed name on the user's electronic signatures; ``language`` (``ja``/``en``) and
    ``date_style`` (``western``/``wareki``) the user's pages (None: as their browser asks).

    Raises
    ------
    DataError
        Unknown role, missing or unknown site, site given for another role, the
        username is taken, or the password breaks the policy.
    """
    from regmed.registry.passwords import password_problems

    problems = []
    username = (username or "").strip()
    if not username:
        problems.append(Problem("a username is required", field="username"))
    if role not in ROLES:
        problems.append(Problem(f"unknown role {role!r} (one of {', '.join(ROLES)})", field="role"))
    site = None
    if role == "investigator" and not site_code:
        problems.append(Problem("an investigator must be bound to a site", field="site"))
    if site_code and role != "investigator":
        problems.append(
            Problem(f"only investigators are bound to a site, not {role}s", field="site")
        )
    if site_code:
        site = session.execute(select(Site).where(Site.site_code == site_code)).scalar()
        if site is None:
            problems.append(Problem(f"unknown site {site_code!r}", field="site"))
    if username and session.execute(select(User.id).where(User.username == username)).first():
        problems.append(Problem(f"user {username!r} exists already", field="username"))
    if password is not None:
        problems += password_problems(password, username)
    problems += preference_problems(language, date_style)
    if problems:
        raise DataError(f"cannot add user {username!r}", problems)
    user = User(
        username=username,
        role=role,
        site_id=site.id if site else None,
        password_hash=hash_password(password) if password else None,
        active=True,
        full_name=(full_name or "").strip() or None,
        language=language,
        date_style=date_style,
    )
    add_record(user, session=session, actor=actor)
    return user


def list_users(*, session: Session) -> list[dict[str, Any]]:
    """All users as dicts (username, role, site, active, has_password), by username."""
    rows = session.execute(
        select(User, Site.site_code)
        .outerjoin(Site, Site.id == User.site_id)
        .order_by(User.username)
    ).all()
    return [
        {
            "username": u.username,
            "role": u.role,
            "site": code,
            "active": u.active,
            "has_password": u.password_hash is not None,
        }
        for u, code in rows
    ]
