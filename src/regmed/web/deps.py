"""Request dependencies: the unit of work, the logged-in user, roles and CSRF."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import SimpleNamespace
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from regmed.registry import User
from regmed.registry.web_models import WebSession
from regmed.web.auth import open_session
from regmed.web.security import csrf_for, same_token
from regmed.web.settings import WebSettings

__all__ = [
    "NotAuthenticated",
    "db_session",
    "write_gate",
    "current_user",
    "current_web_session",
    "require",
    "check_csrf",
    "get_settings",
    "SessionDep",
    "UserDep",
    "SettingsDep",
]


class NotAuthenticated(Exception):
    """No valid session: the API answers 401, pages redirect to the login form."""


async def get_settings(request: Request) -> WebSettings:
    """The app's settings."""
    return request.app.state.settings  # type: ignore[no-any-return]


async def write_gate(request: Request) -> AsyncIterator[None]:
    """Writing requests wait here (without holding a worker thread) so that at most
    ``app.state.write_limit`` of them use the database at once: 1 on SQLite (one writer at a
    time, so saves queue instead of failing with "database is locked"), a few on PostgreSQL
    (writers serialize on the audit chain's table lock anyway; without the gate, waiting
    writers could occupy every worker thread while the lock holder needs one to commit)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        yield
        return
    gates = request.app.state.write_gates
    loop = id(asyncio.get_running_loop())
    gate = gates.setdefault(loop, asyncio.Semaphore(request.app.state.write_limit))
    async with gate:
        yield


def db_session(
    request: Request, _gate: Annotated[None, Depends(write_gate)]
) -> Iterator[Session]:
    """One session per request, committed when the route returns, rolled back on error."""
    yield from _unit_of_work(request)


def _unit_of_work(request: Request) -> Iterator[Session]:
    session = Session(
        request.app.state.engine, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(db_session)]
SettingsDep = Annotated[WebSettings, Depends(get_settings)]


def current_user(request: Request, session: SessionDep, settings: SettingsDep) -> User:
    """The logged-in, active user of a live server-side session (see
    :mod:`regmed.web.auth`): ended, idle or expired sessions are refused."""
    found = open_session(request, session, settings)
    if found is None:
        raise NotAuthenticated()
    request.state.web_session = found[0]
    # for the error pages' header (a copy: a failed request's session expires the row)
    # and for the request's language (the user's stored choice first)
    request.state.user_shown = SimpleNamespace(username=found[1].username, role=found[1].role,
                                               language=found[1].language,
                                               date_style=found[1].date_style)
    return found[1]


def current_web_session(request: Request, user: Annotated[User, Depends(current_user)]
                        ) -> WebSession:
    """The request's live session row (after :func:`current_user`)."""
    return request.state.web_session  # type: ignore[no-any-return]


UserDep = Annotated[User, Depends(current_user)]


def require(*roles: str) -> Callable[[User], Awaitable[User]]:
    """A dependency that admits only users of ``roles`` (others get 403)."""

    async def check(user: UserDep) -> User:  # async: no thread hop for a comparison
        if user.role not in roles:
            raise HTTPException(status_code=403, detail=f"not allowed for a {user.role}")
        return user

    return check


async def check_csrf(request: Request) -> None:
    """Unsafe methods need the session's CSRF token (header ``X-CSRF-Token`` or form field
    ``csrf_token``)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    sid = request.session.get("sid")
    if request.url.path.startswith("/api") and not sid:
        raise NotAuthenticated()
    token = request.headers.get("x-csrf-token")
    if token is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token")
        token = value if isinstance(value, str) else None
    expected = csrf_for(request.app.state.settings.secret_key, str(sid)) if sid else None
    if not same_token(token, expected):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token")
