"""`regmed` commands for the registry: init, import, export, audit, users.

Every command works on the registry named by ``REGMED_DATABASE_URL`` (default
``sqlite:///regmed.sqlite`` in the current folder). User mistakes raise
:class:`regmed.errors.RegmedError`, which the ``regmed`` entry point prints (exit status 2).
"""

from __future__ import annotations

import datetime as dt
import getpass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from regmed.errors import RegmedError

__all__ = ["register"]

audit_app = typer.Typer(help="Check and show the audit trail.", no_args_is_help=True)
users_app = typer.Typer(help="Manage users and their roles.", no_args_is_help=True)


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _engine(require_schema: bool = True) -> Any:
    from regmed.registry import current_revision, database_url, make_engine

    url = database_url()
    engine = make_engine(url)
    if require_schema:
        try:
            revision = current_revision(engine)
        except Exception as exc:
            raise RegmedError(f"cannot open the registry at {_shown(url)}: {exc}") from exc
        if revision is None:
            raise RegmedError(
                f"the registry at {_shown(url)} has no schema yet; run `regmed init` first"
            )
    return engine


def _first_run(engine: Any) -> bool:
    """True when the registry has no schema yet (a new SQLite file or an empty database)."""
    from regmed.registry import current_revision

    try:
        return current_revision(engine) is None
    except Exception as exc:
        raise RegmedError(f"cannot open the registry at {_shown(str(engine.url))}: {exc}") from exc


def _default_actor() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (e.g. in a container)
        return "unknown"


def init() -> None:
    """Create or upgrade the registry's schema and make sure a pseudonymization key exists."""
    from regmed.registry import database_url, ensure_key, upgrade

    url = database_url()
    engine = _engine(require_schema=False)
    try:
        revision = upgrade(engine)
    except RegmedError:
        raise
    except Exception as exc:
        raise RegmedError(f"cannot create the registry at {_shown(url)}: {exc}") from exc
    finally:
        engine.dispose()
    _, where = ensure_key(url)
    audit_where, sealed = _seal(url)
    typer.echo(f"registry {_shown(url)} is at schema revision {revision}")
    typer.echo(where)
    typer.echo(audit_where)
    if sealed:
        typer.echo("sealed the audit events written before the keyed trail")


def _seal(url: str) -> tuple[str, bool]:
    """Make sure an audit key exists and seal a trail that ends with unkeyed events."""
    from regmed.registry import load_audit_key, session_scope
    from regmed.registry.audit import AuditWriter
    from regmed.registry.audit_key import registered_check

    engine = _engine()
    try:
        with session_scope(engine) as session:
            key, where = load_audit_key(url, create=registered_check(session) is None)
            writer = AuditWriter(session, _default_actor(), key=key)
            sealed = writer.seal()
            writer.flush()
    finally:
        engine.dispose()
    return where, sealed


def import_(
    path: Annotated[
        Path | None, typer.Argument(help="A folder of <table>.csv/.xlsx files, or one file")
    ] = None,
    reason: Annotated[
        str | None, typer.Option(help="Why; required when rows change stored records")
    ] = None,
    actor: Annotated[str | None, typer.Option(help="Who imports (default: login name)")] = None,
    schema: Annotated[
        bool, typer.Option("--schema", help="Print the column dictionary and exit")
    ] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Show what would be inserted, updated (old → new) and refused; "
                          "write nothing")] = False,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Update fields changed since the records were last imported or "
                            "exported (needs --reason)")] = False,
    encoding: Annotated[str, typer.Option(
        "--encoding", help="Text encoding of CSV files: auto (detects UTF-8, UTF-8/UTF-16 "
                           "with a BOM and CP932), utf-8, utf-8-sig, cp932, shift_jis or "
                           "utf-16")] = "auto",
) -> None:
    """Import CSV/Excel/Parquet tables; all problems are listed and nothing is written.

    A field changed since its record was last imported or exported (on the web, say) is not
    overwritten by the file unless --overwrite and --reason are given."""
    from rich.progress import Progress, TextColumn

    from regmed.registry import format_dictionary, run_write
    from regmed.registry.history import has_history
    from regmed.registry.io import open_folder
    from regmed.registry.stream import import_files

    if schema:
        typer.echo(format_dictionary(), nl=False)
        return
    if path is None:
        raise RegmedError("give a folder or file to import (or --schema to see the columns)")
    files = open_folder(path, encoding=encoding)
    engine = _engine()
    if dry_run:
        _dry_run(engine, path, actor or _default_actor(), reason, overwrite, encoding)
        return
    if has_history(path):
        loaded = _load_history(engine, path)
        if loaded is not None:
            engine.dispose()
            typer.echo(loaded)
            return
        typer.echo("the registry is not empty: importing the tables only (their history in "
                   f"{path / 'history'} is loaded only into a new registry)", err=True)
    console = Console(stderr=True)
    try:
        with Progress(TextColumn("{task.description}"), console=console, transient=True) as bar:
            task = bar.add_task("reading", total=None)

            def progress(table: str, done: int) -> None:
                bar.update(task, description=f"{table}: {done:,} rows checked")

            summary = run_write(engine, lambda session: import_files(
                session, files, actor=actor or _default_actor(), reason=reason,
                progress=progress, overwrite=overwrite, today=dt.date.today()))
    finally:
        engine.dispose()
    typer.echo(summary.summary())


