"""Error pages for browsers (403, 404, 500, a refused form token) in the request's language."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from regmed.web.security import https_request
from regmed.web.settings import WebSettings

__all__ = ["error_page", "csrf_help", "cookie_dropped", "TITLES", "COOKIE_HELP"]

#: The heading of each error page (message ids).
TITLES = {400: "The request was not understood", 401: "Please log in",
          403: "You may not open this page", 404: "This page does not exist",
          405: "This page does not accept that", 429: "Too many attempts",
          500: "Something went wrong"}

COOKIE_HELP = ("This server sends its login cookie only over HTTPS, so the browser did not "
                "keep it on this plain-HTTP address: open the site over https://, or, for a "
                "trial on a local network, start it with `regmed serve --insecure-cookies`.")
_STALE_HELP = ("The form had expired (or your session ended): reload the page and send it "
               "again.")


def cookie_dropped(request: Request, settings: WebSettings) -> bool:
    """True when the browser will not keep the login cookie: secure cookies over plain HTTP
    on a host other than localhost (browsers treat localhost as secure)."""
    proto = request.headers.get("x-forwarded-proto", "")
    tls = https_request(request.url.scheme, proto, settings.trust_proxy)
    local = (request.url.hostname or "") in ("localhost", "127.0.0.1", "::1", "[::1]")
    return settings.secure_cookies and not tls and not local


def csrf_help(request: Request, settings: WebSettings) -> str:
    """Why a form's token was refused, in words a user can act on: over plain HTTP with secure
    cookies the browser drops the session cookie (except on localhost)."""
    proto = request.headers.get("x-forwarded-proto", "")
    tls = https_request(request.url.scheme, proto, settings.trust_proxy)
    if settings.secure_cookies and not tls:
        return COOKIE_HELP
    return _STALE_HELP


def error_page(request: Request, status: int, detail: str) -> Response:
    """The HTML page of an error ``status`` with ``detail`` (translated)."""
    from regmed.web.pages import render

    title = TITLES.get(status, "Something went wrong")
    return render(request, "error.html", status=status, title=title, detail=detail,
                  code=status, user=getattr(request.state, "user_shown", None))
