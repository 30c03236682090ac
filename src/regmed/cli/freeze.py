"""`regmed freeze` and `regmed unfreeze`: a data manager freezes a site's or the study's data.

While frozen, every write of those data — import, web, service — is refused with a sentence
naming the freeze; only an audited unfreeze (with a reason) ends it.
"""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["register"]

Site = Annotated[str | None, typer.Option("--site", help="The site code whose data")]
Study = Annotated[bool, typer.Option("--study", help="The whole study's data")]
Reason = Annotated[str, typer.Option("--reason", help="Why (kept in the audit trail)")]
Actor = Annotated[str | None, typer.Option(help="Who (default: login name)")]


def _run(freeze: bool, site: str | None, study: bool, reason: str, actor: str | None) -> None:
    from regmed.cli.registry import _default_actor, _engine
    from regmed.registry import session_scope
    from regmed.registry.freeze import active_freezes, freeze_data, unfreeze_data

    engine = _engine()
    act = freeze_data if freeze else unfreeze_data
    try:
        with session_scope(engine) as session:
            f = act(session, actor=actor or _default_actor(), reason=reason,
                    site_code=site, study=study)
            what = "the study's data" if f.scope == "study" else f"the data of site {site}"
            when = f.frozen_at if freeze else f.unfrozen_at
            typer.echo(f"{'froze' if freeze else 'unfroze'} {what} ({when}, audited)")
            frozen = active_freezes(session)
    finally:
        engine.dispose()
    for row in frozen:
        typer.echo(f"in force: {row['scope']} {row['site_code'] or ''} since "
                   f"{row['frozen_at']} by {row['frozen_by']}: {row['reason']}")


def register(app: typer.Typer) -> None:
    """Add `freeze` and `unfreeze` to the `regmed` app."""

    @app.command("freeze")
    def freeze_cmd(reason: Reason, site: Site = None, study: Study = False,
                   actor: Actor = None) -> None:
        """Freeze a site's data (--site S) or the whole study's (--study); audited."""
        _run(True, site, study, reason, actor)

    @app.command("unfreeze")
    def unfreeze_cmd(reason: Reason, site: Site = None, study: Study = False,
                     actor: Actor = None) -> None:
        """End the freeze of a site's (--site S) or the study's data (--study); audited."""
        _run(False, site, study, reason, actor)
