"""``/api/v2/clients/cimd/preview`` and ``/register``: a client from its Client ID Metadata Document URL."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from consentry.management.auth import Principal, admit, require
from consentry.management.routers.common import actor, runtime
from consentry.management.schemas.cimd import CimdRequest
from consentry.services import cimd_registration as service
from consentry.web import json_response

router = APIRouter(prefix="/api/v2/clients/cimd", tags=["Clients"])
# Auth0 documents both read:clients and create:clients / update:clients for the preview: any of them reads.
Reader = Annotated[Principal, Depends(require("read:clients", "create:clients", "update:clients"))]
Writer = Annotated[Principal, Depends(require("create:clients", "update:clients"))]


@router.post(
    "/preview", summary="Preview and validate a Client ID Metadata Document", operation_id="post_clients_cimd_preview"
)
async def preview(request: Request, body: CimdRequest, _: Reader) -> Response:
    """Fetch and read the document without creating anything; retrieval failures come back in ``errors``."""
    rt = runtime(request)
    url = body.external_client_id
    host = await service.check_url(rt, url)
    existing = await service.registered(rt, url)
    inspection = await service.inspect(rt, url, host)
    return json_response(service.preview_body(existing, inspection))


@router.post(
    "/register",
    summary="Register or refresh a client from its metadata document URL",
    operation_id="post_clients_cimd_register",
    responses={
        201: {"description": "Client created", "content": {"application/json": {"schema": {}}}},
        200: {"description": "Client refreshed"},
    },
)
async def register(request: Request, body: CimdRequest, who: Writer) -> Response:
    """201 and ``create:clients`` for a new client, 200 and ``update:clients`` when it is refreshed."""
    rt = runtime(request)
    url = body.external_client_id
    host = await service.check_url(rt, url)
    existing = await service.registered(rt, url)
    await admit(request, ("update:clients" if existing else "create:clients",))
    inspection = await service.inspect(rt, url, host)
    service.ensure_applicable(url, inspection)
    created, row = await service.save(rt, url, host, inspection, actor=actor(who))
    return json_response(service.register_body(row, inspection), 201 if created else 200)
