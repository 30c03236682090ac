"""The single validated, audited import path: :func:`import_tables`.

CSV/Excel/Parquet folders (:func:`regmed.registry.io.read_folder`) and the demo generator both
come through here. Every problem is collected first (column level in
:mod:`regmed.registry.validate`; references, units and date order across tables here; changes to
existing records without a reason); any problem raises one :class:`~regmed.errors.DataError`
and nothing is written. Otherwise the rows are written in bulk inside a savepoint of the
caller's transaction, each with its audit event. Rows whose key already exists update that
record (an audited change that needs a reason); rows equal to the stored record change nothing,
so importing an unchanged export is a no-op. Columns left out of a file are left as they are on
existing records (and empty on new ones).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import Table, UniqueConstraint, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from regmed.errors import DataError, Problem
from regmed.registry import custody, rules
from regmed.registry.adjudicated import add_reopenings
from regmed.registry.audit import AuditWriter, audit_values, canonical_json, canonical_rows
from regmed.registry.bulk import bulk_insert, max_id
from regmed.registry.custody_changes import stored_problems
from regmed.registry.dictionary import PSEUDONYM_COLUMN, load_dictionary
from regmed.registry.identifiers import near_duplicate_problems, normalize_frame
from regmed.registry.models import Setting
from regmed.registry.pseudonym import key_check_value, load_key, pseudonymize_many
from regmed.registry.study_check import governed_variables, study_problems
from regmed.registry.sync import record_import
from regmed.registry.tables import (
    TABLE_MAPS,
    existing_frame,
    file_columns,
    key_columns,
    load_keys,
    record_keys,
)
from regmed.registry.unique import adjudication_code_problems, unique_columns, unique_problems
from regmed.registry.validate import ParsedTable, parse_table, problems_at

__all__ = ["ImportSummary", "import_tables", "prepare_import", "Prepared", "KEY_CHECK_SETTING"]

KEY_CHECK_SETTING = "pseudonym_key_check"
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ImportSummary:
    """What an import did, per table: rows inserted, updated and unchanged; audit events."""

    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    events: int = 0

    @property
    def rows(self) -> int:
        """All rows read."""
        return (
            sum(self.inserted.values()) + sum(self.updated.values()) + sum(self.unchanged.values())
        )

    def summary(self) -> str:
        """A small text table."""
        lines = [f"{'table':<20}{'inserted':>10}{'updated':>10}{'unchanged':>10}"]
        for t in self.inserted:
            lines.append(
                f"{t:<20}{self.inserted[t]:>10}{self.updated[t]:>10}{self.unchanged[t]:>10}"
            )
        lines.append(f"audit events written: {self.events}")
        return "\n".join(lines)


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return bool(a == b)


class _Context:
    """Lookups shared by the cross-table checks: DB keys plus this import's rows."""

    def __init__(self, session: Session, parsed: dict[str, ParsedTable]) -> None:
        self.session = session
        self.parsed = parsed
        self.keys: dict[str, pd.DataFrame] = {}

    def db(self, target: str) -> pd.DataFrame:
        if target not in self.keys:
            self.keys[target] = load_keys(self.session, target)
        return self.keys[target]

    def known(self, target: str, cols: tuple[str, ...]) -> set[tuple[Any, ...]]:
        out = set(self.db(target)[list(cols)].itertuples(index=False, name=None))
        if target in self.parsed:
            f = self.parsed[target].frame
            if all(c in f for c in cols):
                out |= set(f[list(cols)].dropna().itertuples(index=False, name=None))
        return out

    def enrollments(self) -> pd.DataFrame:
        """Index date and enrollment date per pseudonym (DB, overridden by this import)."""
        if "_enrollments" not in self.keys:
            db = existing_frame(self.session, "enrollments", self.keys)
            frame = db[[PSEUDONYM_COLUMN, "index_on", "enrolled_on"]]
            if "enrollments" in self.parsed:
                new = self.parsed["enrollments"].frame[
                    [PSEUDONYM_COLUMN, "index_on", "enrolled_on"]
                ]
                frame = pd.concat([frame, new.dropna(subset=[PSEUDONYM_COLUMN])])
            frame = frame.drop_duplicates(PSEUDONYM_COLUMN, keep="last")
            self.keys["_enrollments"] = frame.set_index(PSEUDONYM_COLUMN)
        return self.keys["_enrollments"]

    def attr(self, target: str, keycol: str, valcol: str) -> dict[Any, Any]:
        """``keycol`` → ``valcol`` from the DB, overridden by this import's rows."""
        db = self.db(target)
        out = dict(zip(db[keycol], db[valcol], strict=True)) if valcol in db else {}
        if target in self.parsed:
            f = self.parsed[target].frame
            if keycol in f and valcol in f and valcol in self.parsed[target].given:
                out.update(zip(f[keycol], f[valcol], strict=True))
        return out


