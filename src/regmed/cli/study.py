"""`regmed dictionary import` / `export` / `history`: the study dictionary (REDCap's data
dictionary CSV) kept in the registry, versioned and audited."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register", "dictionary_app"]

dictionary_app = typer.Typer(
    name="dictionary",
    help="The study dictionary (REDCap data dictionary CSV) kept in the registry.",
    no_args_is_help=True,
)

Actor = Annotated[str | None, typer.Option(help="Who imports (default: login name)")]


@dictionary_app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="A REDCap data dictionary CSV.",
                                         show_default=False)],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit trail)")] = (
        "study dictionary imported"),
    encoding: Annotated[str, typer.Option("--encoding", help="The file's encoding.")] = (
        "utf-8-sig"),
    visits_from_plan: Annotated[str | None, typer.Option(
        "--visits-from-plan", help="A locked plan whose visits become the visit schedule")]
    = None,
    events: Annotated[Path | None, typer.Option(
        "--events", help="REDCap's instrument designation CSV (arm_num,unique_event_name,form):"
                         " the forms filled at each visit; the others are patient-level")]
    = None,
    instruments: Annotated[Path | None, typer.Option(
        "--instruments", help="REDCap's instrument list CSV (instrument_name,"
                              "instrument_label): the forms' titles, '日本語 / English'")]
    = None,
    actor: Actor = None,
) -> None:
    """Store FILE as the registry's next study dictionary version (audited)."""
    from regmed.app.study import import_study_dictionary
    from regmed.cli.registry import _default_actor

    info = import_study_dictionary(file, actor=actor or _default_actor(), reason=reason,
                                   encoding=encoding, visits_from_plan=visits_from_plan,
                                   events=events, instruments=instruments)
    visits = f"; visits {', '.join(info['visits'])}" if info["visits"] else ""
    if info["visit_forms"]:
        visits += "; visit forms " + "; ".join(f"{v}: {', '.join(f)}"
                                               for v, f in info["visit_forms"].items())
    typer.echo(f"stored study dictionary version {info['version']}: {info['variables']} "
               f"variables on {len(info['forms'])} forms ({', '.join(info['forms'])}){visits}; "
               f"sha256 {info['sha256']} (audited)")


@dictionary_app.command("export")
def export_cmd(
    out: Annotated[Path, typer.Option("--out", help="The CSV file to write.")],
    version: Annotated[int | None, typer.Option("--version",
                                                help="A stored version (default: latest)")]
    = None,
    events_out: Annotated[Path | None, typer.Option(
        "--events", help="Also write the forms of each visit as REDCap's instrument "
                         "designation CSV")] = None,
    instruments_out: Annotated[Path | None, typer.Option(
        "--instruments", help="Also write the forms' titles as REDCap's instrument list CSV")]
    = None,
) -> None:
    """Write the stored study dictionary as a REDCap data dictionary CSV."""
    from regmed.app.study import export_study_dictionary

    info = export_study_dictionary(out, version=version, events_out=events_out,
                                   instruments_out=instruments_out)
    typer.echo(f"wrote study dictionary version {info['version']} ({info['variables']} "
               f"variables; sha256 {info['sha256']}) to {out}")
    if events_out is not None:
        typer.echo(f"wrote {info['events']} form–visit rows to {events_out}")
    if instruments_out is not None:
        typer.echo(f"wrote {info['forms_labelled']} form titles to {instruments_out}")


@dictionary_app.command("history")
def history_cmd() -> None:
    """List every stored version: who imported it, when and why."""
    from regmed.app.study import study_dictionary_history

    for row in study_dictionary_history():
        typer.echo(f"version {row['version']}  {row['imported_at']}  {row['imported_by']}  "
                   f"{row['variables']} variables  {row['sha256'][:12]}  "
                   f"{row['source_file'] or ''}: {row['reason']}")


def register(app: typer.Typer) -> None:
    """Add the ``dictionary`` sub-app to the ``regmed`` app."""
    app.add_typer(dictionary_app, name="dictionary")
