"""``/api/v2/clients``: Auth0's applications resource."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from consentry.commands.clients import ClientCreate, ClientUpdate
from consentry.management.auth import Principal, require
from consentry.management.pagination import Paging, paged, paging, parse_bool, select_fields
from consentry.management.routers.common import actor
from consentry.runtime import Runtime
from consentry.services import audit, client_connections
from consentry.services import clients as service
from consentry.web import client_ip, json_response

router = APIRouter(prefix="/api/v2/clients", tags=["Clients"])


def _rt(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


@router.get("", summary="Get clients", operation_id="get_clients")
async def get_clients(
    request: Request,
    p: Paging = Depends(paging),
    fields: str | None = Query(None, max_length=2000),
    include_fields: str | None = None,
    is_first_party: str | None = None,
    app_type: str | None = Query(None, max_length=200),
    external_client_id: str | None = Query(None, min_length=1, max_length=120),
    q: str | None = Query(None, max_length=1000),
    _: Principal = Depends(require("read:clients")),
) -> Any:
    rt = _rt(request)
    first = parse_bool(is_first_party, "is_first_party") if is_first_party is not None else None
    types = [t.strip() for t in app_type.split(",")] if app_type else None
    async with rt.db.read() as s:
        rows, total = await service.list_clients(
            s,
            offset=p.offset,
            limit=p.per_page,
            is_first_party=first,
            app_types=types,
            external_client_id=external_client_id,
            q=q,
        )
    items = [select_fields(service.client_json(rt, r), fields, include_fields) for r in rows]
    return json_response(paged("clients", items, total, p, with_length=False))


@router.post("", summary="Create a client", operation_id="post_clients", status_code=201)
async def create_client(
    request: Request, body: ClientCreate, claims: Principal = Depends(require("create:clients"))
) -> Response:
    rt = _rt(request)
    async with rt.db.transaction() as s:
        row, secret = await service.create_client(rt, s, body, actor=claims.get("sub"))
    return json_response(service.client_json(rt, row, secret), 201)


@router.get("/{client_id}", summary="Get a client", operation_id="get_clients_by_id")
async def get_client(
    request: Request,
    client_id: str,
    fields: str | None = Query(None, max_length=2000),
    include_fields: str | None = None,
    _: Principal = Depends(require("read:clients")),
) -> Response:
    rt = _rt(request)
    async with rt.db.read() as s:
        row = await service.get_client(s, client_id)
    return json_response(select_fields(service.client_json(rt, row), fields, include_fields))


@router.patch("/{client_id}", summary="Update a client", operation_id="patch_clients_by_id")
async def update_client(
    request: Request, client_id: str, body: ClientUpdate, _: Principal = Depends(require("update:clients"))
) -> Response:
    rt = _rt(request)
    async with rt.db.transaction() as s:
        row, secret = await service.update_client(rt, s, client_id, body)
    return json_response(service.client_json(rt, row, secret))


@router.delete("/{client_id}", summary="Delete a client", operation_id="delete_clients_by_id", status_code=204)
async def delete_client(
    request: Request, client_id: str, _: Principal = Depends(require("delete:clients"))
) -> Response:
    rt = _rt(request)
    async with rt.db.transaction() as s:
        await service.delete_client(rt, s, client_id)
    return Response(status_code=204)


@router.post("/{client_id}/rotate-secret", summary="Rotate a client secret", operation_id="post_rotate_secret")
async def rotate_secret(
    request: Request, client_id: str, who: Principal = Depends(require("update:client_keys", "update:clients"))
) -> Response:
    rt = _rt(request)
    async with rt.db.transaction() as s:
        row, secret = await service.rotate_secret(rt, s, client_id)
        audit.record(
            s,
            rt.clock.now(),
            audit.CLIENT_SECRET_ROTATED,
            f"Client '{row.name}' secret rotated",
            client_id=client_id,
            ip=client_ip(request),
            details={"actor": actor(who)},
        )
    return json_response(service.client_json(rt, row, secret))


@router.get(
    "/{client_id}/connections",
    summary="Get the connections a client signs users in through",
    operation_id="get_client_connections",
)
async def get_client_connections(
    request: Request,
    client_id: str,
    strategy: Annotated[list[str] | None, Query(max_length=20)] = None,
    from_: str | None = Query(None, alias="from", max_length=64),
    take: int = Query(50, ge=1, le=100),
    fields: str | None = Query(None, max_length=2000),
    include_fields: str | None = None,
    _: Principal = Depends(require("read:connections")),
    __: Principal = Depends(require("read:clients", "read:client_summary")),
) -> Response:
    items, next_from = await client_connections.page(
        _rt(request), client_id, strategies=strategy, after=from_, limit=take
    )
    body: dict[str, Any] = {"connections": [select_fields(i, fields, include_fields) for i in items]}
    if next_from:
        body["next"] = next_from
    return json_response(body)
