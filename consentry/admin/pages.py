"""Rendering for the dashboard: the shared layout context, notices after a redirect, audit events, errors.

Every successful POST answers ``303`` to a page (post/redirect/get) with a ``notice`` key whose text is
fixed here, so nothing from the query string is echoed. A failed POST re-renders its form with the
submitted values and the errors inline (``INVALID``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from consentry.admin.guard import Forbidden, LoginRequired, PageNotFound, Viewer
from consentry.clock import iso
from consentry.runtime import Runtime
from consentry.services import audit
from consentry.services.errors import Kind, ServiceError
from consentry.storage.db import OrmUnit
from consentry.ui.render import env, render, render_error

# A form re-rendered with its errors answers 200, as Django does: browsers log any 4xx document as a console
# error, and the page itself says what is wrong (role="alert" plus a message at each field).
INVALID = 200


def humantime(ts: float | None) -> str:
    """``2026-11-23 14:05 UTC``: exact, unambiguous and short enough for a table cell."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC") if ts else ""


env.filters.setdefault("humantime", humantime)
env.filters.setdefault("isotime", iso)

SECTIONS: tuple[tuple[str, str], ...] = (
    ("admin", "Overview"),
    ("admin/applications", "Applications"),
    ("admin/apis", "APIs"),
    ("admin/client-grants", "Client grants"),
    ("admin/connections", "Connections"),
    ("admin/users", "Users"),
    ("admin/settings", "Tenant settings"),
    ("admin/registrations", "Registrations"),
    ("admin/webhooks", "Webhooks"),
    ("admin/logs", "Logs"),
)

NOTICES = {
    "app-created": "Application created.",
    "app-saved": "Application saved.",
    "app-deleted": "Application deleted.",
    "api-created": "API created.",
    "api-saved": "API saved.",
    "api-deleted": "API deleted.",
    "grant-created": "API access granted.",
    "grant-saved": "Client grant saved.",
    "grant-deleted": "Client grant deleted.",
    "defaults-saved": "Default permissions for third-party applications saved.",
    "defaults-deleted": "Default permissions for third-party applications removed.",
    "connection-saved": "Connection saved.",
    "user-created": "User created.",
    "revoked": "Authorization revoked. The application's refresh tokens no longer work.",
    "settings-saved": "Tenant settings saved.",
    "approved": "Registration approved.",
    "pruned": "Unused registrations removed.",
    "webhook-saved": "Webhook saved.",
    "webhook-deleted": "Webhook deleted. Its queued deliveries will not be sent.",
    "rejected": "Registration rejected and deleted.",
    "scope-revoked": "Permission taken back. The application's next refresh gets only what is left.",
    "device-revoked": "Device signed out: that refresh-token family no longer works.",
    "not-pending": "Only a registration awaiting approval can be rejected.",
}


def page(
    request: Request,
    who: Viewer,
    template: str,
    *,
    section: str,
    title: str,
    status: int = 200,
    errors: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """A dashboard page with the navigation, the signed-in admin and the CSRF token for its forms."""
    notice = NOTICES.get(request.query_params.get("notice", ""))
    return render(
        request,
        template,
        status=status,
        who=who,
        csrf=who.csrf,
        nav=SECTIONS,
        section=section,
        title=title,
        notice=notice,
        errors=errors or {},
        **context,
    )


def redirect(rt: Runtime, path: str, notice: str | None = None, **query: str) -> RedirectResponse:
    """``303`` to another dashboard page (``path`` without the leading slash)."""
    params = {**query, **({"notice": notice} if notice else {})}
    url = rt.settings.url(path) + ("?" + urlencode(params) if params else "")
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def record(
    s: OrmUnit,
    who: Viewer,
    type_: str,
    description: str,
    *,
    client_id: str | None = None,
    user_id: str | None = None,
    ip: str | None = None,
    **details: Any,
) -> None:
    """An audit event for a dashboard action the service does not log itself, in the same transaction."""
    audit.record(
        s,
        who.rt.clock.now(),
        type_,
        description,
        client_id=client_id,
        user_id=user_id,
        ip=ip,
        details={"actor": who.user_id, "via": "dashboard", **details},
    )


@contextmanager
def found() -> Iterator[None]:
    """Turn a service's 404 into the dashboard's not-found page (the API would answer JSON)."""
    try:
        yield
    except ServiceError as err:
        if err.kind is Kind.NOT_FOUND:
            raise PageNotFound(err.message) from None
        raise


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    rt: Runtime = request.app.state.runtime
    if request.method in ("GET", "HEAD"):
        url = rt.settings.url("u/login") + "?" + urlencode({"next": exc.next_path})
        return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
    return render_error(
        request, "Your session has ended. Sign in again and repeat the change.", status=401, error="login_required"
    )


async def _forbidden(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Forbidden)
    return render(request, "admin/forbidden.html", status=403, message=exc.message, needs_role=exc.needs_role)


async def _not_found(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageNotFound)
    return render_error(request, exc.message, status=404, error="not_found")


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(PageNotFound, _not_found)
