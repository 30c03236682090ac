"""Use cases: evaluate a registry against its locked plan, write the outputs, run the demo.

What the CLI, the web app and the tests call. Nothing here parses arguments or prints:
progress and messages go to the callbacks the caller passes.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from regmed.errors import DataError, Problem, RegmedError

__all__ = ["run_evaluation", "run_demo", "write_document", "write_analysis_data",
           "check_writable", "ANALYSIS_DATA"]

#: The folder (inside ``--out``) that holds the analysis data sets.
ANALYSIS_DATA = "analysis-data"


def check_writable(out: Path) -> None:
    """Refuse an output folder that cannot be created or written (before anything is stored)."""
    out = Path(out)
    try:
        (out / ANALYSIS_DATA).mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".regmed-write-check-"):
            pass
    except OSError as exc:
        raise DataError("The output folder cannot be written; nothing was evaluated or stored",
                        [Problem(exc.strerror or str(exc), file=str(out), field="--out")]
                        ) from None


def write_analysis_data(frames: Mapping[str, pd.DataFrame], out: Path) -> dict[str, Path]:
    """Write ``out/analysis-data/<endpoint>__<control_source>.csv`` for each analysis."""
    folder = Path(out) / ANALYSIS_DATA
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for label, frame in frames.items():
        path = folder / f"{label}.csv"
        frame.to_csv(path, index=False, float_format="%.17g")
        written[f"{ANALYSIS_DATA}/{label}.csv"] = path
    return written


def _write_outputs(doc: dict[str, Any], out: Path, lang: str, pdf: bool) -> dict[str, Path]:
    from regmed.report import write_report

    return write_document(doc, out, "evaluation", write_report, lang=lang, pdf=pdf)


def write_document(doc: dict[str, Any], out: Path, name: str, writer: Any, *, lang: str,
                   pdf: bool) -> dict[str, Path]:
    """Write ``<name>.json`` and the report ``writer(doc, out, lang=, pdf=)`` renders into
    ``out``; returns ``{name: json, "html": …, "pdf": …}`` (pdf only when written)."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    path.write_text(json.dumps(doc, indent=1, sort_keys=True, allow_nan=False), encoding="utf-8")
    files = writer(doc, out, lang=lang, pdf=pdf)
    written = {name: path, "html": files.html}
    if files.pdf is not None:
        written["pdf"] = files.pdf
    return written


def run_evaluation(
    *,
    plan: str,
    version: int | None,
    exploratory: bool,
    out: Path,
    lang: str = "en",
    seed: int = 20260401,
    pdf: bool = True,
    stage: int | None = None,
    url: str | None = None,
    actor: str = "regmed",
    progress: Callable[[str], None] | None = None,
) -> tuple[dict[str, Any], dict[str, Path]]:
    """Evaluate a plan (a locked name, or a YAML file checked against its lock) on the registry.

    The plan is compiled into its analysis specifications (refused if the engine would not
    run it exactly), ``out`` is checked to be writable **before** the evaluation is stored,
    the document is validated before it is stored, and ``out/analysis-data/`` receives one
    CSV per analysis. ``stage`` evaluates that look of the plan's interim design (default the
    final analysis; see :mod:`regmed.evaluate.interim`). Returns the evaluation document
    (with its stored id) and the files written (``evaluation``, ``html``, ``pdf``, and
    ``analysis-data/<label>.csv`` keys).
    """
    from regmed import registry
    from regmed.evaluate import evaluate
    from regmed.plan import compile_specs, load_plan, require_locked
    from regmed.registry.extract import extract, load_evaluation, store_evaluation
    from regmed.registry.opening import open_registry
    from regmed.registry.plans import get_plan_version, plan_lock_record, plan_signature

    say = progress or (lambda _label: None)
    check_writable(out)  # before anything is stored: a retry must not store another evaluation
    engine = open_registry(url)
    try:
        say("reading the plan and the registry")
        with registry.session_scope(engine) as session:
            path = Path(plan)
            record = None
            if path.suffix in {".yaml", ".yml"} or path.exists():
                if not path.exists():
                    raise RegmedError(f"plan file {plan} does not exist")
                text = path.read_text(encoding="utf-8")
                name = path.stem
                try:
                    record = get_plan_version(session, name, version)
                except RegmedError:
                    record = None
            else:
                record = get_plan_version(session, plan, version)
                text, name = record.yaml_text, record.name
            status = require_locked(text, plan_lock_record(record) if record else None,
                                    exploratory=exploratory)
            model = load_plan(text, file=str(path) if record is None else name)
            say("extracting study data")
            data = extract(session, model)
            info: dict[str, Any] = {"name": name,
                                    "version": record.version if record else "unlocked",
                                    "sha256": status.sha256, "locked_at": None, "signer": None}
            if record is not None:  # the lock's signature manifestation: name, time, meaning
                info.update(plan_signature(session, record))

            specs = compile_specs(model, file=str(path) if record is None else name)
            evaluation = evaluate(model, data, specs=specs, plan_info=info,
                                  exploratory=status.exploratory, seed=seed, stage=stage,
                                  progress=say)
            say("storing the evaluation")
            eid = store_evaluation(evaluation.document, session=session, actor=actor,
                                   plan_version_id=record.id if record else None)
        with registry.session_scope(engine) as session:
            doc = load_evaluation(session, eid)
    finally:
        engine.dispose()
    say("writing the analysis data sets and the report")
    files = write_analysis_data(evaluation.analysis_data, out)
    files.update(_write_outputs(doc, out, lang, pdf))
    return doc, files


