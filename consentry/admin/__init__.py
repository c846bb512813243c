"""The admin dashboard at ``/admin``: server-rendered pages over the Management API's services.

Admins sign in through the universal login (``/u/login?next=/admin``); a user without the dashboard
role (``User.is_admin``) gets 403. Every form posts a per-session CSRF token and every change is one
transaction in the same service the Management API uses, so there is no second code path.
"""

from __future__ import annotations

from fastapi import FastAPI

from consentry.admin import apis, applications, client_grants, overview, tenant, users
from consentry.admin.pages import install_handlers

# client_grants before applications: its /applications/{id}/grants/… routes are more specific.
ROUTERS = (overview.router, client_grants.router, applications.router, apis.router, users.router, tenant.router)


def mount(app: FastAPI) -> None:
    """Mount the dashboard's routers and the handlers that turn "sign in" / "not allowed" into pages."""
    install_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
