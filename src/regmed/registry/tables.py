"""How each table of the column dictionary maps onto the registry's models.

A dictionary table names other records by their codes (``site_code``, ``lot_code``, the
patient's ``site_code`` + ``patient_ref``); the models hold surrogate ids. A :class:`Link` says
which dictionary columns resolve to which id column. :func:`load_keys` reads a table's ids with
their natural keys, and :func:`existing_frame` reads a whole table back in dictionary form (the
shape :func:`~regmed.registry.io.export_tables` writes and the importer compares against).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from regmed.registry.dictionary import PSEUDONYM_COLUMN, TableSpec, load_dictionary
from regmed.registry.models import (
    Adjudication,
    Administration,
    AdverseEvent,
    Assessment,
    Base,
    Baseline,
    Donor,
    Enrollment,
    FollowUp,
    Indication,
    Lot,
    LotFile,
    LotResult,
    Patient,
    Product,
    QualityAttribute,
    Shipment,
    Site,
    VisitValue,
)

__all__ = [
    "Link",
    "TableMap",
    "TABLE_MAPS",
    "KEY_COLUMNS",
    "file_columns",
    "key_columns",
    "load_keys",
    "existing_frame",
    "record_keys",
]

#: Natural-key columns (dictionary names) of each lookup target, as read by :func:`load_keys`.
KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "sites": ("site_code",),
    "products": ("product_code",),
    "donors": ("donor_code",),
    "indications": ("indication_code",),
    "lots": ("lot_code",),
    "quality_attributes": ("product_code", "attribute_code"),
    "patients": (PSEUDONYM_COLUMN,),
    "assessments": ("assessment_ref",),
}


@dataclass(frozen=True)
class Link:
    """Dictionary columns ``columns`` resolve to ``db_column`` through the keys of ``target``."""

    columns: tuple[str, ...]
    db_column: str
    target: str


@dataclass(frozen=True)
class TableMap:
    """A dictionary table's model, links, and dictionary→model column renames."""

    model: type[Base]
    links: tuple[Link, ...] = ()
    renames: tuple[tuple[str, str], ...] = ()


_PATIENT = Link((PSEUDONYM_COLUMN,), "patient_id", "patients")
_PRODUCT = Link(("product_code",), "product_id", "products")
_LOT = Link(("lot_code",), "lot_id", "lots")
_SITE = Link(("site_code",), "site_id", "sites")

TABLE_MAPS: dict[str, TableMap] = {
    "sites": TableMap(Site),
    "products": TableMap(Product),
    "indications": TableMap(Indication, (_PRODUCT,)),
    "quality_attributes": TableMap(QualityAttribute, (_PRODUCT,)),
    "donors": TableMap(Donor),
    "lots": TableMap(Lot, (_PRODUCT, Link(("donor_code",), "donor_id", "donors"))),
    "lot_results": TableMap(
        LotResult,
        (_LOT, Link(("_product_code", "attribute_code"), "attribute_id", "quality_attributes")),
    ),
    "lot_files": TableMap(LotFile, (_LOT,)),
    "shipments": TableMap(Shipment, (_LOT, _SITE)),
    "patients": TableMap(Patient, (_SITE, Link(("donor_code",), "donor_id", "donors")),
                         ((PSEUDONYM_COLUMN, "pseudonym"),)),
    "baseline": TableMap(Baseline, (_PATIENT,)),
    "visit_values": TableMap(VisitValue, (_PATIENT,)),
    "enrollments": TableMap(
        Enrollment, (_PATIENT, Link(("indication_code",), "indication_id", "indications"))
    ),
    "administrations": TableMap(Administration, (_PATIENT, _LOT)),
    "assessments": TableMap(Assessment, (_PATIENT,)),
    "adjudications": TableMap(
        Adjudication, (Link(("assessment_ref",), "assessment_id", "assessments"),)
    ),
    "adverse_events": TableMap(AdverseEvent, (_PATIENT,)),
    "follow_ups": TableMap(FollowUp, (_PATIENT,)),
}


def file_columns(spec: TableSpec) -> list[str]:
    """The dictionary columns as exported (``patient_ref`` → ``patient_pseudonym``)."""
    return [PSEUDONYM_COLUMN if c == "patient_ref" else c for c in spec.columns]


def key_columns(spec: TableSpec) -> list[str]:
    """The key columns in exported form (``patient_ref`` → ``patient_pseudonym``)."""
    return [PSEUDONYM_COLUMN if c == "patient_ref" else c for c in spec.key]