def _user_field(p: ParsedTable) -> str:
    return "patient_ref" if "patient_ref" in p.given else PSEUDONYM_COLUMN


def _check_result_kind(p: ParsedTable, ctx: _Context, keys: list[tuple[Any, Any]]
                       ) -> list[Problem]:
    """A result of a category attribute needs ``value_text``; of any other, a ``value``."""
    f = p.frame
    db = ctx.db("quality_attributes")
    cats: dict[tuple[Any, Any], Any] = {}
    if "spec_category" in db:
        cats.update(zip(zip(db["product_code"], db["attribute_code"], strict=True),
                        db["spec_category"], strict=True))
    if "quality_attributes" in ctx.parsed:
        q = ctx.parsed["quality_attributes"].frame
        spec = q["spec_category"] if "spec_category" in q else pd.Series(None, index=q.index)
        cats.update(zip(zip(q["product_code"], q["attribute_code"], strict=True), spec,
                        strict=True))
    known = pd.Series([k in cats for k in keys], index=f.index)
    is_cat = pd.Series([k in cats and isinstance(cats[k], str) and bool(cats[k].strip())
                        for k in keys], index=f.index)
    text = f["value_text"] if "value_text" in f else pd.Series(None, index=f.index)
    value = f["value"] if "value" in f else pd.Series(None, index=f.index)
    problems = []
    if "value_text" in p.given or "value" in p.given:
        problems += problems_at(is_cat & text.isna() & value.notna(), p.file, "value_text",
                                "the attribute has a category specification: give value_text")
        problems += problems_at(known & ~is_cat & value.isna() & text.notna(), p.file, "value",
                                "the attribute has numeric limits: give a numeric value")
    return problems


def _check_refs(p: ParsedTable, ctx: _Context) -> list[Problem]:
    f, problems = p.frame, []
    for link in TABLE_MAPS[p.name].links:
        cols = link.columns
        if cols[0] == "_product_code":  # lot_results → quality attribute of the lot's product
            lot_product = ctx.attr("lots", "lot_code", "product_code")
            f["_product_code"] = f["lot_code"].map(lot_product.get)
            units = {
                (r[0], r[1]): r[2]
                for r in ctx.db("quality_attributes")[
                    ["product_code", "attribute_code", "unit"]
                ].itertuples(index=False, name=None)
            }
            if "quality_attributes" in ctx.parsed:
                q = ctx.parsed["quality_attributes"].frame
                units.update(
                    zip(
                        zip(q["product_code"], q["attribute_code"], strict=True),
                        q["unit"],
                        strict=True,
                    )
                )
            keys = list(zip(f["_product_code"], f["attribute_code"], strict=True))
            unknown = pd.Series(
                [pc is not None and a is not None and (pc, a) not in units for pc, a in keys]
            )
            problems += problems_at(
                unknown,
                p.file,
                "attribute_code",
                "unknown quality attribute of the lot's product",
                f["attribute_code"],
            )
            wrong = pd.Series(
                [
                    k in units and u is not None and u != units[k]
                    for k, u in zip(keys, f["unit"], strict=True)
                ]
            )
            expected = pd.Series([units.get(k) for k in keys], dtype=object)
            problems += problems_at(
                wrong, p.file, "unit", "unit differs from the attribute's unit", expected
            )
            problems += _check_result_kind(p, ctx, keys)
            continue
        known = ctx.known(link.target, cols)
        present = f[list(cols)].notna().all(axis=1)
        vals = list(f[list(cols)].itertuples(index=False, name=None))
        unknown = pd.Series([ok and v not in known for ok, v in zip(present, vals, strict=True)])
        if link.target == "patients":
            field_name = _user_field(p)
            problems += problems_at(
                unknown, p.file, field_name, rules.UNKNOWN_PATIENT, f[field_name]
            )
            if field_name == PSEUDONYM_COLUMN and "site_code" in f:
                site_of = ctx.attr("patients", PSEUDONYM_COLUMN, "site_code")
                wrong_site = pd.Series(
                    [
                        (not u) and s is not None and site_of.get(v[0], s) != s
                        for u, v, s in zip(unknown, vals, f["site_code"], strict=True)
                    ]
                )
                problems += problems_at(
                    wrong_site, p.file, "site_code", rules.WRONG_SITE, f["site_code"]
                )
        else:
            singular = link.target.rstrip("s").replace("_", " ")
            problems += problems_at(unknown, p.file, cols[0], f"unknown {singular}", f[cols[0]])
    return problems


