"""``/api/v2/webhooks``: subscriptions to grant and security events, and their delivery history.

Auth0 has no such resource (its log streams are the nearest); the naming follows the Management API's
conventions: plural resource, ``read:``/``create:``/``update:``/``delete:webhooks`` scopes, Auth0's error body and
paging. The signing secret is answered only by create and ``rotate-secret``. See docs/webhooks.md.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from consentry.commands.webhooks import WebhookCreate, WebhookUpdate
from consentry.management.auth import Principal, require
from consentry.management.errors import bad_request
from consentry.management.pagination import paged
from consentry.management.routers.common import PagingQuery, runtime
from consentry.services import webhooks as service
from consentry.web import json_response

router = APIRouter(prefix="/api/v2/webhooks", tags=["Webhooks"])
Read = Annotated[Principal, Depends(require("read:webhooks"))]
Create = Annotated[Principal, Depends(require("create:webhooks"))]
Update = Annotated[Principal, Depends(require("update:webhooks"))]
Delete = Annotated[Principal, Depends(require("delete:webhooks"))]


@router.get("", summary="Get webhook subscriptions", operation_id="get_webhooks")
async def get_webhooks(request: Request, p: PagingQuery, _: Read) -> Response:
    rt = runtime(request)
    rows, total = await service.list_subscriptions(rt, offset=p.offset, limit=p.per_page)
    return json_response(paged("webhooks", [service.subscription_json(r) for r in rows], total, p))


@router.post("", summary="Create a webhook subscription", operation_id="post_webhooks", status_code=201)
async def create_webhook(request: Request, body: WebhookCreate, _: Create) -> Response:
    rt = runtime(request)
    async with rt.db.write() as conn:
        created, _secret = await service.create_subscription(
            rt, conn, url=body.url, event_types=body.event_types, description=body.description, enabled=body.enabled
        )
    return json_response(created, 201)


@router.get("/{webhook_id}", summary="Get a webhook subscription", operation_id="get_webhooks_by_id")
async def get_webhook(request: Request, webhook_id: str, _: Read) -> Response:
    return json_response(service.subscription_json(await service.get_subscription(runtime(request), webhook_id)))


@router.patch("/{webhook_id}", summary="Update a webhook subscription", operation_id="patch_webhooks_by_id")
async def update_webhook(request: Request, webhook_id: str, body: WebhookUpdate, _: Update) -> Response:
    changes = body.model_dump(exclude_unset=True)
    for name in ("url", "event_types", "enabled"):
        if name in changes and changes[name] is None:
            raise bad_request(f"Payload validation error: {name} cannot be null.")
    rt = runtime(request)
    async with rt.db.write() as conn:
        updated = await service.update_subscription(rt, conn, webhook_id, changes)
    return json_response(updated)


@router.post(
    "/{webhook_id}/rotate-secret", summary="Rotate a webhook's signing secret", operation_id="post_webhook_secret"
)
async def rotate_secret(request: Request, webhook_id: str, _: Update) -> Response:
    rt = runtime(request)
    async with rt.db.write() as conn:
        updated, _secret = await service.rotate_secret(rt, conn, webhook_id)
    return json_response(updated)


@router.delete(
    "/{webhook_id}", summary="Delete a webhook subscription", operation_id="delete_webhooks_by_id", status_code=204
)
async def delete_webhook(request: Request, webhook_id: str, _: Delete) -> Response:
    rt = runtime(request)
    async with rt.db.write() as conn:
        await service.delete_subscription(conn, webhook_id)
    return Response(status_code=204)


@router.get(
    "/{webhook_id}/deliveries", summary="Get a webhook's delivery history", operation_id="get_webhook_deliveries"
)
async def get_deliveries(request: Request, webhook_id: str, p: PagingQuery, _: Read) -> Response:
    """Newest first: status (pending, delivered, failed), attempts, last HTTP status or error, and the payload."""
    rt = runtime(request)
    rows, total = await service.list_deliveries(rt, webhook_id, offset=p.offset, limit=p.per_page)
    return json_response(paged("deliveries", [service.delivery_json(r) for r in rows], total, p))
