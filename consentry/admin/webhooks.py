"""Dashboard: webhook subscriptions (create, enable/disable, rotate the secret, delete) and their deliveries.

The same service as ``/api/v2/webhooks`` (``services/webhooks.py``), so the dashboard accepts exactly what the
API accepts. The signing secret is shown once, right after it is made.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from consentry.admin import guard
from consentry.admin.forms import Errors, Submitted, service_errors
from consentry.admin.pages import INVALID, found, page, redirect
from consentry.services import webhook_rules
from consentry.services import webhooks as service
from consentry.services.errors import ServiceError

router = APIRouter(prefix="/admin/webhooks", include_in_schema=False)
Admin = Annotated[guard.Viewer, Depends(guard.admin)]
SECTION = "admin/webhooks"
FIELDS = ("url", "description", "event_types")
HISTORY = 50
EVENT_LABELS = {
    webhook_rules.GRANT_CREATED: "A user grants an application access",
    webhook_rules.GRANT_EXTENDED: "A grant gains scopes or time",
    webhook_rules.GRANT_NARROWED: "A grant loses scopes or time",
    webhook_rules.GRANT_REVOKED: "A grant is revoked",
    webhook_rules.GRANT_EXPIRED: "A grant's chosen duration runs out",
    webhook_rules.CLIENT_CREATED: "An application is created or registered",
    webhook_rules.CLIENT_DELETED: "An application is deleted or pruned",
    webhook_rules.REFRESH_FAMILY_REVOKED: "A refresh token is reused (its family revoked)",
}


def _options() -> list[tuple[str, str]]:
    return [(t, f"{t} — {EVENT_LABELS[t]}") for t in webhook_rules.EVENT_TYPES]


@router.get("")
async def list_webhooks(request: Request, who: Admin) -> Response:
    rows, total = await service.list_subscriptions(who.rt, offset=0, limit=100)
    return page(
        request,
        who,
        "admin/webhooks_list.html",
        section=SECTION,
        title="Webhooks",
        hooks=[service.subscription_json(r) for r in rows],
        total=total,
    )


def _new_form(
    request: Request, who: guard.Viewer, values: dict[str, Any], errors: Errors | None = None, status: int = 200
) -> Response:
    return page(
        request,
        who,
        "admin/webhook_new.html",
        section=SECTION,
        title="Create webhook",
        status=status,
        errors=errors,
        v=values,
        options=_options(),
    )


@router.get("/new")
async def new_webhook(request: Request, who: Admin) -> Response:
    return _new_form(request, who, {"url": "", "description": "", "event_types": list(webhook_rules.EVENT_TYPES)})


@router.post("/new")
async def create_webhook(request: Request, who: Admin) -> Response:
    form = Submitted(await guard.check_csrf(request, who))
    rt = who.rt
    url, description, event_types = form.text("url"), form.text("description"), form.many("event_types")
    try:
        async with rt.db.write() as conn:
            created, _secret = await service.create_subscription(
                rt, conn, url=url, event_types=event_types, description=description or None
            )
    except ServiceError as err:
        values = {"url": url, "description": description, "event_types": event_types}
        return _new_form(request, who, values, _field_errors(err), INVALID)
    return page(request, who, "admin/webhook_secret.html", section=SECTION, title="Webhook created", hook=created)


def _field_errors(err: ServiceError) -> Errors:
    text = err.message.lower()
    for name in FIELDS:
        if f"{name} " in text:
            return {name: err.message.removeprefix("Payload validation error: ")}
    return service_errors(err, FIELDS)


@router.get("/{webhook_id}")
async def show_webhook(request: Request, who: Admin, webhook_id: str) -> Response:
    with found():
        row = await service.get_subscription(who.rt, webhook_id)
        deliveries, total = await service.list_deliveries(who.rt, webhook_id, offset=0, limit=HISTORY)
    return page(
        request,
        who,
        "admin/webhook_detail.html",
        section=SECTION,
        title=f"Webhook {row.url}",
        hook=service.subscription_json(row),
        deliveries=[service.delivery_json(d) for d in deliveries],
        total=total,
    )


@router.post("/{webhook_id}/toggle")
async def toggle_webhook(request: Request, who: Admin, webhook_id: str) -> Response:
    await guard.check_csrf(request, who)
    rt = who.rt
    with found():
        row = await service.get_subscription(rt, webhook_id)
        async with rt.db.write() as conn:
            await service.update_subscription(rt, conn, webhook_id, {"enabled": not row.enabled})
    return redirect(rt, f"admin/webhooks/{webhook_id}", "webhook-saved")


@router.post("/{webhook_id}/rotate-secret")
async def rotate_secret(request: Request, who: Admin, webhook_id: str) -> Response:
    await guard.check_csrf(request, who)
    rt = who.rt
    with found():
        async with rt.db.write() as conn:
            updated, _secret = await service.rotate_secret(rt, conn, webhook_id)
    return page(request, who, "admin/webhook_secret.html", section=SECTION, title="New signing secret", hook=updated)


@router.post("/{webhook_id}/delete")
async def delete_webhook(request: Request, who: Admin, webhook_id: str) -> Response:
    await guard.check_csrf(request, who)
    rt = who.rt
    with found():
        async with rt.db.write() as conn:
            await service.delete_subscription(conn, webhook_id)
    return redirect(rt, "admin/webhooks", "webhook-deleted")