def _before(a: pd.Series, limit: pd.Series, file: str, col: str, message: str) -> list[Problem]:
    """Problems where ``a`` < ``limit`` (both known)."""
    flag = pd.Series(
        [x is not None and y is not None and x < y for x, y in zip(a, limit, strict=True)]
    )
    if not flag.any():
        return []
    shown = pd.Series(
        [f"{x} < {y}" if f else "" for x, y, f in zip(a, limit, flag, strict=True)], dtype=object
    )
    return problems_at(flag, file, col, message, shown)


def _check_dates(p: ParsedTable, ctx: _Context) -> list[Problem]:
    f, problems = p.frame, []
    if PSEUDONYM_COLUMN in f:
        pid = f[PSEUDONYM_COLUMN]
        birth = pid.map(ctx.attr("patients", PSEUDONYM_COLUMN, "birth_year"))
        enr = ctx.enrollments()
        index_on = pid.map(enr["index_on"]) if len(enr) else pd.Series(None, index=f.index)
        enrolled = pid.map(enr["enrolled_on"]) if len(enr) else pd.Series(None, index=f.index)
        birth = birth.astype(object).where(birth.notna(), None)
        index_on = index_on.astype(object).where(index_on.notna(), None)
        enrolled = enrolled.astype(object).where(enrolled.notna(), None)
        year_col = rules.BIRTH_YEAR_CHECK.get(p.name)
        if year_col:
            years = f[year_col].map(lambda d: None if d is None else d.year)
            problems += _before(years, birth, p.file, year_col, rules.BEFORE_BIRTH)
        col = rules.INDEX_DATE_CHECK.get(p.name)
        if col:
            problems += _before(f[col], index_on, p.file, col, rules.BEFORE_INDEX)
        col = rules.ENROLLED_CHECK.get(p.name)
        if col:
            problems += _before(f[col], enrolled, p.file, col, rules.BEFORE_ENROLLED)
    col = rules.MANUFACTURED_CHECK.get(p.name)
    if col:
        made = f["lot_code"].map(ctx.attr("lots", "lot_code", "manufactured_on"))
        made = made.astype(object).where(made.notna(), None)
        problems += _before(f[col], made, p.file, col, rules.BEFORE_MANUFACTURED)
    if p.name == "adjudications":
        assessed = f["assessment_ref"].map(ctx.attr("assessments", "assessment_ref", "assessed_on"))
        assessed = assessed.astype(object).where(assessed.notna(), None)
        problems += _before(
            f["adjudicated_on"], assessed, p.file, "adjudicated_on", "is before the assessment"
        )
    return problems


