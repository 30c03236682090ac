"""`regmed plan` commands: check a plan against the evaluation index, render its document.

``plan lock`` / ``amend`` / ``history`` need the registry and are added by the lead.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

__all__ = ["register", "plan_app"]

plan_app = typer.Typer(
    name="plan",
    help="The evaluation plan: check it against the index, render it.",
    no_args_is_help=True,
)

_STYLE = {"met": "green", "justified": "yellow", "missing": "bold red", "not_met": "bold red"}


class OutputFormat(str, Enum):
    table = "table"
    json = "json"


class Language(str, Enum):
    ja = "ja"
    en = "en"


PlanPath = Annotated[Path, typer.Argument(help="The plan file (YAML).", show_default=False)]


@plan_app.command("check")
def check(
    plan_file: PlanPath,
    format: Annotated[
        OutputFormat, typer.Option("--format", help="table (readable) or json.")
    ] = OutputFormat.table,
    facts: Annotated[
        Path | None,
        typer.Option(
            "--facts",
            help="JSON of data facts (StudyData.facts: cohorts with start/end/n, n_sites, "
            "blinded_share …) to re-run the checks against the data.",
        ),
    ] = None,
    study_dictionary: Annotated[
        Path | None,
        typer.Option(
            "--study-dictionary",
            help="A REDCap data dictionary CSV whose variables the plan's covariates and "
            "endpoint variables must name (default: the study dictionary of the registry "
            "named by REGMED_DATABASE_URL, when it is set and holds one).",
        ),
    ] = None,
) -> None:
    """Check PLAN_FILE against every item of the evaluation index.

    With a study dictionary (``--study-dictionary``, or the registry's), every adjustment
    covariate and endpoint measurement variable must be one of its variables.
    Exit code 0 only when nothing is missing or not met; 1 otherwise; 2 when the plan
    (or the facts file) cannot be read, or asks for an analysis the engine does not run.
    """
    import os

    from regmed.app.study import plan_dictionary_problems
    from regmed.errors import Problem
    from regmed.plan import DataFacts, check_plan, compile_specs, load_plan
    from regmed.study import StudyDictionary

    plan = load_plan(plan_file)
    compile_specs(plan, file=str(plan_file))  # refuses what the engine would not run exactly
    data_facts = DataFacts.from_mapping(_read_facts(facts), plan) if facts else None
    checklist = check_plan(plan, data_facts)
    dictionary: StudyDictionary | None = None
    missing: list[Problem] = []
    if study_dictionary is not None or os.environ.get("REGMED_DATABASE_URL"):
        dictionary, missing = plan_dictionary_problems(plan, file=str(plan_file),
                                                       dictionary_file=study_dictionary)
    if format is OutputFormat.json:
        out: dict[str, Any] = dict(checklist.to_json())
        if dictionary is not None:
            out["study_dictionary"] = {"version": dictionary.version,
                                       "problems": [p.to_dict() for p in missing]}
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        table = Table(title=f"Evaluation plan checklist — {plan_file}", show_lines=False)
        table.add_column("item", no_wrap=True, min_width=4)
        table.add_column("point", no_wrap=True, min_width=15)
        table.add_column("status", no_wrap=True, min_width=9)
        table.add_column("message", overflow="fold", ratio=1)
        table.add_column("reference", no_wrap=True, min_width=16)
        for f in checklist.findings:
            style = _STYLE.get(f.status, "")
            table.add_row(f.item, f.point, f"[{style}]{f.status}[/]", f.message, f.reference)
        console = Console()
        if not console.is_terminal:  # piped or captured: do not squeeze into 80 columns
            console = Console(width=160)
        console.print(table)
        counts = ", ".join(f"{k} {v}" for k, v in checklist.counts().items())
        console.print(("OK: " if checklist.ok else "NOT OK: ") + counts, highlight=False)
        if dictionary is not None:
            console.print(f"study dictionary (version {dictionary.version}): "
                          + ("every plan variable is a dictionary variable" if not missing
                             else f"{len(missing)} plan variable(s) not in it"),
                          highlight=False, markup=False)
            for p in missing:
                console.print(f"  - {p.field}: {p.message}", highlight=False, markup=False)
    if not checklist.ok or missing:
        # SystemExit, not typer.Exit: regmed.cli.main runs click with standalone_mode=False,
        # where click turns typer.Exit into a return value that main() drops.
        raise SystemExit(1)


def _read_facts(path: Path) -> dict:
    from regmed.errors import PlanError

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PlanError(f"Cannot read the facts file {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise PlanError(
            f"The facts file {path} is not valid JSON: line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}"
        ) from None
    if not isinstance(data, dict):
        raise PlanError(f"The facts file {path} must hold a JSON object")
    return data


@plan_app.command("render")
def render(
    plan_file: PlanPath,
    out: Annotated[Path, typer.Option("--out", help="Folder to write plan.html (and .pdf).")],
    lang: Annotated[Language, typer.Option("--lang", help="ja or en.")] = Language.ja,
    pdf: Annotated[
        bool | None,
        typer.Option("--pdf/--no-pdf", help="PDF via headless Chromium (default: if installed)."),
    ] = None,
) -> None:
    """Write the plan document (with its checklist) as HTML and, with Chromium, PDF."""
    from regmed.plan import check_plan, load_plan, write_plan_document

    plan = load_plan(plan_file)
    written = write_plan_document(plan, check_plan(plan), out, lang.value, pdf=pdf)
    for path in written:
        typer.echo(str(path))


def register(app: typer.Typer) -> None:
    """Add the ``plan`` sub-app to the ``regmed`` app."""
    app.add_typer(plan_app, name="plan")
