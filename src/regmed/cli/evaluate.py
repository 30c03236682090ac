"""`regmed evaluate`, `regmed report`, `regmed demo`, and `regmed plan lock|amend|history`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from regmed.app.evaluation import _write_outputs, run_demo, run_evaluation
from regmed.errors import RegmedError

__all__ = ["register"]

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
    for col in ("endpoint", "measure", "criterion", "estimate (CI)", "controls", "met"):
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
        stage: Annotated[int | None, typer.Option(
            "--stage", help="Evaluate this look of the plan's interim design (default: the "
            "final analysis); the looks are cut from the registry's dates")] = None,
    ) -> None:
        """Evaluate the registry against a locked plan and write the report."""
        with _progress() as bar:
            task = bar.add_task("evaluating", total=None)
            doc, files = run_evaluation(
                plan=plan, version=version, exploratory=exploratory, out=out, lang=lang,
                seed=seed, pdf=pdf, stage=stage,
                progress=lambda label: bar.update(task, description=label))
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

        engine = open_registry()
        try:
            with registry.session_scope(engine) as session:
                doc = load_evaluation(session, evaluation_id)
        finally:
            engine.dispose()
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
        with _progress() as bar:
            task = bar.add_task("demo", total=None)
            doc, files = run_demo(
                out=out, scenario=scenario, seed=seed, lang=lang, pdf=pdf, singlecell=singlecell,
                say=lambda text: _console.print(text, highlight=False, soft_wrap=True),
                progress=lambda label: bar.update(task, description=label))
        _show(doc, files)

    _register_plan_lock(app)


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