def _dry_run(engine: Any, path: Path, actor: str, reason: str | None, overwrite: bool,
             encoding: str = "auto") -> None:
    """What the import would do (the files read whole: a dry run writes nothing)."""
    from regmed.registry import read_folder, session_scope
    from regmed.registry.merge import plan_import

    tables = read_folder(path, encoding=encoding)

    try:
        with session_scope(engine) as session:
            plan = plan_import(session, tables, actor=actor, reason=reason,
                               overwrite=overwrite, today=dt.date.today())
            session.rollback()  # a dry run writes nothing
    finally:
        engine.dispose()
    typer.echo(plan.summary())
    if not plan.ok:
        raise typer.Exit(1)


def _load_history(engine: Any, path: Path) -> str | None:
    """Load an export's history into an empty registry (None when it is not empty)."""
    from sqlalchemy import func, select

    from regmed.registry import database_url, load_audit_key, run_write, session_scope
    from regmed.registry.history import load_history
    from regmed.registry.models import AuditEvent, Site

    with session_scope(engine) as session:
        if session.scalar(select(func.count()).select_from(AuditEvent)) or session.scalar(
                select(func.count()).select_from(Site)):
            return None
    key = load_audit_key(database_url())[0]
    loaded = run_write(engine, lambda session: load_history(session, path, key))
    return (f"loaded the history of {path}: {sum(loaded.values())} rows in {len(loaded)} "
            f"tables, {loaded.get('audit_events', 0)} audit events (verified)")


