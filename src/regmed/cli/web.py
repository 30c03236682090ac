"""`regmed serve`: run the web application with uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from regmed.errors import RegmedError

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add `serve` to the `regmed` app."""

    @app.command("serve")
    def serve_cmd(
        host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port")] = 8000,
        database: Annotated[str | None, typer.Option(
            "--database", help="Registry URL (default REGMED_DATABASE_URL or regmed.sqlite)")
        ] = None,
        insecure_cookies: Annotated[bool, typer.Option(
            "--insecure-cookies", help="Send the session cookie over plain HTTP (local only)")
        ] = False,
        check: Annotated[bool, typer.Option(
            "--check", help="Check settings and the registry, then exit without serving")
        ] = False,
    ) -> None:
        """Serve the web application (secret key from REGMED_WEB_SECRET_KEY)."""
        import regmed.registry as reg
        from regmed.web import WebSettings, create_app

        settings = WebSettings.from_env(secure_cookies=not insecure_cookies,
                                        **({"database_url": database} if database else {}))
        engine = reg.make_engine(settings.database_url)
        current = reg.current_revision(engine)
        if current != reg.head_revision():
            engine.dispose()
            raise RegmedError(
                f"the registry at {engine.url!r} is at revision {current!r}, not "
                f"{reg.head_revision()!r}; run `regmed init` first")
        web = create_app(settings, engine=engine)
        if check:
            n = sum(1 for r in web.routes if getattr(r, "path", "").startswith("/api"))
            typer.echo(f"ok: registry {engine.url!r} at {current}; {n} API routes")
            engine.dispose()
            return
        import uvicorn

        uvicorn.run(web, host=host, port=port, log_level="info")
