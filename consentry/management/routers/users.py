"""``/api/v2/users`` and ``/api/v2/users-by-email``: database-connection users, with a safe subset of ``q`` search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from consentry.commands.users import UserCreate, UserUpdate
from consentry.management.auth import Principal, require
from consentry.management.pagination import paged, select_fields
from consentry.management.routers.common import PagingQuery, actor, runtime
from consentry.services import signup, tickets
from consentry.services import users as service
from consentry.web import json_response

router = APIRouter(prefix="/api/v2", tags=["Users"])
Read = Annotated[Principal, Depends(require("read:users"))]
Create = Annotated[Principal, Depends(require("create:users"))]
Update = Annotated[Principal, Depends(require("update:users"))]
Delete = Annotated[Principal, Depends(require("delete:users"))]
Fields = Annotated[str | None, Query(max_length=2000)]


@router.get("/users", summary="List or search users", operation_id="get_users")
async def get_users(
    request: Request,
    p: PagingQuery,
    _: Read,
    fields: Fields = None,
    include_fields: str | None = None,
    q: str | None = Query(None, max_length=1000),
    connection: str | None = Query(None, max_length=128),
    sort: str | None = Query(None, max_length=64),
    search_engine: str | None = Query(None, max_length=8),
    primary_order: str | None = Query(None, max_length=8),
) -> Response:
    rt = runtime(request)
    async with rt.db.read() as s:
        rows, total = await service.list_users(
            s, offset=p.offset, limit=p.per_page, q=q, connection=connection, sort=sort
        )
        names = await service.connection_names(s)
    items = [select_fields(service.user_json(r, names.get(r.connection_id, "")), fields, include_fields) for r in rows]
    return json_response(paged("users", items, total, p))


@router.post("/users", summary="Create a user", operation_id="post_users", status_code=201)
async def create_user(request: Request, body: UserCreate, claims: Create) -> Response:
    rt = runtime(request)
    async with rt.db.transaction() as s:
        row, conn = await service.create_user_from_body(rt, s, body, actor=actor(claims))
        verify = bool(body.verify_email and row.email and not row.email_verified)
        url = await tickets.create_in(rt, s, _verification(row.user_id)) if verify else None
    if url is not None and row.email:  # Auth0's verify_email: the verification email, after the commit
        await signup.send_verification(rt, row.email, url)
    return json_response(service.user_json(row, conn.name), 201)


def _verification(user_id: str) -> tickets.TicketRequest:
    return tickets.TicketRequest(kind=tickets.EMAIL_VERIFICATION, user_id=user_id)


@router.get("/users-by-email", summary="Search users by email", operation_id="get_users_by_email")
async def get_users_by_email(
    request: Request,
    _: Read,
    email: str = Query(..., min_length=1, max_length=320),
    fields: Fields = None,
    include_fields: str | None = None,
) -> Response:
    rt = runtime(request)
    async with rt.db.read() as s:
        rows = await service.users_by_email(s, email)
        names = await service.connection_names(s)
    items = [select_fields(service.user_json(r, names.get(r.connection_id, "")), fields, include_fields) for r in rows]
    return json_response(items)


@router.get("/users/{user_id}", summary="Get a user", operation_id="get_users_by_id")
async def get_user(
    request: Request, user_id: str, _: Read, fields: Fields = None, include_fields: str | None = None
) -> Response:
    rt = runtime(request)
    async with rt.db.read() as s:
        row = await service.get_user(s, user_id)
        name = await service.connection_name(s, row.connection_id)
    return json_response(select_fields(service.user_json(row, name), fields, include_fields))


@router.patch("/users/{user_id}", summary="Update a user", operation_id="patch_users_by_id")
async def update_user(request: Request, user_id: str, body: UserUpdate, claims: Update) -> Response:
    rt = runtime(request)
    async with rt.db.transaction() as s:
        row, name = await service.update_user(rt, s, user_id, body, actor=actor(claims))
    return json_response(service.user_json(row, name))


@router.delete("/users/{user_id}", summary="Delete a user", operation_id="delete_users_by_id", status_code=204)
async def delete_user(request: Request, user_id: str, claims: Delete) -> Response:
    rt = runtime(request)
    async with rt.db.transaction() as s:
        await service.delete_user(rt, s, user_id, actor=actor(claims))
    return Response(status_code=204)
