"""``/api/v2/resource-servers``: APIs, their scopes and access policies (SPEC T7).

``{id}`` is the API's ``id`` or its URL-encoded ``identifier`` (Auth0 accepts both), hence the ``path``
converter: the server decodes ``%2F`` before routing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from consentry.commands.resource_servers import ResourceServerCreate, ResourceServerUpdate
from consentry.management.auth import Principal, require
from consentry.management.pagination import paged
from consentry.management.routers.common import PagingQuery, actor, runtime
from consentry.services import resource_servers as service
from consentry.web import json_response

router = APIRouter(prefix="/api/v2/resource-servers", tags=["Resource Servers"])
Read = Annotated[Principal, Depends(require("read:resource_servers"))]
Create = Annotated[Principal, Depends(require("create:resource_servers"))]
Update = Annotated[Principal, Depends(require("update:resource_servers"))]
Delete = Annotated[Principal, Depends(require("delete:resource_servers"))]


@router.get("", summary="Get resource servers", operation_id="get_resource_servers")
async def get_resource_servers(
    request: Request,
    p: PagingQuery,
    _: Read,
    identifiers: Annotated[list[str] | None, Query(max_length=100)] = None,
    bracketed: Annotated[list[str] | None, Query(alias="identifiers[]", max_length=100)] = None,
    include_fields: str | None = None,
) -> Response:
    rt = runtime(request)
    wanted = [*(identifiers or []), *(bracketed or [])] or None  # ``identifiers=a&identifiers=b`` or ``identifiers[]=``
    async with rt.db.read() as s:
        rows, total = await service.list_resource_servers(s, offset=p.offset, limit=p.per_page, identifiers=wanted)
    items = [service.resource_server_json(r) for r in rows]
    return json_response(paged("resource_servers", items, total, p, with_length=False))


@router.post("", summary="Create a resource server", operation_id="post_resource_servers", status_code=201)
async def create_resource_server(request: Request, body: ResourceServerCreate, claims: Create) -> Response:
    rt = runtime(request)
    async with rt.db.transaction() as s:
        row = await service.create_resource_server(rt, s, body, actor=actor(claims))
    return json_response(service.resource_server_json(row), 201)


@router.get("/{rs_id:path}", summary="Get a resource server", operation_id="get_resource_servers_by_id")
async def get_resource_server(request: Request, rs_id: str, _: Read, include_fields: str | None = None) -> Response:
    rt = runtime(request)
    async with rt.db.read() as s:
        row = await service.get_resource_server(s, rs_id)
    return json_response(service.resource_server_json(row))


@router.patch("/{rs_id:path}", summary="Update a resource server", operation_id="patch_resource_servers_by_id")
async def update_resource_server(request: Request, rs_id: str, body: ResourceServerUpdate, claims: Update) -> Response:
    rt = runtime(request)
    async with rt.db.transaction() as s:
        row = await service.update_resource_server(rt, s, rs_id, body, actor=actor(claims))
    return json_response(service.resource_server_json(row))


@router.delete(
    "/{rs_id:path}", summary="Delete a resource server", operation_id="delete_resource_servers_by_id", status_code=204
)
async def delete_resource_server(request: Request, rs_id: str, claims: Delete) -> Response:
    rt = runtime(request)
    async with rt.db.transaction() as s:
        await service.delete_resource_server(rt, s, rs_id, actor=actor(claims))
    return Response(status_code=204)
