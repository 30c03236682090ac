"""Checks of rows against stored records besides references: ``unique`` sets and codes.

Records may not repeat one another besides their key (the dictionary's ``unique``).

An assessment names its visit by patient, endpoint, visit, assessor role and assessor; a second
one of the same five under another ``assessment_ref`` is a duplicate visit (entered twice, or on
the wrong visit). :func:`unique_problems` checks a parsed table's rows against each other and
against the stored records, for the bulk importer and the single-record path alike.
:func:`adjudication_code_problems` checks that an adjudication of a coded endpoint's
assessment gives one of its codes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from regmed.errors import Problem
from regmed.registry import rules
from regmed.registry.dictionary import PSEUDONYM_COLUMN, load_dictionary
from regmed.registry.models import Assessment, Patient
from regmed.registry.tables import TABLE_MAPS
from regmed.registry.validate import ParsedTable

__all__ = ["unique_columns", "stored_unique", "unique_problems", "adjudication_code_problems"]


def unique_columns(table: str) -> list[tuple[str, ...]]:
    """The dictionary's ``unique`` column sets of ``table``, with the patient named by its
    pseudonym (``site_code`` and ``patient_ref`` → ``patient_pseudonym``)."""
    out = []
    for cols in load_dictionary().tables[table].unique:
        named = [PSEUDONYM_COLUMN if c == "patient_ref" else c for c in cols if c != "site_code"]
        out.append(tuple(named))
    return out


def stored_unique(session: Session, table: str, cols: Sequence[str],
                  pseudonyms: Iterable[str]) -> dict[tuple[Any, ...], Any]:
    """The stored records of the patients ``pseudonyms``: ``cols`` values → record key."""
    tmap = TABLE_MAPS[table]
    t = tmap.model.__table__
    key = load_dictionary().tables[table].key[0]
    wanted = sorted(set(pseudonyms))
    found: dict[tuple[Any, ...], Any] = {}
    others = [t.c[c] for c in cols if c != PSEUDONYM_COLUMN]
    for start in range(0, len(wanted), 500):
        q = (select(Patient.pseudonym, *others, t.c[key])
             .join(Patient, Patient.id == t.c.patient_id)
             .where(Patient.pseudonym.in_(wanted[start:start + 500])))
        for row in session.execute(q):
            found[tuple(row[:-1])] = row[-1]
    return found


def unique_problems(session: Session, table: str, rows: Sequence[dict[str, Any]], file: str,
                    row_numbers: Sequence[int] | None = None) -> list[Problem]:
    """Rows (dictionary form, patients by pseudonym) that repeat another row or a stored
    record of another key in a ``unique`` column set."""
    spec = load_dictionary().tables[table]
    key = spec.key[0]
    numbers = list(row_numbers) if row_numbers is not None else list(range(1, len(rows) + 1))
    problems: list[Problem] = []
    mine = {r.get(key) for r in rows}
    for cols in unique_columns(table):
        where = "visit" if "visit" in cols else cols[-1]
        stored = stored_unique(session, table, cols,
                               (str(r[PSEUDONYM_COLUMN]) for r in rows
                                if r.get(PSEUDONYM_COLUMN) is not None))
        stored = {k: v for k, v in stored.items() if v not in mine}  # re-given: as in the file
        first: dict[tuple[Any, ...], int] = {}
        for n, r in zip(numbers, rows, strict=True):
            k = tuple(r.get(c) for c in cols)
            if any(v is None for v in k):
                continue
            shown = ", ".join(str(v) for v in k[1:])
            if k in stored and stored[k] != r.get(key):
                problems.append(Problem(f"{rules.DUPLICATE_VISIT} ({shown}) already: "
                                        f"{key} {stored[k]!r}", file=file, row=n,
                                        field=where))
            elif k in first:
                problems.append(Problem(f"{rules.DUPLICATE_VISIT} ({shown}) in row "
                                        f"{first[k]} already", file=file, row=n,
                                        field=where))
            else:
                first[k] = n
    return problems


def adjudication_code_problems(session: Session, p: ParsedTable,
                               assessments: ParsedTable | None) -> list[Problem]:
    """Adjudications of an assessment of a coded endpoint (``coded_values``) give one of its
    codes (``value_text`` NFKC-normalized in place when that makes it one). The assessment's
    endpoint is this import's (``assessments``) or the stored one."""
    if not ({"value", "value_text"} & p.given):
        return []
    f, problems = p.frame, []
    coded = load_dictionary().coded_values
    refs = sorted({r for r in f["assessment_ref"] if r is not None})
    endpoints: dict[Any, Any] = {}
    for start in range(0, len(refs), 500):
        q = select(Assessment.assessment_ref, Assessment.endpoint).where(
            Assessment.assessment_ref.in_(refs[start:start + 500]))
        endpoints.update(session.execute(q).tuples().all())
    if assessments is not None and "endpoint" in assessments.given:
        a = assessments.frame
        endpoints.update(zip(a["assessment_ref"], a["endpoint"], strict=True))
    endpoint = f["assessment_ref"].map(endpoints)
    for i in range(len(f)):
        e = endpoint.iat[i]
        found = rules.coded_problem(e if isinstance(e, str) else None, f["value"].iat[i],
                                    f["value_text"].iat[i], coded)
        if found and found[2] is not None:
            f.iloc[i, f.columns.get_loc("value_text")] = found[2]
        elif found:
            text = f["value_text"].iat[i]
            problems.append(Problem(found[1] if text is None else f"{found[1]}: {text!r}",
                                    file=p.file, row=i + 1, field=found[0]))
    return problems