def _diff(
    p: ParsedTable, existing: pd.DataFrame
) -> tuple[pd.Series, list[tuple[int, int, list[str]]], dict[int, dict[str, Any]]]:
    """Match rows to stored records: (mask of new rows, [(row position, _id, changed cols)],
    {row position: stored values of the changed cols})."""
    spec = load_dictionary().tables[p.name]
    kcols = key_columns(spec)
    f = p.frame
    if not len(existing):
        return pd.Series(True, index=f.index), [], {}
    lookup = dict(
        zip(existing[kcols].itertuples(index=False, name=None), range(len(existing)), strict=True)
    )
    pos = [lookup.get(k) for k in f[kcols].itertuples(index=False, name=None)]
    new = pd.Series([q is None for q in pos], index=f.index)
    cols = [c for c in file_columns(spec) if c in p.given or c == PSEUDONYM_COLUMN]
    cols = [c for c in cols if c not in kcols]
    changes = []
    ex = {c: existing[c].tolist() for c in cols}
    mine = {c: f[c].tolist() for c in cols}
    ids = existing["_id"].tolist()
    before = {}
    for i, q in enumerate(pos):
        if q is None:
            continue
        changed = [c for c in cols if not _same(mine[c][i], ex[c][q])]
        changes.append((i, int(ids[q]), changed))
        if changed:
            before[i] = {c: ex[c][q] for c in changed}
    return new, changes, before


def _db_records(p: ParsedTable, rows: pd.DataFrame, ids: dict[str, dict[Any, int]]) -> pd.DataFrame:
    """Turn dictionary-form rows into model columns (ids resolved through ``ids``)."""
    tmap = TABLE_MAPS[p.name]
    model_cols = [c for c in tmap.model.__table__.c.keys() if c != "id"]
    out = pd.DataFrame(index=rows.index)
    renames = dict((db, d) for d, db in tmap.renames)
    links = {link.db_column: link for link in tmap.links}
    for c in model_cols:
        if c in links:
            link = links[c]
            lookup = ids[link.target]
            keys = rows[list(link.columns)].itertuples(index=False, name=None)
            out[c] = pd.Series([lookup.get(k) for k in keys], index=rows.index, dtype=object)
        else:
            src = renames.get(c, c)
            out[c] = rows[src] if src in rows else None
    return out.astype(object).where(out.notna(), None)


def _id_lookup(session: Session, target: str) -> dict[Any, int]:
    frame = load_keys(session, target)
    cols = {"quality_attributes": ["product_code", "attribute_code"]}.get(
        target, [frame.columns[1]]
    )
    keys = frame[cols].itertuples(index=False, name=None)
    return dict(zip(keys, (int(i) for i in frame["id"]), strict=True))


def import_tables(
    session: Session,
    tables: Mapping[str, pd.DataFrame],
    *,
    actor: str,
    reason: str | None = None,
    sources: Mapping[str, str] | None = None,
    key: bytes | None = None,
    progress: Progress | None = None,
    overwrite: bool = False,
    sync: bool = True,
    today: dt.date | None = None,
) -> ImportSummary:
    """Validate and import tables of the column dictionary, writing audit events.

    Parameters
    ----------
    session : Session
        The caller's unit of work; this function never commits. Writes happen inside a
        savepoint that is rolled back on any error.
    tables : mapping of str to DataFrame
        Tables named as in the column dictionary (``regmed import --schema``). Cells may be
        strings (as read from CSV) or typed values.
    actor : str
        Who imports (recorded on every audit event).
    reason : str, optional
        Why; required when any row changes an existing record.
    sources : mapping of str to str, optional
        File name per table for problem reports (default ``frame.attrs["source"]`` or
        ``<table>.csv``).
    key : bytes, optional
        The pseudonymization key (default :func:`~regmed.registry.pseudonym.load_key`); needed
        only when a table names patients by ``patient_ref``.
    progress : callable, optional
        Called as ``progress(table, rows_done, rows_total)`` after each table is written.
    overwrite : bool
        Update fields that were changed since the record last went through a file (import
        or export; :mod:`regmed.registry.sync`); without it such rows are refused, so that
        re-importing an old file cannot silently undo a correction. Needs a ``reason``.
    sync : bool
        Record the import as a file sync point (default; the web's forms pass False).
    today : date, optional
        Dates of the dictionary's ``not_future`` columns after this day are refused. The
        command line and the web pass the real date; None (default) checks nothing, so that
        a simulated registry (the demo's, whose dates run years ahead) can be loaded.

    Returns
    -------
    ImportSummary

    Raises
    ------
    DataError
        Listing every problem found (file, 1-based row, column), including rows that would
        change a signed or locked record or frozen data (:mod:`regmed.registry.locks`) and
        changes made since the last import/export; nothing is written.
        :func:`regmed.registry.merge.plan_import` shows the same without raising.
    """
    prepared = prepare_import(session, tables, actor=actor, reason=reason, sources=sources,
                              key=key, overwrite=overwrite, today=today)
    if prepared.problems:
        raise DataError("import refused: nothing was written", list(prepared.problems))
    plans = [(p, new, changes) for p, new, changes, _ in prepared.plans]
    files = [p.file for p, _, _ in plans] if sync else None
    return _write(session, plans, actor, reason, prepared.new_check, progress, files)


