"""`regmed backup`, `regmed restore`, `regmed archive` and `regmed archive verify`.

See :mod:`regmed.registry.backup` and :mod:`regmed.registry.archive`; key handling is described
in ``docs/archive.md``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from regmed.errors import RegmedError

__all__ = ["register"]

archive_app = typer.Typer(
    help="Write a self-describing long-term archive (--out DIR), or check one (verify DIR).",
    invoke_without_command=True,
)


def backup(
    out: Annotated[Path, typer.Option("--out", help="New file for the backup")],
) -> None:
    """Take a consistent online copy of the registry and verify it (integrity and audit trail)."""
    from regmed.registry import database_url
    from regmed.registry.backup import backup as take
    from regmed.registry.opening import open_registry

    url = database_url()
    open_registry(url).dispose()  # a clear message for a missing or old registry
    result = take(url, out)
    typer.echo(result.message)


def restore(
    file: Annotated[Path, typer.Argument(help="A backup made by `regmed backup`")],
) -> None:
    """Replace the registry by a backup, after checking the backup; refuse a bad one."""
    from regmed.registry import database_url
    from regmed.registry.backup import restore as put_back

    result = put_back(file, database_url())
    typer.echo(result.message)


def _audit_key_for_archive(key_file: Path | None) -> bytes | None:
    from regmed.registry.audit_key import AUDIT_KEY_ENV, AUDIT_KEY_FILE_ENV

    if key_file is not None:
        try:
            return key_file.read_text(encoding="utf-8").strip().encode("utf-8")
        except OSError as exc:
            raise RegmedError(f"cannot read the audit key file {str(key_file)!r}: {exc}") from exc
    if os.environ.get(AUDIT_KEY_ENV) or os.environ.get(AUDIT_KEY_FILE_ENV):
        from regmed.registry.audit_key import load_audit_key

        return load_audit_key("sqlite://")[0]
    return None


def _renderer(pdf: bool) -> Any:
    """Report files of a stored document: HTML, and PDF where Chromium is present."""
    from regmed.report import write_report
    from regmed.report.output import find_chromium

    if pdf:
        try:
            find_chromium(None)
        except RegmedError:
            pdf = False

    def render(document: dict[str, Any], folder: Path) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        try:
            files = write_report(document, folder, lang="en", pdf=pdf)
        except RegmedError as exc:  # an old document the renderer no longer reads: say so
            note = folder / "NOT-RENDERED.txt"
            note.write_text(f"not rendered: {exc}\n", encoding="utf-8")
            return [note]
        return [p for p in (files.html, files.pdf) if p is not None]

    return render


@archive_app.callback()
def archive(
    ctx: typer.Context,
    out: Annotated[Path | None, typer.Option("--out", help="New (or empty) folder")] = None,
    reports: Annotated[
        bool, typer.Option("--reports/--no-reports", help="Render each stored evaluation")
    ] = True,
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also PDF (needs Chromium)")] = True,
) -> None:
    """Archive every table, the audit trail, evaluations and reports with a signed manifest."""
    if ctx.invoked_subcommand is not None:
        return
    if out is None:
        raise RegmedError("give --out DIR for the archive (or `regmed archive verify DIR`)")
    from sqlalchemy import Engine

    from regmed.registry import database_url, load_audit_key, session_scope
    from regmed.registry.archive import archive as write_archive
    from regmed.registry.opening import open_registry

    url = database_url()
    key = load_audit_key(url)[0]
    engine: Engine = open_registry(url)
    if engine.dialect.name == "postgresql":
        engine = engine.execution_options(isolation_level="REPEATABLE READ")
    try:
        with session_scope(engine) as session:
            manifest = write_archive(session, out, key,
                                     render=_renderer(pdf) if reports else None)
    finally:
        engine.dispose()
    head = manifest["audit"]
    typer.echo(f"wrote archive {out}: {len(manifest['files'])} files, {head['events']} audit "
               f"events, head event #{head['head_seq']} {head['head_hash']}")


@archive_app.command("verify")
def archive_verify(
    folder: Annotated[Path, typer.Argument(help="An archive written by `regmed archive`")],
    key_file: Annotated[
        Path | None, typer.Option("--key-file", help="The audit key file (else $REGMED_AUDIT_KEY"
                                  " or $REGMED_AUDIT_KEY_FILE)")
    ] = None,
) -> None:
    """Re-check an archive without the database: every SHA-256, the audit chain and its MACs."""
    from regmed.registry.archive import verify_archive

    result = verify_archive(folder, _audit_key_for_archive(key_file))
    if result.ok:
        typer.echo(result.message)
        return
    console = Console(stderr=True)
    console.print(result.message, highlight=False, markup=False)
    for line in result.problems[1:20]:
        console.print(f"  - {line}", highlight=False, markup=False)
    raise SystemExit(1)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the `regmed` app."""
    app.command("backup")(backup)
    app.command("restore")(restore)
    app.add_typer(archive_app, name="archive")