def run_demo(*, out: Path, scenario: str, seed: int, lang: str, pdf: bool,
             params: dict[str, Any] | None = None, singlecell: bool = False,
             say: Callable[[str], None] = lambda _x: None,
             progress: Callable[[str], None] | None = None,
             ) -> tuple[dict[str, Any], dict[str, Path]]:
    """Fresh registry of its own under ``out`` → demo data → audit check → lock plan →
    evaluate → report.

    The demo never uses ``REGMED_DATABASE_URL``: its registry is always ``out/regmed.sqlite``.
    ``out`` must be new, empty, or a folder the demo wrote before (its manifest
    :data:`regmed.app.demo_folder.MANIFEST` lists every file it wrote); anything else is
    refused before anything is written or removed (:func:`~regmed.app.demo_folder.claim_folder`).
    Without Chromium the reports are written as HTML and ``say`` gets one line on how to get
    the PDF. ``say`` receives what the demo reports (strings and rich tables); ``progress``
    short labels of each step. Returns the evaluation document and the files written.
    """
    from regmed.app.demo_folder import claim_folder, folder_files, write_manifest

    out = out.resolve()
    claim_folder(out)
    before = set(folder_files(out))
    try:
        return _run_demo(out=out, scenario=scenario, seed=seed, lang=lang, pdf=pdf,
                         params=params, singlecell=singlecell, say=say, progress=progress)
    finally:
        write_manifest(out, before)


def _pdf_possible(pdf: bool, say: Callable[[str], None]) -> bool:
    """Whether the PDF can be printed; if not, one line on how to get it."""
    from regmed.report import find_chromium

    if not pdf:
        return False
    try:
        find_chromium()
    except RegmedError:
        say("no Chromium here, so the reports are HTML only; for the PDF install it "
            "(`make system`, or `sudo apt-get install chromium`, or set REGMED_CHROMIUM) "
            "and run the demo again")
        return False
    return True


def _checkpoint_sqlite(url: str) -> None:
    """Fold the WAL into the database file, so that the file the manifest hashes is final."""
    from sqlalchemy import text

    from regmed import registry

    engine = registry.make_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    finally:
        engine.dispose()


def _run_demo(*, out: Path, scenario: str, seed: int, lang: str, pdf: bool,
              params: dict[str, Any] | None, singlecell: bool, say: Callable[[str], None],
              progress: Callable[[str], None] | None,
              ) -> tuple[dict[str, Any], dict[str, Path]]:
    from regmed import demo, registry
    from regmed.app.study import store_demo_dictionary
    from regmed.registry.plans import lock_plan

    started = time.perf_counter()
    pdf = _pdf_possible(pdf, say)
    db = out / "regmed.sqlite"
    url = f"sqlite:///{db}"
    ignored = os.environ.get("REGMED_DATABASE_URL")
    engine = registry.make_engine(url)
    try:
        registry.upgrade(engine)
        key, where = registry.ensure_key(url)
        say(f"demo registry: {db} (its own; the demo never uses REGMED_DATABASE_URL"
            + (", which is set and was left alone" if ignored else "") + f")\n{where}")
        data = demo.generate(scenario, seed=seed, **(params or {}))
        tick = progress or (lambda _label: None)
        tick("importing the demo registry")
        stored = store_demo_dictionary(engine, scenario, data.plan_yaml)
        if stored:
            say(stored)
        with registry.session_scope(engine) as session:
            summary = registry.import_tables(session, data.tables, actor="demo",
                                             reason="demo data", key=key)
        tick("verifying the audit chain")
        with registry.session_scope(engine) as session:
            check = registry.verify_audit(session)
        if not check.ok:
            raise RegmedError(f"the audit chain does not verify: {check}")
        name = f"demo-{scenario}"
        plan_path = out / f"{name}.yaml"
        plan_path.write_text(data.plan_yaml, encoding="utf-8")
        with registry.session_scope(engine) as session:
            lock_plan(data.plan_yaml, session=session, name=name, signer="Demo Statistician",
                      reason="demo plan agreed before outcome data", actor="demo")
    finally:
        engine.dispose()
    say(f"demo registry ({scenario}, seed {seed}): " + ", ".join(
        f"{t} {len(frame)}" for t, frame in data.tables.items()))
    say(f"imported {sum(summary.inserted.values())} records; {check.message}")
    try:
        doc, files = run_evaluation(plan=name, version=None, exploratory=False, out=out,
                                    lang=lang, seed=20260401, pdf=pdf, url=url, actor="demo",
                                    progress=progress)
        if singlecell and scenario == "sci":
            from regmed.app.demo_singlecell import demo_singlecell

            qdoc, qfiles = demo_singlecell(out=out, url=url, plan=name, seed=seed, lang=lang,
                                           pdf=pdf)
            sc = qdoc["quality"]["singlecell"]
            top = sc["association"]["rows"][0]
            say(f"single-cell: {sc['n_cells']:,} cells of {sc['n_lots']} lots; cluster "
                f"{top['cluster']} tracks VEGF under hypoxia (r = {top['estimate']:.2f}, "
                f"q = {top['q_value']:.3g}); quality report: {qfiles['html']}")
    finally:
        _checkpoint_sqlite(url)
    say(f"demo finished in {time.perf_counter() - started:.1f} s; open {files['html']}; "
        f"explore its registry with REGMED_DATABASE_URL={url}")
    say("open it in the web app (the demo creates no users):\n"
        f"  export REGMED_DATABASE_URL={url}\n"
        "  export REGMED_WEB_SECRET_KEY=$(python3 -c 'import secrets; "
        "print(secrets.token_urlsafe(32))')\n"
        "  .venv/bin/regmed users add admin --role admin --set-password\n"
        "  .venv/bin/regmed serve      # then http://localhost:8000 (日本語 / English)")
    return doc, files
