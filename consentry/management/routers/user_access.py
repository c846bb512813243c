"""``/api/v2/users/{id}/roles`` and ``/api/v2/users/{id}/permissions``: what a user holds (Auth0 RBAC)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from consentry.commands.roles import PermissionsBody, RolesBody
from consentry.management.auth import Principal, require
from consentry.management.pagination import paged
from consentry.management.routers.common import PagingQuery, actor, runtime
from consentry.services import permissions as service
from consentry.web import json_response

router = APIRouter(prefix="/api/v2/users", tags=["Users"])
ReadRoles = Annotated[Principal, Depends(require("read:roles", "read:role_members"))]
AddRoles = Annotated[Principal, Depends(require("create:role_members", "update:users"))]
RemoveRoles = Annotated[Principal, Depends(require("delete:role_members", "update:users"))]
ReadUsers = Annotated[Principal, Depends(require("read:users"))]
UpdateUsers = Annotated[Principal, Depends(require("update:users"))]


@router.get("/{user_id}/roles", summary="Get a user's roles", operation_id="get_user_roles")
async def get_user_roles(request: Request, user_id: str, p: PagingQuery, _: ReadRoles) -> Response:
    rt = runtime(request)
    async with rt.db.read() as s:
        items, total = await service.user_roles_page(s, user_id, offset=p.offset, limit=p.per_page)
    return json_response(paged("roles", items, total, p, with_length=False))


@router.post("/{user_id}/roles", summary="Assign roles to a user", operation_id="post_user_roles", status_code=204)
async def add_user_roles(request: Request, user_id: str, body: RolesBody, claims: AddRoles) -> Response:
    rt = runtime(request)
    async with rt.db.transaction() as s:
        await service.assign_user_roles(rt, s, user_id, body.roles, actor=actor(claims))
    return Response(status_code=204)


@router.delete(
    "/{user_id}/roles", summary="Remove roles from a user", operation_id="delete_user_roles", status_code=204
)
async def remove_user_roles(request: Request, user_id: str, body: RolesBody, claims: RemoveRoles) -> Response:
    rt = runtime(request)
    async with rt.db.transaction() as s:
        await service.remove_user_roles(rt, s, user_id, body.roles, actor=actor(claims))
    return Response(status_code=204)


@router.get("/{user_id}/permissions", summary="Get a user's permissions", operation_id="get_permissions")
async def get_user_permissions(request: Request, user_id: str, p: PagingQuery, _: ReadUsers) -> Response:
    """Direct permissions and those of the user's roles, each with its ``sources``."""
    rt = runtime(request)
    async with rt.db.read() as s:
        items, total = await service.user_permissions_page(s, user_id, offset=p.offset, limit=p.per_page)
    return json_response(paged("permissions", items, total, p, with_length=False))


@router.post(
    "/{user_id}/permissions",
    summary="Assign permissions to a user",
    operation_id="post_permissions",
    status_code=201,
)
async def add_user_permissions(request: Request, user_id: str, body: PermissionsBody, claims: UpdateUsers) -> Response:
    rt = runtime(request)
    async with rt.db.transaction() as s:
        await service.assign_user_permissions(rt, s, user_id, body.permissions, actor=actor(claims))
    return Response(status_code=201)


@router.delete(
    "/{user_id}/permissions",
    summary="Remove permissions from a user",
    operation_id="delete_permissions",
    status_code=204,
)
async def remove_user_permissions(
    request: Request, user_id: str, body: PermissionsBody, claims: UpdateUsers
) -> Response:
    rt = runtime(request)
    async with rt.db.transaction() as s:
        await service.remove_user_permissions(rt, s, user_id, body.permissions, actor=actor(claims))
    return Response(status_code=204)
