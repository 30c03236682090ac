"""The ``regmed`` command.

Each area registers its commands from its own module (``design``, ``plan``, ``registry``,
``evaluate``) so that the command line stays a thin layer over the packages. User mistakes
(any :class:`regmed.errors.RegmedError`) print one sentence plus the list of problems and
exit with status 2 — never a traceback.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from regmed.errors import RegmedError

__all__ = ["app", "main"]

app = typer.Typer(
    name="regmed",
    help="regmed — evidence platform for regenerative-medicine products.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """regmed — evidence platform for regenerative-medicine products."""


@app.command()
def version() -> None:
    """Print regmed's version."""
    from regmed import __version__

    typer.echo(__version__)


def _register() -> None:
    from regmed.cli import (
        backup,
        design,
        evaluate,
        federated,
        freeze,
        plan,
        quality,
        registry,
        singlecell,
        study,
        web,
    )

    for module in (registry, backup, freeze, design, plan, evaluate, quality, web, singlecell,
                   study, federated):
        module.register(app)


_register()


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turning regmed's errors into a clear message and exit code 2."""
    try:
        code = app(args=argv, standalone_mode=False)
    except RegmedError as exc:
        from rich.markup import escape

        Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {escape(str(exc))}",
                                                   highlight=False)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(1)
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
    if isinstance(code, int) and code:
        sys.exit(code)
