"""SQLAlchemy 2 models of the registry of record.

Every registry table has an integer surrogate ``id`` and a unique natural key (the columns that
identify a row in the import column dictionary, with ``patient_ref`` replaced by the patient's
pseudonym). Foreign keys point at surrogate ids. The schema is made only by the Alembic
migrations shipped in :mod:`regmed.registry.migrations`; ``Base.metadata`` is their source.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "Base",
    "Product",
    "Indication",
    "Site",
    "Donor",
    "Lot",
    "QualityAttribute",
    "LotResult",
    "LotFile",
    "Shipment",
    "Patient",
    "Baseline",
    "VisitValue",
    "Enrollment",
    "Administration",
    "Assessment",
    "Adjudication",
    "AdverseEvent",
    "FollowUp",
    "User",
    "PlanVersion",
    "StudyDictionaryVersion",
    "Evaluation",
    "Setting",
    "AuditEvent",
    "ROLES",
    "COHORTS",
    "AUDITED_MODELS",
    "AuditKey",
    "model_for_table",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Roles a user can have.
ROLES = ("admin", "statistician", "investigator", "adjudicator", "regulator", "monitor")
#: Cohorts a patient can be enrolled in.
COHORTS = ("treated", "concurrent_control", "external_control", "historical_control")


class Base(DeclarativeBase):
    """Declarative base of all registry models."""

    metadata = MetaData(naming_convention=NAMING)


def _fk(target: str, nullable: bool = False) -> Mapped[int]:
    return mapped_column(ForeignKey(target, ondelete="RESTRICT"), nullable=nullable, index=True)


class Site(Base):
    __tablename__ = "sites"
    id: Mapped[int] = mapped_column(primary_key=True)
    site_code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    country: Mapped[str | None] = mapped_column(String(8))


class Product(Base):
    __tablename__ = "products"
    id: Mapped[int] = mapped_column(primary_key=True)
    product_code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(32))
    approval_kind: Mapped[str] = mapped_column(String(32))
    approval_date: Mapped[dt.date | None] = mapped_column(Date)
    #: Limits a lot must be received within (see :mod:`regmed.registry.custody`).
    receipt_min_temp_c: Mapped[float | None] = mapped_column(Float)
    receipt_max_temp_c: Mapped[float | None] = mapped_column(Float)
    max_time_out_of_storage_min: Mapped[float | None] = mapped_column(Float)


class Indication(Base):
    __tablename__ = "indications"
    id: Mapped[int] = mapped_column(primary_key=True)
    indication_code: Mapped[str] = mapped_column(String(64), unique=True)
    product_id: Mapped[int] = _fk("products.id")
    name: Mapped[str] = mapped_column(String(255))


class QualityAttribute(Base):
    __tablename__ = "quality_attributes"
    __table_args__ = (UniqueConstraint("product_id", "attribute_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = _fk("products.id")
    attribute_code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    unit: Mapped[str] = mapped_column(String(64))
    method: Mapped[str | None] = mapped_column(String(255))
    lower_spec: Mapped[float | None] = mapped_column(Float)
    upper_spec: Mapped[float | None] = mapped_column(Float)
    #: Accepted result(s) of a category test ("negative", "conforms"; ``|``-separated).
    spec_category: Mapped[str | None] = mapped_column(String(255))


class Donor(Base):
    __tablename__ = "donors"
    id: Mapped[int] = mapped_column(primary_key=True)
    donor_code: Mapped[str] = mapped_column(String(64), unique=True)
    sex: Mapped[str | None] = mapped_column(String(1))
    birth_year: Mapped[int | None] = mapped_column(Integer)


class Lot(Base):
    __tablename__ = "lots"
    id: Mapped[int] = mapped_column(primary_key=True)
    lot_code: Mapped[str] = mapped_column(String(64), unique=True)
    product_id: Mapped[int] = _fk("products.id")
    donor_id: Mapped[int | None] = _fk("donors.id", nullable=True)
    process_version: Mapped[str] = mapped_column(String(64))
    manufactured_on: Mapped[dt.date] = mapped_column(Date)
    released_on: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(32))
    coa_reference: Mapped[str | None] = mapped_column(String(255))


class LotResult(Base):
    __tablename__ = "lot_results"
    __table_args__ = (UniqueConstraint("lot_id", "attribute_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = _fk("lots.id")
    attribute_id: Mapped[int] = _fk("quality_attributes.id")
    value: Mapped[float | None] = mapped_column(Float)
    #: The result of a category test (e.g. "negative"); ``value`` is then empty.
    value_text: Mapped[str | None] = mapped_column(String(255))
    unit: Mapped[str] = mapped_column(String(64))
    measured_on: Mapped[dt.date | None] = mapped_column(Date)


class LotFile(Base):
    """A data file of a lot (e.g. its single-cell ``.h5ad``): where it is and its SHA-256."""

    __tablename__ = "lot_files"
    __table_args__ = (UniqueConstraint("lot_id", "kind", "path"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = _fk("lots.id")
    kind: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(1024))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str | None] = mapped_column(Text)


class Shipment(Base):
    __tablename__ = "shipments"
    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_code: Mapped[str] = mapped_column(String(64), unique=True)
    lot_id: Mapped[int] = _fk("lots.id")
    site_id: Mapped[int] = _fk("sites.id")
    shipped_on: Mapped[dt.date] = mapped_column(Date)
    received_on: Mapped[dt.date] = mapped_column(Date)
    receipt_temperature_c: Mapped[float | None] = mapped_column(Float)
    time_out_of_storage_min: Mapped[float | None] = mapped_column(Float)
    viability_at_receipt_pct: Mapped[float | None] = mapped_column(Float)
    #: The deviation report accepting a receipt outside the product's limits.
    deviation_reference: Mapped[str | None] = mapped_column(String(255))


class Patient(Base):
    """A patient, stored under the keyed hash of ``site_code:patient_ref`` (never the ref)."""

    __tablename__ = "patients"
    id: Mapped[int] = mapped_column(primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(64), unique=True)
    site_id: Mapped[int] = _fk("sites.id")
    sex: Mapped[str] = mapped_column(String(1))
    birth_year: Mapped[int] = mapped_column(Integer)
    #: The patient as a cell donor (autologous products: only this donor's lots are given).
    donor_id: Mapped[int | None] = _fk("donors.id", nullable=True)


class Baseline(Base):
    __tablename__ = "baseline"
    __table_args__ = (UniqueConstraint("patient_id", "variable"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = _fk("patients.id")
    variable: Mapped[str] = mapped_column(String(64))
    value: Mapped[float | None] = mapped_column(Float)
    value_text: Mapped[str | None] = mapped_column(String(255))


class VisitValue(Base):
    """A value of a visit form (the study dictionary's instrument–event mapping): one per
    patient, visit and variable."""

    __tablename__ = "visit_values"
    __table_args__ = (UniqueConstraint("patient_id", "visit", "variable"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = _fk("patients.id")
    visit: Mapped[str] = mapped_column(String(64))
    variable: Mapped[str] = mapped_column(String(64))
    value: Mapped[float | None] = mapped_column(Float)
    value_text: Mapped[str | None] = mapped_column(String(255))


class Enrollment(Base):
    __tablename__ = "enrollments"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="RESTRICT"), unique=True
    )
    indication_id: Mapped[int] = _fk("indications.id")
    cohort: Mapped[str] = mapped_column(String(32))
    direction: Mapped[str] = mapped_column(String(32))
    source: Mapped[str | None] = mapped_column(String(255))
    index_on: Mapped[dt.date] = mapped_column(Date)
    enrolled_on: Mapped[dt.date] = mapped_column(Date)


class Administration(Base):
    __tablename__ = "administrations"
    __table_args__ = (UniqueConstraint("patient_id", "lot_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = _fk("patients.id")
    lot_id: Mapped[int] = _fk("lots.id")
    administered_on: Mapped[dt.date] = mapped_column(Date)
    dose: Mapped[float] = mapped_column(Float)
    dose_unit: Mapped[str] = mapped_column(String(64))
    route: Mapped[str] = mapped_column(String(32))
    surgery: Mapped[bool | None] = mapped_column(Boolean)
    oos_request_documented: Mapped[bool | None] = mapped_column(Boolean)


class Assessment(Base):
    __tablename__ = "assessments"
    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_ref: Mapped[str] = mapped_column(String(128), unique=True)
    patient_id: Mapped[int] = _fk("patients.id")
    endpoint: Mapped[str] = mapped_column(String(64))
    visit: Mapped[str] = mapped_column(String(64))
    assessed_on: Mapped[dt.date] = mapped_column(Date)
    value: Mapped[float | None] = mapped_column(Float)
    value_text: Mapped[str | None] = mapped_column(String(255))
    assessor: Mapped[str] = mapped_column(String(128))
    assessor_role: Mapped[str] = mapped_column(String(32))
    blinded: Mapped[bool] = mapped_column(Boolean)


class Adjudication(Base):
    __tablename__ = "adjudications"
    __table_args__ = (UniqueConstraint("assessment_id", "reviewer"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = _fk("assessments.id")
    reviewer: Mapped[str] = mapped_column(String(128))
    value: Mapped[float | None] = mapped_column(Float)
    value_text: Mapped[str | None] = mapped_column(String(255))
    adjudicated_on: Mapped[dt.date] = mapped_column(Date)
    consensus: Mapped[bool | None] = mapped_column(Boolean)
    #: Coded reason of the verdict (see :mod:`regmed.registry.adjudicated`).
    reason: Mapped[str | None] = mapped_column(String(64))


class AdverseEvent(Base):
    __tablename__ = "adverse_events"
    __table_args__ = (UniqueConstraint("patient_id", "ae_ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = _fk("patients.id")
    ae_ref: Mapped[str] = mapped_column(String(128))
    term: Mapped[str] = mapped_column(String(255))
    onset_on: Mapped[dt.date] = mapped_column(Date)
    serious: Mapped[bool] = mapped_column(Boolean)
    grade: Mapped[int | None] = mapped_column(Integer)
    related: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str | None] = mapped_column(String(32))


class FollowUp(Base):
    __tablename__ = "follow_ups"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="RESTRICT"), unique=True
    )
    last_contact_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    death_on: Mapped[dt.date | None] = mapped_column(Date)
    death_cause: Mapped[str | None] = mapped_column(String(255))


class User(Base):
    """A user; investigators are bound to one site. ``password_hash`` is scrypt (optional)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    site_id: Mapped[int | None] = _fk("sites.id", nullable=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    full_name: Mapped[str | None] = mapped_column(String(255))  # printed on e-signatures
    #: The user's language (``ja``/``en``) and date style (``western``/``wareki``); None:
    #: the browser's choice.
    language: Mapped[str | None] = mapped_column(String(8))
    date_style: Mapped[str | None] = mapped_column(String(16))


class PlanVersion(Base):
    """One version of an evaluation plan (YAML text), with its lock (hash, signer, reason)."""

    __tablename__ = "plan_versions"
    __table_args__ = (UniqueConstraint("name", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer)
    yaml_text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    locked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    signer: Mapped[str | None] = mapped_column(String(128))
    reason: Mapped[str | None] = mapped_column(Text)


class StudyDictionaryVersion(Base):
    """One version of the study dictionary (canonical JSON of :class:`regmed.study
    .StudyDictionary`) with its SHA-256, the file it came from, who imported it and why.
    Versions are never changed; a new import is a new version (migration ``0010``)."""

    __tablename__ = "study_dictionary_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    json_text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    n_variables: Mapped[int] = mapped_column(Integer)
    source_file: Mapped[str | None] = mapped_column(String(512))
    source_sha256: Mapped[str | None] = mapped_column(String(64))
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    imported_by: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)


class Evaluation(Base):
    """A stored evaluation run of a locked plan version (results as JSON text)."""

    __tablename__ = "evaluations"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_version_id: Mapped[int | None] = _fk("plan_versions.id", nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    regmed_version: Mapped[str] = mapped_column(String(32))
    data_hash: Mapped[str] = mapped_column(String(64))
    seed: Mapped[int | None] = mapped_column(Integer)
    exploratory: Mapped[bool] = mapped_column(Boolean, default=False)
    result_json: Mapped[str] = mapped_column(Text)
    #: SHA-256 of ``result_json`` when stored (the seal; NULL for evaluations before 0006).
    sha256: Mapped[str | None] = mapped_column(String(64))


class Setting(Base):
    """Registry-wide settings, e.g. the check value of the pseudonymization key (not the key)."""

    __tablename__ = "settings"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    value: Mapped[str] = mapped_column(Text)


class AuditEvent(Base):
    """One append-only, hash-chained audit event (see :mod:`regmed.registry.audit`)."""

    __tablename__ = "audit_events"
    #: The last change of each record without a scan of every event (migration 0012).
    __table_args__ = (Index("ix_audit_events_table_name_record_id_seq", "table_name",
                            "record_id", "seq"),)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    occurred_at: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(128))
    table_name: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[int] = mapped_column(Integer)
    record_key: Mapped[str] = mapped_column(String(512), index=True)
    action: Mapped[str] = mapped_column(String(8))
    old_values: Mapped[str | None] = mapped_column(Text)
    new_values: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    #: HMAC-SHA256 of ``hash`` under the audit key (NULL only for events before 0006).
    mac: Mapped[str | None] = mapped_column(String(64))


class AuditKey(Base):
    """The check value of the audit key (never the key) and the first event it authenticates."""

    __tablename__ = "audit_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    check_value: Mapped[str] = mapped_column(String(64), unique=True)
    first_seq: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[str] = mapped_column(String(32))


#: Every model whose writes are audited, by table name.
AUDITED_MODELS: dict[str, type[Base]] = {
    m.__tablename__: m
    for m in (
        Site,
        Product,
        Indication,
        QualityAttribute,
        Donor,
        Lot,
        LotResult,
        LotFile,
        Shipment,
        Patient,
        Baseline,
        VisitValue,
        Enrollment,
        Administration,
        Assessment,
        Adjudication,
        AdverseEvent,
        FollowUp,
        User,
        PlanVersion,
        StudyDictionaryVersion,
        Evaluation,
        Setting,
    )
}


def model_for_table(name: str) -> type[Base]:
    """Return the audited model stored in table ``name`` (KeyError if none)."""
    return AUDITED_MODELS[name]
