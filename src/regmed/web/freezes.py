"""The data manager's freeze of a site's or the whole study's data: API and page.

``GET /api/freezes`` lists the freezes in force; ``POST /api/freezes`` freezes
(``{"site_code": "S01", "reason": ...}`` or ``{"study": true, "reason": ...}``) and
``POST /api/freezes/unfreeze`` ends one; both audited with their reason
(:mod:`regmed.registry.freeze`). The page ``/freezes`` shows the same with a form. The
administrator acts as data manager.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from regmed.errors import DataError, Problem
from regmed.registry import Site, User
from regmed.registry.freeze import active_freezes, freeze_data, unfreeze_data
from regmed.web.deps import SessionDep, check_csrf, require
from regmed.web.pages import error_list, form_data, render
from regmed.web.schemas import _In

__all__ = ["router", "pages", "FreezeIn"]

router = APIRouter(prefix="/api", tags=["api"])
pages = APIRouter(include_in_schema=False)
DataManager = Annotated[User, Depends(require("admin"))]
Csrf = Depends(check_csrf)


class FreezeIn(_In):
    site_code: str | None = Field(default=None, min_length=1, max_length=64)
    study: bool = False
    reason: str = Field(min_length=1, max_length=2000)


@router.get("/freezes")
def freezes(user: DataManager, session: SessionDep) -> list[dict[str, Any]]:
    """The freezes in force."""
    return active_freezes(session)


@router.post("/freezes", status_code=201, dependencies=[Csrf])
def freeze(body: FreezeIn, user: DataManager, session: SessionDep) -> list[dict[str, Any]]:
    """Freeze a site's or the study's data (audited); returns the freezes in force."""
    freeze_data(session, actor=user.username, reason=body.reason, site_code=body.site_code,
                study=body.study)
    return active_freezes(session)


@router.post("/freezes/unfreeze", dependencies=[Csrf])
def unfreeze(body: FreezeIn, user: DataManager, session: SessionDep) -> list[dict[str, Any]]:
    """End the freeze of a site's or the study's data (audited); the freezes in force."""
    unfreeze_data(session, actor=user.username, reason=body.reason, site_code=body.site_code,
                  study=body.study)
    return active_freezes(session)


def _page(request: Request, user: User, session: Session, status: int = 200,
          errors: list[Problem] | None = None) -> Response:
    sites = list(session.execute(select(Site.site_code).order_by(Site.site_code)).scalars())
    return render(request, "freezes.html", status=status, user=user, sites=sites,
                  freezes=active_freezes(session), errors=errors or [])


@pages.get("/freezes", response_class=HTMLResponse)
def freezes_page(request: Request, user: DataManager, session: SessionDep) -> Response:
    return _page(request, user, session)


@pages.post("/freezes", dependencies=[Csrf])
async def freeze_form(request: Request, user: DataManager, session: SessionDep) -> Response:
    data = await form_data(request)
    scope = str(data.get("scope") or "")
    act = unfreeze_data if data.get("action") == "unfreeze" else freeze_data
    try:
        act(session, actor=user.username, reason=str(data.get("reason") or "")[:2000],
            site_code=None if scope == "study" else scope[:64] or None, study=scope == "study")
    except DataError as exc:
        session.rollback()
        return _page(request, user, session, 422, error_list(exc))
    return RedirectResponse("/freezes", status_code=303)
