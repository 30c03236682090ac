"""regmed.registry — the registry of record.

SQLAlchemy models, engines and sessions, Alembic migrations (the only way the schema is made),
the append-only, hash-chained and keyed audit trail, pseudonymization of patient identifiers,
and the validated import/export of the column dictionary (``dictionary.yaml``).

Examples
--------
>>> import regmed.registry as reg
>>> engine = reg.make_engine("sqlite://")
>>> reg.upgrade(engine) == reg.head_revision()
True
>>> with reg.session_scope(engine) as session:
...     reg.verify_audit(session).ok
True
"""

from __future__ import annotations

from regmed.registry.audit import audit_log, count_events
from regmed.registry.audit_checkpoint import read_checkpoint, write_checkpoint
from regmed.registry.audit_key import load_audit_key
from regmed.registry.audit_verify import AuditVerification, verify_audit
from regmed.registry.db import (
    DEFAULT_URL,
    current_revision,
    database_url,
    head_revision,
    make_engine,
    run_write,
    session_scope,
    upgrade,
)
from regmed.registry.dictionary import (
    PSEUDONYM_COLUMN,
    ColumnDictionary,
    format_dictionary,
    load_dictionary,
)
from regmed.registry.importer import ImportSummary, import_tables
from regmed.registry.io import export_frames, export_tables, read_folder
from regmed.registry.lot_files import lot_attribute, lot_files, register_lot_file
from regmed.registry.models import (
    COHORTS,
    ROLES,
    Adjudication,
    Administration,
    AdverseEvent,
    Assessment,
    AuditEvent,
    AuditKey,
    Base,
    Baseline,
    Donor,
    Enrollment,
    Evaluation,
    FollowUp,
    Indication,
    Lot,
    LotFile,
    LotResult,
    Patient,
    PlanVersion,
    Product,
    QualityAttribute,
    Setting,
    Shipment,
    Site,
    User,
    VisitValue,
)
from regmed.registry.pseudonym import ensure_key, load_key, pseudonymize
from regmed.registry.services import (
    add_record,
    add_user,
    delete_record,
    hash_password,
    list_users,
    record_key,
    update_record,
    verify_password,
)
from regmed.registry.single import SINGLE_TABLES, SavedRow, save_row
from regmed.registry.web_models import AdjudicationAssignment, DataQuery, RecordLock

__all__ = [
    "DEFAULT_URL",
    "database_url",
    "make_engine",
    "session_scope",
    "run_write",
    "upgrade",
    "current_revision",
    "head_revision",
    "AuditVerification",
    "verify_audit",
    "read_checkpoint",
    "write_checkpoint",
    "load_audit_key",
    "audit_log",
    "count_events",
    "PSEUDONYM_COLUMN",
    "ColumnDictionary",
    "load_dictionary",
    "format_dictionary",
    "ImportSummary",
    "import_tables",
    "save_row",
    "SavedRow",
    "SINGLE_TABLES",
    "read_folder",
    "export_tables",
    "export_frames",
    "register_lot_file",
    "lot_files",
    "lot_attribute",
    "ensure_key",
    "load_key",
    "pseudonymize",
    "add_record",
    "update_record",
    "delete_record",
    "record_key",
    "add_user",
    "list_users",
    "hash_password",
    "verify_password",
    "COHORTS",
    "ROLES",
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
    "Evaluation",
    "Setting",
    "AuditEvent",
    "AuditKey",
    "AdjudicationAssignment",
    "RecordLock",
    "DataQuery",
]