@dataclass(frozen=True)
class Prepared:
    """A checked import: per table (parsed, new-row mask, changes, old values), problems."""

    plans: list[tuple[ParsedTable, pd.Series, list[tuple[int, int, list[str]]],
                      dict[int, dict[str, Any]]]]
    problems: tuple[Problem, ...]
    new_check: str | None


def prepare_import(
    session: Session,
    tables: Mapping[str, pd.DataFrame],
    *,
    actor: str,
    reason: str | None = None,
    sources: Mapping[str, str] | None = None,
    key: bytes | None = None,
    overwrite: bool = False,
    today: dt.date | None = None,
) -> Prepared:
    """Every check of :func:`import_tables`, writing nothing; the problems are returned."""
    from regmed.registry.locks import load_freezes
    from regmed.registry.merge import conflict_problems, guard_problems
    from regmed.registry.sync import load_sync_points

    d = load_dictionary()
    sources = dict(sources or {})
    problems: list[Problem] = []
    parsed: dict[str, ParsedTable] = {}
    governed = governed_variables(session) if "baseline" in tables else frozenset()
    for name, frame in tables.items():
        file = sources.get(name) or frame.attrs.get("source") or f"{name}.csv"
        if name not in d.tables:
            problems.append(Problem(f"unknown table {name!r}", file=file))
            continue
        parsed[name] = parse_table(name, frame, d.tables[name], file, today=today,
                                   governed=governed)
        normalize_frame(parsed[name].frame)  # Ｐ００１ is P001, p001 is P001 (patient_ref)
        problems += parsed[name].problems
    needs_key = any("patient_ref" in p.given for p in parsed.values())
    if needs_key and key is None:
        bind = session.get_bind()
        key = load_key(str(bind.engine.url))
    new_check = None
    if needs_key:
        assert key is not None
        check = key_check_value(key)
        stored = session.execute(
            select(Setting.value).where(Setting.name == KEY_CHECK_SETTING)
        ).scalar()
        if stored is not None and stored != check:
            raise DataError(
                "import refused: the pseudonymization key is not the one this registry was "
                "built with (patients would not be found); nothing was written"
            )
        new_check = check if stored is None else None
    for p in parsed.values():
        if "patient_ref" in p.given:
            f = p.frame
            f[PSEUDONYM_COLUMN] = pseudonymize_many(key or b"", f["site_code"], f["patient_ref"])
    ordered = [parsed[n] for n in d.order if n in parsed]
    ctx = _Context(session, parsed)
    for p in ordered:
        problems += _check_refs(p, ctx)
        problems += _check_dates(p, ctx)
        if p.name == "adjudications":
            problems += adjudication_code_problems(session, p, parsed.get("assessments"))
        if unique_columns(p.name) and p.header_ok:
            problems += unique_problems(session, p.name, p.frame.to_dict("records"), p.file)
    problems += custody.import_problems(session, parsed)
    problems += study_problems(session, parsed)
    problems += stored_problems(session, parsed)
    plans: list[tuple[ParsedTable, pd.Series, list[tuple[int, int, list[str]]],
                      dict[int, dict[str, Any]]]] = []
    freezes = load_freezes(session)
    points = None
    for p in ordered:
        # only the records that may share a key with these rows (a chunk of a large file);
        # case variants of a case-sensitive code are among them (near-duplicates)
        existing = existing_frame(session, p.name, ctx.keys, like=p.frame)
        new, changes, before = _diff(p, existing)
        problems += near_duplicate_problems(p.file, p.frame, new, existing,
                                            key_columns(d.tables[p.name]))
        problems += guard_problems(session, p, new, changes, freezes)
        changed = [c for c in changes if c[2]]
        if changed and not overwrite:
            points = points or load_sync_points(session)
            problems += conflict_problems(session, p, changes, points)
        # with a column missing from the header, a comparison with the stored records is void
        if changed and p.header_ok and not (reason and reason.strip()):
            bad_rows = {q.row for q in problems if q.file == p.file and q.row is not None}
            for i, rid, cols in changed:
                if i + 1 in bad_rows:  # already reported; the change itself is not the point
                    continue
                problems.append(rules.change_needs_reason(rid, cols, p.file, i + 1))
        plans.append((p, new, changes, before))
    problems.sort(key=lambda q: (d.order.index(_table_of(q, parsed)), q.row or 0))
    return Prepared(plans, tuple(problems), new_check)


