"""Pages of a coordinator's day and of the administrators: due and overdue visits, the audit
trail and the users, as HTML (the API keeps its JSON)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from regmed.registry import User, list_users
from regmed.web import services as svc
from regmed.web.api import audit_events
from regmed.web.crc import DUE_AHEAD_DAYS, due_visits
from regmed.web.deps import SessionDep, SettingsDep, require
from regmed.web.pages import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Reader = Annotated[User, Depends(require(*svc.READ_ROLES))]
Auditor = Annotated[User, Depends(require("admin", "regulator"))]
Admin = Annotated[User, Depends(require("admin"))]


@router.get("/visits/due", response_class=HTMLResponse)
def due(request: Request, user: Reader, session: SessionDep, settings: SettingsDep) -> Response:
    """The visits due, overdue or coming up (an investigator: their site's patients)."""
    return render(request, "due.html", user=user, rows=due_visits(session, user, settings),
                  ahead=DUE_AHEAD_DAYS, site=svc.user_site_code(session, user))


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, user: Auditor, session: SessionDep, settings: SettingsDep,
               table: Annotated[str | None, Query(max_length=64)] = None,
               after: Annotated[int, Query(ge=0, le=2_147_483_647)] = 0) -> Response:
    """The audit trail, 100 events a page (names pseudonymized for regulators)."""
    events = audit_events(session, user, settings, table=table or None, after=after, limit=100)
    return render(request, "audit.html", user=user, events=events, table=table or "",
                  next_after=events[-1]["seq"] if len(events) == 100 else None)


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, user: Admin, session: SessionDep) -> Response:
    """The users, their roles, sites and whether they have a password."""
    return render(request, "users.html", user=user, users=list_users(session=session))
