"""The user's own account (password change, TOTP second factor), the administrator's session
revocation, and the OpenAPI document for logged-in administrators and statisticians.

A password change (API or page) needs the current password, goes through the policy
(:mod:`regmed.registry.passwords`), ends every session of the user and starts a new one
for the request (its CSRF token changes). A TOTP second factor (RFC 6238, ``pyotp``) is
optional for administrators and statisticians: it is set up with a secret shown once and
switched on by a first valid code; from then on login and signing need the current code.
"""

from __future__ import annotations

from typing import Annotated, Any

import pyotp
from fastapi import APIRouter, Depends, Path, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from regmed.errors import AccessDenied, DataError, Problem
from regmed.registry import User
from regmed.registry.accounts import (
    check_totp,
    end_sessions,
    get_user,
    set_password,
    set_preferences,
)
from regmed.registry.audit import AuditWriter, canonical_json
from regmed.registry.web_models import UserTotp
from regmed.web.auth import (
    TOTP_ROLES,
    check_reentry,
    csrf_token,
    keep_failure,
    open_session,
    start_session,
)
from regmed.web.deps import SessionDep, SettingsDep, UserDep, check_csrf, require
from regmed.web.i18n import DATE_STYLES, DATES_COOKIE, LANG_COOKIE, LANGUAGES
from regmed.web.pages import error_list, form_data, render
from regmed.web.schemas import OtpIn, PasswordChange
from regmed.web.settings import WebSettings

__all__ = ["router", "change_password", "start_totp", "confirm_totp"]

router = APIRouter()
Csrf = Depends(check_csrf)
Admin = Annotated[User, Depends(require("admin"))]
DocsReader = Annotated[User, Depends(require("admin", "statistician"))]
Name = Annotated[str, Path(min_length=1, max_length=64)]
_DOCS_CSP = ("default-src 'none'; script-src https://cdn.jsdelivr.net 'unsafe-inline'; "
             "style-src https://cdn.jsdelivr.net 'unsafe-inline'; img-src 'self' data: "
             "https://fastapi.tiangolo.com; connect-src 'self'; frame-ancestors 'none'")


def change_password(request: Request, session: Session, settings: WebSettings, user: User,
                    current: str, new: str) -> None:
    """Change the user's own password (current one re-entered), end all their sessions and
    start a new one for this request."""
    with keep_failure(session):
        check_reentry(request, session, user, current, None, settings.clock(),
                      what="password change", totp=False)
    set_password(session, user.username, new, actor=user.username, now=settings.clock())
    start_session(request, session, user, settings)


def _audit_totp(session: Session, user: User, action: str, confirmed: bool) -> None:
    w = AuditWriter(session, user.username)
    w.add("user_totp", user.id, user.username, action, None,
          canonical_json({"username": user.username, "confirmed": confirmed}), None)
    w.flush()


def start_totp(session: Session, user: User, issuer: str = "regmed") -> dict[str, str]:
    """A new TOTP secret for the user (not in force until confirmed with a code)."""
    if user.role not in TOTP_ROLES:
        raise AccessDenied(f"a second factor is offered to {' and '.join(TOTP_ROLES)}s")
    row = session.execute(select(UserTotp).where(UserTotp.user_id == user.id)).scalar()
    if row is not None and row.confirmed:
        raise DataError("a second factor is in force already")
    secret = pyotp.random_base32()
    if row is None:
        session.add(UserTotp(user_id=user.id, secret=secret, confirmed=False))
    else:
        row.secret, row.last_step = secret, None
    session.flush()
    _audit_totp(session, user, "insert", False)
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=issuer)
    return {"secret": secret, "uri": uri}


def confirm_totp(session: Session, user: User, code: str, now: float) -> None:
    """Put the second factor in force with a first valid code."""
    row = session.execute(select(UserTotp).where(UserTotp.user_id == user.id)).scalar()
    if row is None or row.confirmed:
        raise DataError("no second factor is waiting for confirmation")
    if not check_totp(session, user, code, now, confirmed_only=False):
        raise DataError("not confirmed", [Problem("the code is wrong", field="otp")])
    row.confirmed = True
    session.flush()
    _audit_totp(session, user, "update", True)


@router.post("/api/me/password", dependencies=[Csrf], tags=["api"])
def api_change_password(body: PasswordChange, request: Request, user: UserDep,
                        session: SessionDep, settings: SettingsDep) -> dict[str, str]:
    """Change one's password; every session ends, this request gets a new one (its CSRF
    token is in the answer)."""
    change_password(request, session, settings, user, body.current_password,
                    body.new_password)
    return {"status": "password changed", "csrf_token": csrf_token(request)}


@router.post("/api/me/totp", dependencies=[Csrf], tags=["api"])
def api_start_totp(user: UserDep, session: SessionDep) -> dict[str, str]:
    """Set up a TOTP second factor (administrators and statisticians): the secret and its
    ``otpauth://`` URI, shown once."""
    return start_totp(session, user)


