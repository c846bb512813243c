"""The admin dashboard at ``/admin``: server-rendered pages over the Management API's services.

Admins sign in through the universal login (``/u/login?next=/admin``); a user without the dashboard
role (``User.is_admin``) gets 403. Every form posts a per-session CSRF token and every change is one
transaction in the same service the Management API uses, so there is no second code path.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from consentry.admin.pages import install_handlers


def routers() -> tuple[APIRouter, ...]:
    """The dashboard's routers, imported on first use (``app.py`` mounts them on the first ``/admin`` request).

    Most workers never serve a dashboard page; its modules are ~1.6 MB per worker (performance.md, memory).
    """
    from consentry.admin import apis, applications, client_grants, overview, tenant, users, webhooks

    # client_grants before applications: its /applications/{id}/grants/… routes are more specific.
    return (
        overview.router,
        client_grants.router,
        applications.router,
        apis.router,
        users.router,
        tenant.router,
        webhooks.router,
    )


def install(app: FastAPI) -> None:
    """The handlers that turn "sign in" / "not allowed" into pages (the routers come with ``routers()``)."""
    install_handlers(app)