def export(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the files into")],
    format: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
    history: Annotated[bool, typer.Option(
        "--history/--no-history",
        help="Also write OUT/history/: the archive of every table (audit trail, plans, "
             "evaluations, users, signatures) that `regmed import OUT` loads into a new registry")
    ] = True,
    password_hashes: Annotated[bool, typer.Option(
        "--with-password-hashes",
        help="(administrators, moving a registry) keep users' password hashes in the history; "
             "without it users must be given new passwords after the move")] = False,
) -> None:
    """Write every table to OUT/<table>.csv (or .parquet), patients by pseudonym; the export
    is recorded in the audit trail as a file sync point (see `regmed import --overwrite`), and
    the registry's whole history goes to OUT/history/."""
    from regmed.registry import database_url, export_tables, load_audit_key, session_scope
    from regmed.registry.archive import archive
    from regmed.registry.history import HISTORY_FOLDER
    from regmed.registry.sync import record_export

    if format not in ("csv", "parquet"):
        raise RegmedError(f"unknown export format {format!r} (csv or parquet)")
    target = out / HISTORY_FOLDER
    if history and target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise RegmedError(f"{str(target)!r} exists already; export into a new folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RegmedError(f"cannot write the export folder {str(out)!r}: {exc.strerror}") from None
    key = load_audit_key(database_url())[0] if history else None
    engine = _engine()
    if engine.dialect.name == "postgresql":  # one consistent state for tables and history
        engine = engine.execution_options(isolation_level="REPEATABLE READ")
    try:
        with session_scope(engine) as session:
            files = export_tables(session, out, format=format)
            record_export(session, actor=_default_actor(),
                          files=[str(f) for f in files.values()])
            if key is not None:  # the history holds the export's sync point too
                session.flush()
                manifest = archive(session, target, key, password_hashes=password_hashes)
    finally:
        engine.dispose()
    typer.echo(f"wrote {len(files)} tables to {out}")
    if key is not None:
        head = manifest["audit"]
        typer.echo(f"wrote the history to {target}: {head['events']} audit events, head event "
                   f"#{head['head_seq']} {head['head_hash']}"
                   + ("" if password_hashes else "; users without password hashes"))


@audit_app.command("verify")
def audit_verify(
    checkpoint: Annotated[
        Path | None,
        typer.Option("--checkpoint", help="A checkpoint file the trail must still extend"),
    ] = None,
) -> None:
    """Walk the keyed hash chain and compare every record; exit 1 naming what is broken."""
    from regmed.registry import (
        database_url,
        load_audit_key,
        read_checkpoint,
        session_scope,
        verify_audit,
    )

    key = None
    cp = None
    if checkpoint is not None:
        key = load_audit_key(database_url())[0]
        cp = read_checkpoint(checkpoint, key)
    engine = _engine()
    try:
        with session_scope(engine) as session:
            result = verify_audit(session, key, checkpoint=cp)
    finally:
        engine.dispose()
    if result.ok:
        typer.echo(result.message)
        typer.echo(f"head: event {result.head}")
        if result.unkeyed:
            typer.echo(f"{result.unkeyed} events predate the keyed trail (pinned by the seal)")
        if cp is not None:
            typer.echo(f"extends the checkpoint of {cp['created_at']} (event #{cp['head_seq']})")
        return
    console = Console(stderr=True)
    console.print(result.message, highlight=False, markup=False)
    console.print(f"head: event {result.head}", highlight=False, markup=False)
    for line in result.problems[1:20]:
        console.print(f"  - {line}", highlight=False, markup=False)
    if len(result.problems) > 20:
        console.print(f"  ... and {len(result.problems) - 20} more", highlight=False)
    # SystemExit (not typer.Exit): the regmed entry point runs click in non-standalone mode,
    # where typer.Exit's code would be returned rather than used as the exit status.
    raise SystemExit(1)


@audit_app.command("checkpoint")
def audit_checkpoint(
    out: Annotated[Path, typer.Option("--out", help="New file to write the checkpoint to")],
) -> None:
    """Verify the trail and write a signed checkpoint of its head, to keep elsewhere."""
    from regmed.registry import session_scope, write_checkpoint

    engine = _engine()
    try:
        with session_scope(engine) as session:
            body = write_checkpoint(session, out)
    finally:
        engine.dispose()
    typer.echo(
        f"wrote checkpoint {out}: {body['events']} events, head event "
        f"#{body['head_seq']} {body['head_hash']}; keep it apart from the registry"
    )


def _changes(event: dict[str, Any]) -> str:
    if event["action"] == "insert":
        return "created"
    if event["action"] == "delete":
        return "deleted"
    old, new = event["old_values"] or {}, event["new_values"] or {}
    diffs = [
        f"{k}: {old.get(k)!r} → {new.get(k)!r}" for k in sorted(new) if old.get(k) != new.get(k)
    ]
    return "; ".join(diffs) or "no change"


@audit_app.command("log")
def audit_log_cmd(
    record: Annotated[
        str,
        typer.Option(
            "--record",
            help="TABLE:KEY, e.g. sites:S01, assessments:A0001, patients:S01:P001 "
            "(a patient_ref is pseudonymized), or TABLE:ID",
        ),
    ],
) -> None:
    """Show the history of one record."""
    from regmed.registry import audit_log, database_url, load_key, pseudonymize, session_scope
    from regmed.registry.models import AUDITED_MODELS

    table, sep, key = record.partition(":")
    if not sep or not key:
        raise RegmedError(f"--record must be TABLE:KEY, not {record!r}")
    if table not in AUDITED_MODELS:
        raise RegmedError(f"unknown table {table!r} (one of {', '.join(AUDITED_MODELS)})")
    engine = _engine()
    try:
        with session_scope(engine) as session:
            events = audit_log(session, table, key=key)
            parts = key.split(":")
            if not events and len(parts) >= 2:
                pseud = pseudonymize(load_key(database_url()), parts[0], parts[1])
                events = audit_log(session, table, key=":".join([parts[0], pseud, *parts[2:]]))
            if not events and key.isdigit():
                events = audit_log(session, table, record_id=int(key))
    finally:
        engine.dispose()
    if not events:
        raise RegmedError(f"no audit events for {record!r}")
    last = events[-1]
    typer.echo(f"{table}:{last['record_key']} (id {last['record_id']}), {len(events)} events")
    for e in events:
        reason = f" — reason: {e['reason']}" if e["reason"] else ""
        typer.echo(
            f"  #{e['seq']} {e['occurred_at']} {e['actor']} {e['action']}{reason}: {_changes(e)}"
        )


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="Login name")],
    role: Annotated[
        str,
        typer.Option(help="admin, statistician, investigator, adjudicator, regulator or monitor"),
    ],
    site: Annotated[
        str | None, typer.Option(help="Site code (investigators only, required for them)")
    ] = None,
    set_password: Annotated[
        bool, typer.Option("--set-password", help="Ask for a password (stored as scrypt hash)")
    ] = False,
    actor: Annotated[str | None, typer.Option(help="Who adds (default: login name)")] = None,
    full_name: Annotated[str | None, typer.Option(
        help="The printed name on the user's electronic signatures")] = None,
    language: Annotated[str | None, typer.Option(
        help="The language of the user's pages: ja or en (default: as the browser asks)")]
    = None,
    date_style: Annotated[str | None, typer.Option(
        "--date-style", help="Dates on the user's pages: western (2024-04-01) or wareki "
                             "(令和6年4月1日); default: as chosen in the browser")] = None,
) -> None:
    """Add a user with a role (a password: at least 12 characters, not a common one)."""
    from regmed.registry import add_user, session_scope

    password = None
    if set_password:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    engine = _engine(require_schema=False)
    try:
        if _first_run(engine):
            engine.dispose()
            init()  # the first administrator of a new registry: create it first
            engine = _engine()
        with session_scope(engine) as session:
            user = add_user(
                username,
                role,
                session=session,
                actor=actor or _default_actor(),
                site_code=site,
                password=password,
                full_name=full_name,
                language=language,
                date_style=date_style,
            )
            name, user_role = user.username, user.role
    finally:
        engine.dispose()
    typer.echo(f"added user {name} ({user_role}{', site ' + site if site else ''})")
    if password is None:
        typer.echo(f"{name} has no password yet: set one with `regmed users set-password {name}`")


