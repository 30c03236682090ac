"""The data manager's freeze of a site's or the whole study's data, over the API.

``GET /api/freezes`` lists the freezes in force; ``POST /api/freezes`` freezes
(``{"site_code": "S01", "reason": ...}`` or ``{"study": true, "reason": ...}``) and
``POST /api/freezes/unfreeze`` ends one; both audited with their reason
(:mod:`regmed.registry.freeze`). The administrator acts as data manager.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field

from regmed.registry import User
from regmed.registry.freeze import active_freezes, freeze_data, unfreeze_data
from regmed.web.deps import SessionDep, check_csrf, require
from regmed.web.schemas import _In

__all__ = ["router", "FreezeIn"]

router = APIRouter(prefix="/api", tags=["api"])
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
