"""``/api/v2/roles``: roles, the permissions each carries and the users who hold it (Auth0 RBAC).

What a role gives limits tokens only for APIs that enforce RBAC (``enforce_policies``); see docs/api.md (Roles and
permissions).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from consentry.commands.roles import PermissionsBody, RoleCreate, RoleUpdate, UsersBody
from consentry.management.auth import Principal, require
from consentry.management.pagination import checkpoint_page, paged
from consentry.management.routers.common import PagingQuery, actor, runtime
from consentry.services import roles as service
from consentry.services.permissions import role_json
from consentry.web import json_response

router = APIRouter(prefix="/api/v2/roles", tags=["Roles"])
Read = Annotated[Principal, Depends(require("read:roles"))]
Create = Annotated[Principal, Depends(require("create:roles"))]
Update = Annotated[Principal, Depends(require("update:roles"))]
Delete = Annotated[Principal, Depends(require("delete:roles"))]
ReadMembers = Annotated[Principal, Depends(require("read:role_members", "read:roles"))]
AddMembers = Annotated[Principal, Depends(require("create:role_members", "update:roles"))]


@router.get("", summary="Get roles", operation_id="get_roles")
async def get_roles(
    request: Request, p: PagingQuery, _: Read, name_filter: str | None = Query(None, max_length=255)
) -> Response:
    rt = runtime(request)
    async with rt.db.read() as s:
        rows, total = await service.list_roles(s, offset=p.offset, limit=p.per_page, name_filter=name_filter)
    return json_response(paged("roles", [role_json(r) for r in rows], total, p, with_length=False))


@router.post("", summary="Create a role", operation_id="post_roles")
async def create_role(request: Request, body: RoleCreate, claims: Create) -> Response:
    rt = runtime(request)
    async with rt.db.transaction() as s:
        row = await service.create_role(rt, s, body, actor=actor(claims))
    return json_response(role_json(row))


@router.get("/{role_id}", summary="Get a role", operation_id="get_roles_by_id")
async def get_role(request: Request, role_id: str, _: Read) -> Response:
    rt = runtime(request)
    async with rt.db.read() as s:
        row = await service.get_role(s, role_id)
    return json_response(role_json(row))


@router.patch("/{role_id}", summary="Update a role", operation_id="patch_roles_by_id")
async def update_role(request: Request, role_id: str, body: RoleUpdate, claims: Update) -> Response:
    rt = runtime(request)
    async with rt.db.transaction() as s:
        row = await service.update_role(rt, s, role_id, body, actor=actor(claims))
    return json_response(role_json(row))


@router.delete("/{role_id}", summary="Delete a role", operation_id="delete_roles_by_id", status_code=204)
async def delete_role(request: Request, role_id: str, claims: Delete) -> Response:
    rt = runtime(request)
    async with rt.db.transaction() as s:
        await service.delete_role(rt, s, role_id, actor=actor(claims))
    return Response(status_code=204)


@router.get("/{role_id}/permissions", summary="Get a role's permissions", operation_id="get_role_permission")
async def get_role_permissions(request: Request, role_id: str, p: PagingQuery, _: Read) -> Response:
    rt = runtime(request)
    async with rt.db.read() as s:
        items, total = await service.role_permissions_page(s, role_id, offset=p.offset, limit=p.per_page)
    return json_response(paged("permissions", items, total, p, with_length=False))


@router.post(
    "/{role_id}/permissions",
    summary="Associate permissions with a role",
    operation_id="post_role_permission_assignment",
    status_code=201,
)
async def add_role_permissions(request: Request, role_id: str, body: PermissionsBody, claims: Update) -> Response:
    rt = runtime(request)
    async with rt.db.transaction() as s:
        await service.add_role_permissions(rt, s, role_id, body.permissions, actor=actor(claims))
    return Response(status_code=201)


@router.delete(
    "/{role_id}/permissions",
    summary="Remove permissions from a role",
    operation_id="delete_role_permission_assignment",
    status_code=204,
)
async def remove_role_permissions(request: Request, role_id: str, body: PermissionsBody, claims: Update) -> Response:
    rt = runtime(request)
    async with rt.db.transaction() as s:
        await service.remove_role_permissions(rt, s, role_id, body.permissions, actor=actor(claims))
    return Response(status_code=204)


@router.get("/{role_id}/users", summary="Get a role's users", operation_id="get_role_user")
async def get_role_users(request: Request, role_id: str, p: PagingQuery, _: ReadMembers) -> Response:
    rt = runtime(request)
    async with rt.db.read() as s:
        items, total, next_from = await service.role_users_page(s, role_id, p)
    if p.checkpoint:
        return json_response(checkpoint_page("users", items, next_from))
    return json_response(paged("users", items, total, p, with_length=False))


@router.post("/{role_id}/users", summary="Assign users to a role", operation_id="post_role_users")
async def add_role_users(request: Request, role_id: str, body: UsersBody, claims: AddMembers) -> Response:
    rt = runtime(request)
    async with rt.db.transaction() as s:
        await service.add_role_users(rt, s, role_id, body.users, actor=actor(claims))
    return Response(status_code=200)