def _table_of(problem: Problem, parsed: dict[str, ParsedTable]) -> str:
    for name, p in parsed.items():
        if p.file == problem.file:
            return name
    return load_dictionary().order[0]


def _write(
    session: Session,
    plans: list[tuple[ParsedTable, pd.Series, list[tuple[int, int, list[str]]]]],
    actor: str,
    reason: str | None,
    new_check: str | None,
    progress: Progress | None,
    files: list[str] | None = None,
) -> ImportSummary:
    inserted: dict[str, int] = {}
    updated: dict[str, int] = {}
    unchanged: dict[str, int] = {}
    total = sum(len(p.frame) for p, _, _ in plans)
    done = 0
    savepoint = session.begin_nested()
    try:
        writer = AuditWriter(session, actor)
        first = writer.seq
        if new_check is not None:
            rid = session.execute(
                insert(Setting).returning(Setting.id),
                [{"name": KEY_CHECK_SETTING, "value": new_check}],
            ).scalar_one()
            check_json = canonical_json({"name": KEY_CHECK_SETTING, "value": new_check})
            writer.add("settings", rid, KEY_CHECK_SETTING, "insert", None, check_json, reason)
        ids: dict[str, dict[Any, int]] = {}
        for p, new, changes in plans:
            tmap = TABLE_MAPS[p.name]
            spec = load_dictionary().tables[p.name]
            for link in tmap.links:
                if link.target not in ids:
                    ids[link.target] = _id_lookup(session, link.target)
            if p.name == "lot_results":
                lots = load_keys(session, "lots")
                prod = dict(zip(lots["lot_code"], lots["product_code"], strict=True))
                p.frame["_product_code"] = p.frame["lot_code"].map(prod)
            table = tmap.model.__tablename__
            rows = p.frame[new.to_numpy()]
            if len(rows):
                dbf = _db_records(p, rows, ids)
                cols = list(dbf.columns)
                values = [dbf[c].tolist() for c in cols]
                t: Table = tmap.model.__table__  # type: ignore[assignment]
                before = max_id(session, t)
                bulk_insert(session, t, cols, values)
                new_ids = _new_ids(session, tmap.model, cols, values, before)
                new_json = canonical_rows(cols, values)
                writer.add_inserts(table, new_ids, record_keys(rows, spec), new_json, reason)
            changed = [c for c in changes if c[2]]
            if changed:
                _update(session, p, changed, writer, reason, ids)
            inserted[p.name] = len(rows)
            updated[p.name] = len(changed)
            unchanged[p.name] = len(changes) - len(changed)
            ids.pop(p.name, None)
            writer.flush()
            done += len(p.frame)
            if progress is not None:
                progress(p.name, done, total)
        if files is not None:
            record_import(writer, first + 1, files, reason)
            writer.flush()
        events = writer.seq
        savepoint.commit()
    except IntegrityError as exc:
        savepoint.rollback()
        raise DataError(
            "import refused: the registry changed while it was being imported (another "
            f"import?); nothing was written — run it again ({exc.orig})"
        ) from exc
    except BaseException:
        savepoint.rollback()
        raise
    return ImportSummary(inserted, updated, unchanged, events - first)


