"""`regmed serve`: run the web application with uvicorn."""

from __future__ import annotations

import os
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
        workers: Annotated[int, typer.Option(
            min=1, help="Worker processes (PostgreSQL only; SQLite is served by one)")] = 1,
    ) -> None:
        """Serve the web application (secret key from REGMED_WEB_SECRET_KEY)."""
        import regmed.registry as reg
        from regmed.web import WebSettings, create_app

        key = os.environ.get("REGMED_WEB_SECRET_KEY", "")
        if len(key) < 16:
            raise RegmedError(
                ("REGMED_WEB_SECRET_KEY is not set" if not key else
                 "REGMED_WEB_SECRET_KEY is too short (at least 16 characters)")
                + ": it is the web secret key that signs the login cookies, so set it to a "
                "long random text before `regmed serve`, for example with `export "
                "REGMED_WEB_SECRET_KEY=$(python3 -c 'import secrets; "
                "print(secrets.token_urlsafe(32))')`")
        settings = WebSettings.from_env(secure_cookies=not insecure_cookies,
                                        **({"database_url": database} if database else {}))
        from regmed.registry.db import sqlite_path

        path = sqlite_path(reg.database_url(settings.database_url))
        if path is not None and not path.exists():  # connecting would create an empty file
            raise RegmedError(f"there is no registry at {path}; run `regmed init` first")
        engine = reg.make_engine(settings.database_url)
        current = reg.current_revision(engine)
        if current != reg.head_revision():
            engine.dispose()
            raise RegmedError(
                f"the registry at {engine.url!r} is at revision {current!r}, not "
                f"{reg.head_revision()!r}; run `regmed init` first")
        if workers > 1 and engine.dialect.name == "sqlite":
            engine.dispose()
            raise RegmedError("SQLite has one writer at a time: serve it with --workers 1, "
                              "or use PostgreSQL for several workers")
        web = create_app(settings, engine=engine)
        if check:
            n = sum(1 for r in web.routes if getattr(r, "path", "").startswith("/api"))
            typer.echo(f"ok: registry {engine.url!r} at {current}; {n} API routes")
            engine.dispose()
            return
        import uvicorn

        if workers == 1:
            uvicorn.run(web, host=host, port=port, log_level="info")
            return
        engine.dispose()  # each worker builds its app (and engine) from the environment
        os.environ["REGMED_DATABASE_URL"] = str(settings.database_url or engine.url)
        if insecure_cookies:
            os.environ["REGMED_WEB_INSECURE_COOKIES"] = "1"
        uvicorn.run("regmed.web.app:app_from_env", factory=True, workers=workers, host=host,
                    port=port, log_level="info")
