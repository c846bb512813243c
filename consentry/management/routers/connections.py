"""``/api/v2/connections``: user directories (database strategy ``auth0``) and their enabled clients (SPEC T6)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Request
from starlette.responses import Response

from consentry.commands.connections import ConnectionCreate, ConnectionUpdate, EnabledClientUpdate
from consentry.management.auth import Principal, require
from consentry.management.pagination import checkpoint_page, paged, select_fields
from consentry.management.routers.common import PagingQuery, actor, runtime
from consentry.services import connections as service
from consentry.web import json_response

router = APIRouter(prefix="/api/v2/connections", tags=["Connections"])
Read = Annotated[Principal, Depends(require("read:connections"))]
Create = Annotated[Principal, Depends(require("create:connections"))]
Update = Annotated[Principal, Depends(require("update:connections"))]
Delete = Annotated[Principal, Depends(require("delete:connections"))]
Fields = Annotated[str | None, Query(max_length=2000)]


@router.get("", summary="Get all connections", operation_id="get_connections")
async def get_connections(
    request: Request,
    p: PagingQuery,
    _: Read,
    strategy: Annotated[list[str] | None, Query(max_length=20)] = None,
    name: str | None = Query(None, max_length=128),
    fields: Fields = None,
    include_fields: str | None = None,
) -> Response:
    rt = runtime(request)
    async with rt.db.read() as s:
        rows, total, next_from = await service.list_connections(s, p, strategies=strategy, name=name)
        enabled = await service.enabled_clients(s, [r.id for r in rows])
    items = [select_fields(service.connection_json(r, enabled[r.id]), fields, include_fields) for r in rows]
    if p.checkpoint:
        return json_response(checkpoint_page("connections", items, next_from))
    return json_response(paged("connections", items, total or 0, p, with_length=False))


@router.post("", summary="Create a connection", operation_id="post_connections", status_code=201)
async def create_connection(request: Request, body: ConnectionCreate, claims: Create) -> Response:
    rt = runtime(request)
    async with rt.db.transaction() as s:
        row = await service.create_connection(rt, s, body, actor=actor(claims))
        enabled = await service.enabled_clients(s, [row.id])
    return json_response(service.connection_json(row, enabled[row.id]), 201)


@router.get("/{connection_id}", summary="Get a connection", operation_id="get_connections_by_id")
async def get_connection(
    request: Request, connection_id: str, _: Read, fields: Fields = None, include_fields: str | None = None
) -> Response:
    rt = runtime(request)
    async with rt.db.read() as s:
        row = await service.get_connection(s, connection_id)
        enabled = await service.enabled_clients(s, [row.id])
    return json_response(select_fields(service.connection_json(row, enabled[row.id]), fields, include_fields))


@router.patch("/{connection_id}", summary="Update a connection", operation_id="patch_connections_by_id")
async def update_connection(request: Request, connection_id: str, body: ConnectionUpdate, claims: Update) -> Response:
    rt = runtime(request)
    async with rt.db.transaction() as s:
        row = await service.update_connection(rt, s, connection_id, body, actor=actor(claims))
        enabled = await service.enabled_clients(s, [row.id])
    return json_response(service.connection_json(row, enabled[row.id]))


@router.delete(
    "/{connection_id}", summary="Delete a connection", operation_id="delete_connections_by_id", status_code=204
)
async def delete_connection(request: Request, connection_id: str, claims: Delete) -> Response:
    rt = runtime(request)
    async with rt.db.transaction() as s:
        await service.delete_connection(rt, s, connection_id, actor=actor(claims))
    return Response(status_code=204)


@router.get(
    "/{connection_id}/clients", summary="Get enabled clients for a connection", operation_id="get_connection_clients"
)
async def get_connection_clients(request: Request, connection_id: str, p: PagingQuery, _: Read) -> Response:
    rt = runtime(request)
    async with rt.db.read() as s:
        client_ids, next_from = await service.list_enabled_clients(s, connection_id, p)
    return json_response(checkpoint_page("clients", [{"client_id": c} for c in client_ids], next_from))


@router.patch(
    "/{connection_id}/clients",
    summary="Update enabled clients for a connection",
    operation_id="patch_connection_clients",
    status_code=204,
)
async def update_connection_clients(
    request: Request,
    connection_id: str,
    body: Annotated[list[EnabledClientUpdate], Body(max_length=50)],
    claims: Update,
) -> Response:
    rt = runtime(request)
    async with rt.db.transaction() as s:
        await service.update_enabled_clients(rt, s, connection_id, body, actor=actor(claims))
    return Response(status_code=204)
