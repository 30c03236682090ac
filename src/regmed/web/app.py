"""The application factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import DataError as DBDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from regmed.errors import AccessDenied, DataError, RegmedError
from regmed.registry import database_url, make_engine
from regmed.web.auth import dummy_hash
from regmed.web.deps import NotAuthenticated
from regmed.web.i18n import Translator, load_catalogues, translator_for
from regmed.web.problems import plain
from regmed.web.security import LoginThrottle, https_request
from regmed.web.services import NotFound
from regmed.web.settings import WebSettings
from regmed.web.validation import validation_answer

__all__ = ["create_app", "app_from_env"]


def _problems(exc: RegmedError) -> list[dict[str, Any]]:
    return [p.to_dict() for p in exc.problems]


#: Content-Security-Policy of the pages: scripts and styles only from /static (no inline
#: script), requests only to this site, forms only to this site, no framing, no plugins.
CSP = ("default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; "
       "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
            (b"cache-control", b"no-store"), (b"referrer-policy", b"same-origin"),
            (b"content-security-policy", CSP.encode())]
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class _SecurityHeaders:
    """Adds the security headers to every HTTP response (plain ASGI: no per-request task);
    HSTS only on requests that came over TLS (directly, or via a trusted proxy's
    ``X-Forwarded-Proto``), as RFC 6797 §7.2 asks."""

    def __init__(self, app: ASGIApp, trust_proxy: bool = False) -> None:
        self.app = app
        self.trust_proxy = trust_proxy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        proto = dict(scope.get("headers") or []).get(b"x-forwarded-proto", b"").decode("latin-1")
        tls = https_request(scope.get("scheme", "http"), proto, self.trust_proxy)
        wanted = [*_HEADERS, _HSTS] if tls else _HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in wanted if k not in names]
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
    from regmed.web import (
        account,
        api,
        crcpages,
        formpages,
        forms,
        freezes,
        lotpages,
        pages,
        signatures,
    )
    from regmed.web.errorpages import csrf_help, error_page

    app = FastAPI(title="regmed", version="1", docs_url=None, redoc_url=None,
                  openapi_url=None)  # served to admins and statisticians by web.account
    app.state.settings = settings
    app.state.engine = engine if engine is not None else _engine(settings)
    sqlite = app.state.engine.dialect.name == "sqlite"
    app.state.write_limit = 1 if sqlite else settings.max_concurrent_writes
    app.state.write_gates = {}
    app.state.throttle = LoginThrottle(
        window_s=settings.throttle_window_s, free_per_account=settings.free_failures_per_account,
        free_per_address=settings.free_failures_per_address, base_delay_s=settings.base_delay_s,
        max_delay_s=settings.max_delay_s, clock=settings.clock)
    app.state.dummy_hash = dummy_hash()
    app.state.templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
    app.state.catalogues = load_catalogues()
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")),
              name="static")
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="regmed_session",
        max_age=settings.absolute_timeout_s,
        same_site="strict",
        https_only=settings.secure_cookies,
    )

    app.add_middleware(_SecurityHeaders, trust_proxy=settings.trust_proxy)

    def t(request: Request) -> Translator:
        return translator_for(app.state.catalogues, request.headers.get("accept-language"),
                              request.cookies, getattr(request.state, "user_shown", None))

    def page_or_json(request: Request, status: int, detail: str, **extra: Any) -> Response:
        """JSON for the API, an HTML page in the request's language for browsers."""
        if request.url.path.startswith("/api") or "text/html" not in request.headers.get(
                "accept", ""):
            return JSONResponse({"detail": plain(detail, t(request)), **extra},
                                status_code=status)
        return error_page(request, status, plain(detail, t(request)))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return JSONResponse(validation_answer(exc, t(request)), status_code=422)

    @app.exception_handler(NotAuthenticated)
    async def _unauth(request: Request, exc: NotAuthenticated) -> Response:
        if request.url.path.startswith("/api"):
            return JSONResponse({"detail": t(request)("not logged in")}, status_code=401)
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> Response:
        return page_or_json(request, 404, "not found")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        detail = str(exc.detail)
        if exc.status_code == 404:
            detail = "not found"
        elif detail == "missing or wrong CSRF token" and not request.url.path.startswith("/api"):
            detail = csrf_help(request, settings)
        response = page_or_json(request, exc.status_code, detail)
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(AccessDenied)
    async def _denied(request: Request, exc: AccessDenied) -> Response:
        return page_or_json(request, 403, exc.message)

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> Response:
        tr = t(request)  # each problem also in plain words of the request's language
        problems = [{**p.to_dict(), "text": plain(p.message, tr)} for p in exc.problems]
        return JSONResponse({"detail": plain(exc.message, tr), "problems": problems},
                            status_code=422)

    @app.exception_handler(DBDataError)
    async def _db_data(request: Request, exc: DBDataError) -> Response:
        # a value the database cannot hold (PostgreSQL: a NUL character in text); the unit
        # of work has rolled back
        return JSONResponse({"detail": t(request)("a value cannot be stored (e.g. it contains "
                                                  "a NUL character)")}, status_code=422)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        return page_or_json(request, 500, "something went wrong on the server; the change "
                                          "was not saved")

    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(forms.router)
    app.include_router(account.router)
    app.include_router(signatures.router)
    app.include_router(freezes.router)
    app.include_router(freezes.pages)
    app.include_router(crcpages.router)
    app.include_router(formpages.router)
    app.include_router(lotpages.router)
    return app


def app_from_env() -> FastAPI:
    """``create_app(WebSettings.from_env())``: the factory uvicorn's worker processes call
    (``uvicorn --factory regmed.web.app:app_from_env``; see ``regmed serve --workers``)."""
    return create_app(WebSettings.from_env())
