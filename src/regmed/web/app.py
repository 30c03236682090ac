"""The application factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import DataError as DBDataError
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from regmed.errors import AccessDenied, DataError, RegmedError
from regmed.registry import database_url, make_engine
from regmed.web.deps import NotAuthenticated
from regmed.web.security import LoginThrottle
from regmed.web.services import NotFound
from regmed.web.settings import WebSettings

__all__ = ["create_app", "app_from_env"]


def _problems(exc: RegmedError) -> list[dict[str, Any]]:
    return [p.to_dict() for p in exc.problems]


_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
            (b"cache-control", b"no-store")]


class _SecurityHeaders:
    """Adds the security headers to every HTTP response (plain ASGI: no per-request task)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in _HEADERS if k not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _engine(settings: WebSettings) -> Any:
    """The app's engine; on PostgreSQL a pool as large as the requests that may use the
    database at once (the server's worker threads), so that readers never wait for a
    connection while writers queue at the write gate."""
    url = database_url(settings.database_url)
    if url.startswith("postgresql"):
        return make_engine(url, pool_size=10, max_overflow=30, pool_recycle=1800)
    return make_engine(url)


def create_app(settings: WebSettings, *, engine: Any = None) -> FastAPI:
    """Build the web application on ``settings`` (an engine is made from the database URL
    unless one is given; the schema must be migrated with ``regmed.registry.upgrade``).

    Examples
    --------
    >>> from regmed.web import WebSettings, create_app
    >>> app = create_app(WebSettings(secret_key="x" * 32, database_url="sqlite://"))
    >>> app.title
    'regmed'
    """
    from regmed.web import api, forms, pages

    app = FastAPI(title="regmed", version="1", docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.engine = engine if engine is not None else _engine(settings)
    sqlite = app.state.engine.dialect.name == "sqlite"
    app.state.write_limit = 1 if sqlite else settings.max_concurrent_writes
    app.state.write_gates = {}
    app.state.throttle = LoginThrottle(
        settings.max_login_failures, settings.throttle_window_s, settings.clock
    )
    app.state.templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="regmed_session",
        max_age=12 * 3600,
        same_site="strict",
        https_only=settings.secure_cookies,
    )

    app.add_middleware(_SecurityHeaders)

    @app.exception_handler(NotAuthenticated)
    async def _unauth(request: Request, exc: NotAuthenticated) -> Response:
        if request.url.path.startswith("/api"):
            return JSONResponse({"detail": "not logged in"}, status_code=401)
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> Response:
        return JSONResponse({"detail": "not found"}, status_code=404)

    @app.exception_handler(AccessDenied)
    async def _denied(request: Request, exc: AccessDenied) -> Response:
        return JSONResponse({"detail": exc.message}, status_code=403)

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> Response:
        return JSONResponse({"detail": exc.message, "problems": _problems(exc)},
                            status_code=422)

    @app.exception_handler(DBDataError)
    async def _db_data(request: Request, exc: DBDataError) -> Response:
        # a value the database cannot hold (PostgreSQL: a NUL character in text); the unit
        # of work has rolled back
        return JSONResponse({"detail": "a value cannot be stored (e.g. it contains a NUL "
                                       "character)"}, status_code=422)

    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(forms.router)
    return app


def app_from_env() -> FastAPI:
    """``create_app(WebSettings.from_env())``: the factory uvicorn's worker processes call
    (``uvicorn --factory regmed.web.app:app_from_env``; see ``regmed serve --workers``)."""
    return create_app(WebSettings.from_env())
