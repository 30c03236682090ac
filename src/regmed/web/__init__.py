"""regmed.web — the web application: multi-site data capture, blinded central adjudication,
dashboards, with access rules enforced in the services.

Examples
--------
>>> from regmed.web import WebSettings, create_app
>>> app = create_app(WebSettings(secret_key="change-me-0123456789", database_url="sqlite://"))
>>> "/api/patients" in {r.path for r in app.routes}
True
"""

from __future__ import annotations

from regmed.web.agreement import cohen_kappa, fleiss_kappa
from regmed.web.app import create_app
from regmed.web.settings import VisitWindow, WebSettings

__all__ = ["create_app", "WebSettings", "VisitWindow", "cohen_kappa", "fleiss_kappa"]