def load_keys(session: Session, target: str) -> pd.DataFrame:
    """Ids and natural keys of ``target`` (columns ``id`` + :data:`KEY_COLUMNS`, plus extras).

    ``patients`` also carries ``site_code`` and ``birth_year``; ``lots`` carries
    ``product_code`` and ``manufactured_on``; ``quality_attributes`` carries ``unit``.
    """
    q: Any
    if target == "patients":
        q = select(Patient.id, Patient.pseudonym, Site.site_code, Patient.birth_year).join(
            Site, Site.id == Patient.site_id
        )
        cols = ["id", PSEUDONYM_COLUMN, "site_code", "birth_year"]
    elif target == "lots":
        q = select(Lot.id, Lot.lot_code, Product.product_code, Lot.manufactured_on).join(
            Product, Product.id == Lot.product_id
        )
        cols = ["id", "lot_code", "product_code", "manufactured_on"]
    elif target == "quality_attributes":
        q = select(
            QualityAttribute.id,
            Product.product_code,
            QualityAttribute.attribute_code,
            QualityAttribute.unit,
            QualityAttribute.spec_category,
        ).join(Product, Product.id == QualityAttribute.product_id)
        cols = ["id", "product_code", "attribute_code", "unit", "spec_category"]
    elif target == "assessments":
        q = select(Assessment.id, Assessment.assessment_ref, Assessment.assessed_on)
        cols = ["id", "assessment_ref", "assessed_on"]
    else:
        model = TABLE_MAPS[target].model
        (code,) = KEY_COLUMNS[target]
        q = select(model.__table__.c.id, model.__table__.c[code])
        cols = ["id", code]
    rows = session.execute(q).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=cols, dtype=object)


def _candidates(
    session: Session, table: str, like: pd.DataFrame, keys: dict[str, pd.DataFrame]
) -> tuple[Any, list[Any]] | None:
    """The column and values that the records matching ``like``'s keys must have, or None
    when they cannot be narrowed down (then all records are read)."""
    d = load_dictionary()
    spec = d.tables[table]
    tmap = TABLE_MAPS[table]
    t = tmap.model.__table__
    cols = sorted(key_columns(spec), key=lambda c: c != PSEUDONYM_COLUMN)  # patient first
    for col in cols:
        if col not in like:
            continue
        # a case-sensitive code: its case variants too, for the near-duplicate check
        fold = col in d.identifiers and col not in d.case_insensitive
        wanted = {_lower(v) if fold else v for v in like[col].tolist() if v is not None}
        for link in tmap.links:
            if link.columns == (col,):
                if link.target not in keys:
                    keys[link.target] = load_keys(session, link.target)
                target = keys[link.target]
                have = target[col].map(_lower) if fold else target[col]
                ids = target.loc[have.isin(wanted), "id"].tolist()
                return t.c[link.db_column], [int(i) for i in ids]
        column = dict(tmap.renames).get(col, col)
        if column in t.c:
            return (func.lower(t.c[column]) if fold else t.c[column]), sorted(wanted, key=str)
    return None


def _lower(value: Any) -> Any:
    """``value`` in lower case (SQL's ``lower``) when it is a string."""
    return value.lower() if isinstance(value, str) else value


def existing_frame(
    session: Session,
    table: str,
    keys: dict[str, pd.DataFrame] | None = None,
    like: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The records of dictionary table ``table`` in exported form, plus their ``_id``.

    ``keys`` may hold already-loaded :func:`load_keys` frames (they are reused and added to).
    With ``like`` (a frame in dictionary form), only records that may share a key with its
    rows are read — all of them, but not the whole table (an import of one chunk of a large
    file compares against its own candidates, not against every stored record).
    """
    keys = {} if keys is None else keys
    spec = load_dictionary().tables[table]
    tmap = TABLE_MAPS[table]
    t = tmap.model.__table__
    narrow = None if like is None else _candidates(session, table, like, keys)
    if narrow is None:
        rows = session.execute(select(t)).all()
    else:
        column, values = narrow
        rows = []
        for start in range(0, len(values), 500):
            rows += session.execute(select(t).where(column.in_(values[start:start + 500]))).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=list(t.c.keys()), dtype=object)
    for dict_col, db_col in tmap.renames:
        frame[dict_col] = frame[db_col]
    for link in tmap.links:
        if link.target not in keys:
            keys[link.target] = load_keys(session, link.target)
        target = keys[link.target]
        wanted = [c for c in link.columns if not c.startswith("_")]
        extra = ["site_code"] if link.target == "patients" else []
        lookup = target.set_index("id")
        for c in wanted + extra:
            frame[c] = frame[link.db_column].map(lookup[c]) if len(frame) else []
    out = pd.DataFrame(index=frame.index)
    for c in file_columns(spec):
        out[c] = frame[c] if c in frame else pd.Series(None, index=frame.index, dtype=object)
    out["_id"] = frame["id"] if "id" in frame else []
    return out.astype(object).where(out.notna(), None)


def record_keys(frame: pd.DataFrame, spec: TableSpec) -> list[str]:
    """Natural keys (``a:b:c``) of the rows of an exported-form frame."""
    cols = key_columns(spec)
    if len(cols) == 1:
        return [str(v) for v in frame[cols[0]].tolist()]
    parts = [frame[c].astype(str).tolist() for c in cols]
    return [":".join(p) for p in zip(*parts, strict=True)]
