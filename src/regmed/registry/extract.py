"""``extract(session, plan)``: the registry's records as analysis-ready StudyData."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pandas as pd
from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from regmed.errors import DataError, RegmedError
from regmed.registry.adjudicated import stale_adjudications
from regmed.registry.audit import EVENT_COLUMNS, event_hash
from regmed.registry.audit_key import event_mac, load_audit_key
from regmed.registry.derive import build_study_data
from regmed.registry.dictionary import PSEUDONYM_COLUMN
from regmed.registry.extract_read import fetch_frame, read_tables
from regmed.registry.io import export_frames
from regmed.registry.models import (
    Adjudication,
    Assessment,
    AuditEvent,
    Baseline,
    Evaluation,
    Patient,
    Site,
)
from regmed.registry.services import add_record
from regmed.registry.study_check import stored_problems
from regmed.registry.study_dictionary import latest_study_dictionary
from regmed.registry.web_models import AdjudicationAssignment
from regmed.studydata import StudyData

__all__ = ["extract", "extract_exported", "store_evaluation", "load_evaluation", "check_seal",
           "list_evaluations"]


def _with_refs(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    out = {}
    for name, frame in tables.items():
        if PSEUDONYM_COLUMN in frame.columns and "patient_ref" not in frame.columns:
            frame = frame.rename(columns={PSEUDONYM_COLUMN: "patient_ref"})
        out[name] = frame
    return out


def extract(session: Session, plan: Any) -> StudyData:
    """Analysis-ready frames for the plan's endpoints, from the registry's records.

    Patients appear under their pseudonym (``site_code:pseudonym``); the derivation of each
    endpoint (visit windows, assessor roles, rule) follows the plan's ``measurement`` blocks,
    and every exclusion is an attrition row (see :func:`regmed.registry.derive.build_study_data`).
    Only complete adjudications count, and a verdict written before the last change of its
    assessment is set aside (:mod:`regmed.registry.adjudicated`).

    Only the tables, columns and rows the plan's analysis needs are read, each in one SQL
    statement (:func:`regmed.registry.extract_read.read_tables`); the result equals that of
    the full export (:func:`extract_exported`).
    """
    _check_dictionary(session, plan)
    tables = read_tables(session, plan)
    tables["adjudications"] = _mark_stale(session, tables["adjudications"])
    return build_study_data(tables, plan)


def extract_exported(session: Session, plan: Any) -> StudyData:
    """:func:`extract` from the full export of every table (:func:`export_frames`): the
    same study data, read the slow way (what the bulk reads are checked against)."""
    tables = export_frames(session)
    _check_dictionary(session, plan)
    tables["adjudications"] = _mark_stale(session, tables["adjudications"])
    return build_study_data(_with_refs(tables), plan)


def _baseline_values(session: Session, variables: list[str], *, distinct: bool
                     ) -> pd.DataFrame:
    """Stored baseline rows of ``variables`` in export form (``distinct``: each value once,
    without the patient)."""
    b = Baseline.__table__
    if distinct:
        stmt = select(b.c.variable.label("variable"), b.c.value.label("value"),
                      b.c.value_text.label("value_text"),
                      literal("").label("site_code"),
                      literal("").label(PSEUDONYM_COLUMN)).distinct()
    else:
        stmt = (select(b.c.variable.label("variable"), b.c.value.label("value"),
                       b.c.value_text.label("value_text"), Site.site_code.label("site_code"),
                       Patient.pseudonym.label(PSEUDONYM_COLUMN))
                .join(Patient, Patient.id == b.c.patient_id)
                .join(Site, Site.id == Patient.site_id))
    frame = fetch_frame(session, stmt.where(b.c.variable.in_(variables)))
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce").astype("float64")
    if not distinct:  # the export's order (code points, whatever the database's collation)
        frame = frame.sort_values(["site_code", PSEUDONYM_COLUMN, "variable"], kind="stable")
    return frame.reset_index(drop=True)


def _check_dictionary(session: Session, plan: Any) -> None:
    """Refuse an analysis whose stored covariates break the registry's study dictionary
    (the importer's and the web forms' rules; see :mod:`regmed.registry.study_check`).

    Each distinct stored value is checked once; only when one breaks the dictionary are the
    patients' rows read, to name each of them."""
    dictionary = latest_study_dictionary(session)
    if dictionary is None:
        return
    names: list[str] = []
    for control in getattr(plan, "controls", None) or []:
        adjustment = getattr(control, "adjustment", None)
        names += list(getattr(adjustment, "covariates", None) or [])
    names = list(dict.fromkeys(names))
    if not names or not stored_problems(_baseline_values(session, names, distinct=True),
                                        dictionary, names):
        return
    problems = stored_problems(_baseline_values(session, names, distinct=False), dictionary,
                               names)
    if problems:
        raise DataError(f"Stored baseline values do not follow the study dictionary "
                        f"(version {dictionary.version}); correct them before the analysis",
                        problems)