def _unique_columns(model: type[Any]) -> list[str]:
    """The columns of the model's natural key (its first unique constraint or column)."""
    t = model.__table__
    for con in sorted(t.constraints, key=lambda c: str(c.name)):
        if isinstance(con, UniqueConstraint):
            return [c.name for c in con.columns]
    for c in t.columns:
        if c.unique:
            return [c.name]
    raise ValueError(f"{t.name} has no natural key")  # pragma: no cover


def _new_ids(
    session: Session, model: type[Any], cols: list[str], values: list[list[Any]], after: int
) -> list[int]:
    """Ids of just-inserted rows (ids above ``after``).

    When the new ids are exactly ``after+1 .. after+n`` (one writer, ids assigned in row order
    as SQLite and PostgreSQL sequences do), they are used directly; otherwise each row is found
    by its natural key.
    """
    t = model.__table__
    n = len(values[0])
    count, low, high = session.execute(
        select(func.count(), func.min(t.c.id), func.max(t.c.id)).where(t.c.id > after)
    ).one()
    if count == n and low == after + 1 and high == after + n:
        return list(range(after + 1, after + n + 1))
    ucols = _unique_columns(model)
    q = select(t.c.id, *(t.c[c] for c in ucols)).where(t.c.id > after)
    found = session.connection().execute(q).all()
    lookup = {tuple(r[1:]): int(r[0]) for r in found}
    keyvals = [values[cols.index(c)] for c in ucols]
    return [lookup[k] for k in zip(*keyvals, strict=True)]


def _update(
    session: Session,
    p: ParsedTable,
    changed: list[tuple[int, int, list[str]]],
    writer: AuditWriter,
    reason: str | None,
    ids: dict[str, dict[Any, int]],
) -> None:
    tmap = TABLE_MAPS[p.name]
    t = tmap.model.__table__
    table = tmap.model.__tablename__
    spec = load_dictionary().tables[p.name]
    positions = [i for i, _, _ in changed]
    rows = p.frame.iloc[positions]
    db_new = _db_records(p, rows, ids).to_dict("records")
    keys = record_keys(rows, spec)
    given_db = _given_db_columns(p)
    olds: dict[int, dict[str, Any]] = {}
    rids = [rid for _, rid, _ in changed]
    for start in range(0, len(rids), 500):
        chunk = rids[start : start + 500]
        for r in session.execute(select(t).where(t.c.id.in_(chunk))).mappings():
            olds[int(r["id"])] = dict(r)
    params = []
    for (_, rid, _), new, k in zip(changed, db_new, keys, strict=True):
        old = olds[rid]
        merged = dict(old)
        merged.update({c: new[c] for c in given_db})
        params.append({"id": rid, **{c: new[c] for c in given_db}})
        writer.add(
            table,
            rid,
            k,
            "update",
            canonical_json(audit_values(table, old)),
            canonical_json(audit_values(table, merged)),
            reason,
        )
    session.execute(update(tmap.model), params)
    if table == "assessments":  # their adjudications go back to the adjudicators
        add_reopenings(session, writer, rids, reason)


def _given_db_columns(p: ParsedTable) -> list[str]:
    tmap = TABLE_MAPS[p.name]
    renames = dict((db, d) for d, db in tmap.renames)
    links = {link.db_column: link for link in tmap.links}
    out = []
    for c in tmap.model.__table__.c.keys():
        if c == "id":
            continue
        if c in links:
            cols = [x for x in links[c].columns if not x.startswith("_")]
            if all(x in p.given or x == PSEUDONYM_COLUMN for x in cols):
                out.append(c)
        elif renames.get(c, c) in p.given or renames.get(c, c) == PSEUDONYM_COLUMN:
            out.append(c)
    return out
