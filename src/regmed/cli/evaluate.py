"""`regmed evaluate`, `regmed report`, `regmed demo`, and `regmed plan lock|amend|history`."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from regmed.errors import RegmedError

__all__ = ["register", "run_evaluation"]

_console = Console()


def _progress() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                    console=_console, transient=True)


def _verdict_table(doc: dict[str, Any]) -> Table:
    verdict = doc["verdict"]
    colour = {"met": "green", "not_met": "red"}.get(verdict["overall"], "yellow")
    title = f"Verdict: [bold {colour}]{verdict['overall'].replace('_', ' ').upper()}[/]"
    if doc["meta"].get("exploratory"):
        title = "[bold red]EXPLORATORY[/] — " + title
    table = Table(title=title, caption=verdict["statement"])
    for col in ("endpoint", "measure", "criterion", "estimate (95% CI)", "controls", "met"):
        table.add_column(col)
    for c in verdict["criteria"]:
        crit = f"{'≥' if c['direction'] == 'greater' else '≤'} {c['threshold']}"
        if c.get("ci_lower_above") is not None:
            crit += f"; lower CI > {c['ci_lower_above']}"
        if c.get("ci_upper_below") is not None:
            crit += f"; upper CI < {c['ci_upper_below']}"

        def f(x: Any) -> str:
            return "–" if x is None else f"{x:.3f}"

        table.add_row(c["endpoint"], c["measure"], crit,
                      f"{f(c['estimate'])} ({f(c['ci_lower'])} to {f(c['ci_upper'])})",
                      str(c.get("control_source", "")), "yes" if c["met"] else "no")
    return table


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
    url: str | None = None,
    actor: str = "regmed",
) -> tuple[dict[str, Any], dict[str, Path]]:
    """Evaluate a plan (a locked name, or a YAML file checked against its lock) on the registry.

    Returns the evaluation document (with its stored id) and the files written.
    """
    from regmed import registry
    from regmed.evaluate import evaluate
    from regmed.plan import load_plan, require_locked
    from regmed.registry.extract import extract, load_evaluation, store_evaluation
    from regmed.registry.opening import open_registry
    from regmed.registry.plans import get_plan_version, plan_lock_record

    engine = open_registry(url)
    with _progress() as bar:
        task = bar.add_task("reading the plan and the registry", total=None)
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
            bar.update(task, description="extracting study data")
            data = extract(session, model)
            info = {"name": name, "version": record.version if record else "unlocked",
                    "sha256": status.sha256,
                    "locked_at": record.locked_at.isoformat() if record and record.locked_at
                    else None, "signer": record.signer if record else None}

            def say(label: str) -> None:
                bar.update(task, description=label)

            evaluation = evaluate(model, data, plan_info=info, exploratory=status.exploratory,
                                  seed=seed, progress=say)
            bar.update(task, description="storing the evaluation")
            eid = store_evaluation(evaluation.document, session=session, actor=actor,
                                   plan_version_id=record.id if record else None)
        with registry.session_scope(engine) as session:
            doc = load_evaluation(session, eid)
        bar.update(task, description="writing the report")
        files = _write_outputs(doc, out, lang, pdf)
    return doc, files


def _show(doc: dict[str, Any], files: dict[str, Path]) -> None:
    if doc["meta"].get("exploratory"):
        _console.print("[bold red]EXPLORATORY[/]: the plan is not locked or has changed since.")
    _console.print(_verdict_table(doc))
    power = doc.get("power")
    if power:
        _console.print(power["message"])
    for kind, path in files.items():
        _console.print(f"{kind}: {path}")


def register(app: typer.Typer) -> None:
    """Add `evaluate`, `report`, `demo` and the plan-lock commands to the `regmed` app."""

    @app.command("evaluate")
    def evaluate_cmd(
        plan: Annotated[str, typer.Option("--plan", help="Locked plan name, or a plan YAML file")],
        out: Annotated[Path, typer.Option("--out", help="Folder for the report")] = Path("out"),
        version: Annotated[int | None, typer.Option(help="Plan version (default latest)")] = None,
        exploratory: Annotated[bool, typer.Option(
            "--exploratory", help="Run on an unlocked or changed plan (marked on every output)")
        ] = False,
        lang: Annotated[str, typer.Option(help="Report language: en or ja")] = "en",
        seed: Annotated[int, typer.Option(help="Seed of the random parts")] = 20260401,
        pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also write report.pdf")] = True,
    ) -> None:
        """Evaluate the registry against a locked plan and write the report."""
        doc, files = run_evaluation(plan=plan, version=version, exploratory=exploratory, out=out,
                                    lang=lang, seed=seed, pdf=pdf)
        _show(doc, files)

    @app.command("report")
    def report_cmd(
        evaluation_id: Annotated[int, typer.Argument(help="Id of a stored evaluation")],
        out: Annotated[Path, typer.Option("--out")] = Path("out"),
        lang: Annotated[str, typer.Option(help="en or ja")] = "en",
        pdf: Annotated[bool, typer.Option("--pdf/--no-pdf")] = True,
    ) -> None:
        """Render a stored evaluation again, without recomputing anything."""
        from regmed import registry
        from regmed.registry.extract import load_evaluation
        from regmed.registry.opening import open_registry

        with registry.session_scope(open_registry()) as session:
            doc = load_evaluation(session, evaluation_id)
        _show(doc, _write_outputs(doc, out, lang, pdf))

    @app.command("demo")
    def demo_cmd(
        out: Annotated[Path, typer.Option("--out", help="Folder for the demo's outputs")] = Path(
            "demo-output"),
        scenario: Annotated[str, typer.Option(
            help="sci (spinal cord injury) or heart_failure_shortfall")] = "sci",
        seed: Annotated[int, typer.Option(help="Seed of the generated data")] = 7,
        lang: Annotated[str, typer.Option(help="Report language: en or ja")] = "en",
        pdf: Annotated[bool, typer.Option("--pdf/--no-pdf")] = True,
        singlecell: Annotated[bool, typer.Option(
            "--singlecell/--no-singlecell",
            help="sci: also simulate single-cell data of 12 lots and write quality.html")
        ] = True,
    ) -> None:
        """Build a demo registry, lock its plan, evaluate it and write the reports."""
        run_demo(out=out, scenario=scenario, seed=seed, lang=lang, pdf=pdf,
                 singlecell=singlecell)

    _register_plan_lock(app)


def run_demo(*, out: Path, scenario: str, seed: int, lang: str, pdf: bool,
             params: dict[str, Any] | None = None, singlecell: bool = False
             ) -> dict[str, Any]:
    """The main job: fresh registry → demo data → audit check → lock plan → evaluate → report."""
    from regmed import demo, registry
    from regmed.registry.plans import lock_plan

    started = time.perf_counter()
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    url = os.environ.get("REGMED_DATABASE_URL")
    if not url:
        db = out / "regmed.sqlite"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{db}"
    engine = registry.make_engine(url)
    registry.upgrade(engine)
    key, where = registry.ensure_key(url)
    _console.print(f"registry: {url}\n{where}")
    data = demo.generate(scenario, seed=seed, **(params or {}))
    with _progress() as bar:
        task = bar.add_task("importing the demo registry", total=None)
        with registry.session_scope(engine) as session:
            summary = registry.import_tables(session, data.tables, actor="demo",
                                             reason="demo data", key=key)
        bar.update(task, description="verifying the audit chain")
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
    table = Table(title=f"Demo registry ({scenario}, seed {seed})")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for t, frame in data.tables.items():
        table.add_row(t, str(len(frame)))
    _console.print(table)
    _console.print(f"imported {sum(summary.inserted.values())} records; {check.message}")
    doc, files = run_evaluation(plan=name, version=None, exploratory=False, out=out, lang=lang,
                                seed=20260401, pdf=pdf, url=url, actor="demo")
    _show(doc, files)
    if singlecell and scenario == "sci":
        from regmed.cli.demo_singlecell import demo_singlecell

        qdoc, qfiles = demo_singlecell(out=out, url=url, plan=name, seed=seed, lang=lang,
                                       pdf=pdf)
        sc = qdoc["quality"]["singlecell"]
        top = sc["association"]["rows"][0]
        _console.print(f"single-cell: {sc['n_cells']:,} cells of {sc['n_lots']} lots; cluster "
                       f"{top['cluster']} tracks VEGF under hypoxia (r = {top['estimate']:.2f}, "
                       f"q = {top['q_value']:.3g}); quality report: {qfiles['html']}")
    _console.print(f"demo finished in {time.perf_counter() - started:.1f} s; "
                   f"open {files['html']}")
    return doc


def _plan_group(app: typer.Typer) -> typer.Typer:
    for group in app.registered_groups:
        if group.name == "plan" and group.typer_instance is not None:
            return group.typer_instance
    sub = typer.Typer(help="The evaluation plan.", no_args_is_help=True)
    app.add_typer(sub, name="plan")
    return sub


#: Roles whose users may sign the lock of an evaluation plan.
LOCK_ROLES = ("statistician", "admin")


def _register_plan_lock(app: typer.Typer) -> None:
    plan_app = _plan_group(app)

    def _lock(path: Path, user: str, reason: str, name: str | None, amend: bool) -> None:
        from sqlalchemy import select

        from regmed import registry
        from regmed.registry.accounts import authenticate, has_totp
        from regmed.registry.plans import lock_plan

        if not path.exists():
            raise RegmedError(f"plan file {path} does not exist")
        text = path.read_text(encoding="utf-8")
        from regmed.registry.opening import open_registry

        with registry.session_scope(open_registry()) as session:
            password = os.environ.get("REGMED_PASSWORD")
            if password is None:
                password = typer.prompt(f"password of {user}", hide_input=True)
            otp = os.environ.get("REGMED_OTP")
            known = session.execute(select(registry.User).where(
                registry.User.username == user)).scalar()
            if otp is None and known is not None and has_totp(session, known):
                otp = typer.prompt("one-time code")
            signer = authenticate(session, user, password, otp, roles=LOCK_ROLES)
            record = lock_plan(text, session=session, name=name or path.stem,
                               signer=signer.full_name or signer.username, reason=reason,
                               actor=signer.username, amend=amend)
            _console.print(f"locked plan {record.name!r} version {record.version} "
                           f"(sha256 {record.sha256}) signed by {record.signer} "
                           f"(user {signer.username})")

    @plan_app.command("lock")
    def lock_cmd(
        path: Annotated[Path, typer.Argument(help="Plan YAML file")],
        user: Annotated[str, typer.Option(
            help="The registry user who signs (password asked, or REGMED_PASSWORD; a second "
                 "factor's code asked, or REGMED_OTP)")],
        reason: Annotated[str, typer.Option(help="Why it is locked")],
        name: Annotated[str | None, typer.Option(help="Name in the registry (default: file stem)")
                        ] = None,
    ) -> None:
        """Lock a plan in the registry (SHA-256, time, signer; audited), signed by an
        authenticated registry user (a statistician or an administrator)."""
        _lock(path, user, reason, name, amend=False)

    @plan_app.command("amend")
    def amend_cmd(
        path: Annotated[Path, typer.Argument(help="The amended plan YAML file")],
        user: Annotated[str, typer.Option(
            help="The registry user who signs (password asked, or REGMED_PASSWORD)")],
        reason: Annotated[str, typer.Option(help="Why the plan is amended")],
        name: Annotated[str | None, typer.Option(help="Name in the registry (default: file stem)")
                        ] = None,
    ) -> None:
        """Lock a new version of a locked plan; earlier versions are kept."""
        _lock(path, user, reason, name, amend=True)

    @plan_app.command("history")
    def history_cmd(name: Annotated[str, typer.Argument(help="Plan name")]) -> None:
        """Every locked version of a plan."""
        from regmed import registry
        from regmed.registry.opening import open_registry
        from regmed.registry.plans import plan_history

        with registry.session_scope(open_registry()) as session:
            rows = plan_history(session, name)
        if not rows:
            raise RegmedError(f"no locked plan {name!r}")
        table = Table(title=f"Plan {name}")
        for col in rows[0]:
            table.add_column(col)
        for r in rows:
            table.add_row(*(str(v) for v in r.values()))
        _console.print(table)