def _mark_stale(session: Session, adjudications: pd.DataFrame) -> pd.DataFrame:
    """The exported verdicts with ``stale`` set on those written before the last change of
    their assessment (a reopened adjudication) and ``needed``, the reviewers assigned to their
    event (see :mod:`regmed.registry.adjudicated`)."""
    stale = stale_adjudications(session)
    keys = set(session.execute(
        select(Assessment.assessment_ref, Adjudication.reviewer)
        .join(Assessment, Assessment.id == Adjudication.assessment_id)
        .where(Adjudication.id.in_(sorted(stale)))).all()) if stale else set()
    assigned: dict[str, int] = {ref: int(n) for ref, n in session.execute(
        select(Assessment.assessment_ref, func.count(AdjudicationAssignment.id))
        .join(Assessment, Assessment.id == AdjudicationAssignment.assessment_id)
        .where(AdjudicationAssignment.kind == "review")
        .group_by(Assessment.assessment_ref)).all()}
    out = adjudications.copy()
    out["stale"] = [(a, r) in keys for a, r in zip(out["assessment_ref"], out["reviewer"],
                                                   strict=True)]
    out["needed"] = [int(assigned.get(a, 0)) for a in out["assessment_ref"]]
    return out


def store_evaluation(
    document: dict[str, Any],
    *,
    session: Session,
    actor: str,
    plan_version_id: int | None,
) -> int:
    """Store an evaluation document (audited, as written) and return its id.

    The stored JSON is exactly what was audited, sealed by its SHA-256 (``evaluations.sha256``,
    also in the keyed audit event); :func:`load_evaluation` checks the seal and fills in
    ``meta.evaluation_id`` when it reads the document back.
    """
    meta = document["meta"]
    text = json.dumps(document, sort_keys=True, allow_nan=False)
    record = Evaluation(
        plan_version_id=plan_version_id,
        created_at=pd.Timestamp(meta["created_at"]).to_pydatetime(),
        regmed_version=str(meta["regmed_version"]), data_hash=str(meta["data_hash"]),
        seed=meta.get("seed"), exploratory=bool(meta.get("exploratory")),
        result_json=text, sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )
    add_record(record, session=session, actor=actor, reason="evaluation run")
    return int(record.id)


def check_seal(session: Session, record: Evaluation) -> None:
    """Refuse an evaluation whose document no longer matches its seal or its audit event.

    The document's SHA-256 must equal ``evaluations.sha256`` (when stored) and the
    ``result_json`` of the record's last audit event, whose hash and MAC must hold.

    Raises
    ------
    DataError
        Naming the evaluation and what no longer matches.
    """
    digest = hashlib.sha256(record.result_json.encode("utf-8")).hexdigest()
    where = f"evaluation {record.id} was changed after it was stored"
    if record.sha256 is not None and record.sha256 != digest:
        raise DataError(f"{where} (its SHA-256 no longer matches its seal); "
                        "run `regmed audit verify` and do not use it")
    event = session.execute(
        select(AuditEvent).where(AuditEvent.table_name == "evaluations",
                                 AuditEvent.record_id == record.id)
        .order_by(AuditEvent.seq.desc()).limit(1)
    ).scalar_one_or_none()
    audited = json.loads(event.new_values or "{}") if event is not None else {}
    fields = [getattr(event, c) for c in EVENT_COLUMNS[:-1]] if event is not None else []
    if (event is None or audited.get("result_json") != record.result_json
            or audited.get("sha256") != record.sha256
            or event_hash(*fields) != event.hash):
        raise DataError(f"{where} (it does not match its audit trail); "
                        "run `regmed audit verify` and do not use it")
    if event.mac is not None:
        try:
            key = load_audit_key(str(session.get_bind().engine.url))[0]
        except RegmedError:
            return  # `regmed audit verify` names the missing key
        if event_mac(key, event.hash) != event.mac:
            raise DataError(f"{where} (its audit event is not authenticated by the audit key)")


def load_evaluation(session: Session, evaluation_id: int) -> dict[str, Any]:
    """The stored evaluation document with this id, after checking its seal (:func:`check_seal`)."""
    record = session.get(Evaluation, int(evaluation_id))
    if record is None:
        ids = session.scalars(select(Evaluation.id).order_by(Evaluation.id)).all()
        raise DataError(f"no evaluation {evaluation_id} in the registry"
                        + (f"; stored ids: {', '.join(map(str, ids))}" if ids else ""))
    check_seal(session, record)
    document = dict(json.loads(record.result_json))
    document.setdefault("meta", {})["evaluation_id"] = int(record.id)
    return document


def list_evaluations(session: Session) -> list[dict[str, Any]]:
    """Stored evaluations: id, created_at, plan version id, exploratory, data hash."""
    rows = session.scalars(select(Evaluation).order_by(Evaluation.id)).all()
    return [{"id": r.id, "created_at": r.created_at.isoformat(), "plan_version_id":
             r.plan_version_id, "exploratory": r.exploratory, "data_hash": r.data_hash}
            for r in rows]