@users_app.command("set-password")
def users_set_password(
    username: Annotated[str, typer.Argument(help="Login name")],
    actor: Annotated[str | None, typer.Option(help="Who sets it (default: login name)")] = None,
) -> None:
    """Set a user's password (asked twice; policy checked) and end their web sessions."""
    from regmed.registry import session_scope
    from regmed.registry.accounts import set_password

    password = typer.prompt("new password", hide_input=True, confirmation_prompt=True)
    engine = _engine()
    try:
        with session_scope(engine) as session:
            n = set_password(session, username, password, actor=actor or _default_actor())
    finally:
        engine.dispose()
    typer.echo(f"password of {username} set; {n} web session{'s' if n != 1 else ''} ended")


@users_app.command("revoke-sessions")
def users_revoke_sessions(
    username: Annotated[str, typer.Argument(help="Login name")],
    actor: Annotated[str | None, typer.Option(help="Who revokes (default: login name)")] = None,
) -> None:
    """End every web session of a user at once (audited)."""
    from regmed.registry import session_scope
    from regmed.registry.accounts import end_sessions, get_user

    engine = _engine()
    try:
        with session_scope(engine) as session:
            n = end_sessions(session, get_user(session, username), reason="revoked",
                             actor=actor or _default_actor())
    finally:
        engine.dispose()
    typer.echo(f"{n} web session{'s' if n != 1 else ''} of {username} ended")


@users_app.command("set-preferences")
def users_set_preferences(
    username: Annotated[str, typer.Argument(help="Login name")],
    language: Annotated[str | None, typer.Option(
        help="ja or en; an empty text: as the browser asks")] = None,
    date_style: Annotated[str | None, typer.Option(
        "--date-style", help="western or wareki; an empty text: as chosen in the browser")]
    = None,
    actor: Annotated[str | None, typer.Option(help="Who sets them (default: login name)")]
    = None,
) -> None:
    """Set a user's language and date style (audited); options not given stay."""
    from regmed.registry import session_scope
    from regmed.registry.accounts import set_preferences

    given = {k: v for k, v in (("language", language), ("date_style", date_style))
             if v is not None}
    engine = _engine()
    try:
        with session_scope(engine) as session:
            user = set_preferences(session, username, actor=actor or _default_actor(),
                                   **given)
            shown = f"language {user.language or '(browser)'}, dates " \
                    f"{user.date_style or '(browser)'}"
    finally:
        engine.dispose()
    typer.echo(f"preferences of {username}: {shown} (audited)")


@users_app.command("list")
def users_list() -> None:
    """List users and their roles."""
    from regmed.registry import list_users, session_scope

    engine = _engine()
    try:
        with session_scope(engine) as session:
            users = list_users(session=session)
    finally:
        engine.dispose()
    out = Table(title=f"{len(users)} users")
    for col in ("username", "role", "site", "active", "password"):
        out.add_column(col)
    for u in users:
        out.add_row(
            u["username"],
            u["role"],
            u["site"] or "",
            "yes" if u["active"] else "no",
            "set" if u["has_password"] else "",
        )
    Console().print(out)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the `regmed` app."""
    app.command("init")(init)
    app.command("import")(import_)
    app.command("export")(export)
    app.add_typer(audit_app, name="audit")
    app.add_typer(users_app, name="users")
