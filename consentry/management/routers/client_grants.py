"""``/api/v2/client-grants``: which application may call which API, and with which scopes (SPEC T7, T8).

Lists page both ways: ``from``/``take`` (auth0-python 5+) gives ``{"client_grants": [...], "next": "..."}``,
``page``/``per_page``/``include_totals`` (older SDKs) the offset shapes.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from consentry.commands.client_grants import ClientGrantCreate, ClientGrantUpdate
from consentry.management.auth import Principal, require
from consentry.management.pagination import checkpoint_page, paged
from consentry.management.routers.common import PagingQuery, runtime
from consentry.services import client_grants as service
from consentry.web import json_response

router = APIRouter(prefix="/api/v2/client-grants", tags=["Client Grants"])
Read = Annotated[Principal, Depends(require("read:client_grants"))]
Create = Annotated[Principal, Depends(require("create:client_grants"))]
Update = Annotated[Principal, Depends(require("update:client_grants"))]
Delete = Annotated[Principal, Depends(require("delete:client_grants"))]


@router.get("", summary="Get client grants", operation_id="get_client_grants")
async def get_client_grants(
    request: Request,
    p: PagingQuery,
    _: Read,
    audience: str | None = Query(None, max_length=600),
    client_id: str | None = Query(None, max_length=255),
    subject_type: Literal["client", "user"] | None = None,
    default_for: Literal["third_party_clients"] | None = None,
    allow_any_organization: str | None = Query(None, max_length=10),
) -> Response:
    rt = runtime(request)
    async with rt.db.read() as s:
        rows, total, next_from = await service.list_client_grants(
            s, p, audience=audience, client_id=client_id, subject_type=subject_type, default_for=default_for
        )
    items = [service.client_grant_json(r) for r in rows]
    if p.checkpoint:
        return json_response(checkpoint_page("client_grants", items, next_from))
    return json_response(paged("client_grants", items, total or 0, p, with_length=False))


@router.post("", summary="Create client grant", operation_id="post_client_grants", status_code=201)
async def create_client_grant(request: Request, body: ClientGrantCreate, _: Create) -> Response:
    rt = runtime(request)
    async with rt.db.transaction() as s:
        row = await service.create_client_grant(rt, s, body)
    return json_response(service.client_grant_json(row), 201)


@router.get("/{grant_id}", summary="Get client grant", operation_id="get_client_grants_by_id")
async def get_client_grant(request: Request, grant_id: str, _: Read) -> Response:
    rt = runtime(request)
    async with rt.db.read() as s:
        row = await service.get_client_grant(s, grant_id)
    return json_response(service.client_grant_json(row))


@router.patch("/{grant_id}", summary="Update client grant", operation_id="patch_client_grants_by_id")
async def update_client_grant(request: Request, grant_id: str, body: ClientGrantUpdate, _: Update) -> Response:
    rt = runtime(request)
    async with rt.db.transaction() as s:
        row = await service.update_client_grant(rt, s, grant_id, body)
    return json_response(service.client_grant_json(row))


@router.delete("/{grant_id}", summary="Delete client grant", operation_id="delete_client_grants_by_id", status_code=204)
async def delete_client_grant(request: Request, grant_id: str, _: Delete) -> Response:
    rt = runtime(request)
    async with rt.db.transaction() as s:
        await service.delete_client_grant(rt, s, grant_id)
    return Response(status_code=204)