@router.post("/api/me/totp/confirm", dependencies=[Csrf], tags=["api"])
def api_confirm_totp(body: OtpIn, user: UserDep, session: SessionDep,
                     settings: SettingsDep) -> dict[str, str]:
    """Put the second factor in force with a first code."""
    confirm_totp(session, user, body.otp, settings.clock())
    return {"status": "second factor in force"}


@router.post("/api/users/{username}/revoke-sessions", dependencies=[Csrf], tags=["api"])
def api_revoke_sessions(username: Name, user: Admin, session: SessionDep,
                        settings: SettingsDep) -> dict[str, Any]:
    """End every session of a user (audited)."""
    target = get_user(session, username)
    n = end_sessions(session, target, reason="revoked", actor=user.username,
                     now=settings.clock())
    return {"username": target.username, "sessions_ended": n}


@router.get("/account", response_class=HTMLResponse, include_in_schema=False)
def account_page(request: Request, user: UserDep, session: SessionDep) -> Response:
    row = session.execute(select(UserTotp).where(UserTotp.user_id == user.id)).scalar()
    return render(request, "account.html", user=user, totp=row, totp_roles=TOTP_ROLES)


@router.post("/account/password", dependencies=[Csrf], include_in_schema=False)
async def account_password(request: Request, user: UserDep, session: SessionDep,
                           settings: SettingsDep) -> Response:
    data = await form_data(request)
    try:
        if data.get("new_password") != data.get("repeat_password"):
            raise DataError("password not changed", [Problem("the two new passwords differ",
                                                             field="repeat_password")])
        change_password(request, session, settings, user, str(data.get("current_password")
                                                               or ""),
                        str(data.get("new_password") or ""))
    except DataError as exc:
        session.rollback()
        return render(request, "account.html", status=422, user=user, totp=None,
                      totp_roles=TOTP_ROLES, errors=error_list(exc))
    return render(request, "account.html", user=user, totp=None, totp_roles=TOTP_ROLES,
                  done="The password is changed; every other session has ended.")


@router.post("/preferences", dependencies=[Csrf], include_in_schema=False)
async def preferences(request: Request, session: SessionDep, settings: SettingsDep
                      ) -> Response:
    """Keep the visitor's language and date style: with the logged-in user's account
    (audited; it follows them to every browser) and in cookies of this browser (a year). The
    language switch of every page and the account page post here."""
    data = await form_data(request)
    found = open_session(request, session, settings)
    if found is not None:
        given = {column: data.get(key) for column, key in (("language", "lang"),
                                                           ("date_style", "dates"))
                 if key in data}
        try:
            set_preferences(session, found[1].username, actor=found[1].username, **given)
        except DataError as exc:
            session.rollback()
            return render(request, "account.html", status=422, user=found[1], totp=None,
                          totp_roles=TOTP_ROLES, errors=error_list(exc))
    back = str(data.get("next") or "/")
    if not back.startswith("/") or back.startswith("//"):
        back = "/"
    page = RedirectResponse(back, status_code=303)
    secure = request.app.state.settings.secure_cookies
    for name, value, allowed in ((LANG_COOKIE, data.get("lang"), LANGUAGES),
                                 (DATES_COOKIE, data.get("dates"), DATE_STYLES)):
        if value in allowed:
            page.set_cookie(name, str(value), max_age=365 * 86400, samesite="strict",
                            httponly=True, secure=secure)
    return page


@router.post("/account/totp", dependencies=[Csrf], include_in_schema=False)
async def account_totp(request: Request, user: UserDep, session: SessionDep,
                       settings: SettingsDep) -> Response:
    data = await form_data(request)
    try:
        if data.get("otp"):
            confirm_totp(session, user, str(data["otp"]), settings.clock())
            return RedirectResponse("/account", status_code=303)
        setup = start_totp(session, user)
    except (DataError, AccessDenied) as exc:
        session.rollback()
        errors = error_list(exc) if isinstance(exc, DataError) else [Problem(exc.message)]
        return render(request, "account.html", status=422, user=user, totp=None,
                      totp_roles=TOTP_ROLES, errors=errors)
    return render(request, "account.html", user=user, totp=None, totp_roles=TOTP_ROLES,
                  setup=setup)


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, user: DocsReader) -> JSONResponse:
    """The OpenAPI document (logged-in administrators and statisticians only)."""
    return JSONResponse(request.app.openapi())


@router.get("/docs", include_in_schema=False)
def docs(user: DocsReader) -> Response:
    """Swagger UI of the API (logged-in administrators and statisticians only)."""
    page = get_swagger_ui_html(openapi_url="/openapi.json", title="regmed API")
    page.headers["content-security-policy"] = _DOCS_CSP
    return page
