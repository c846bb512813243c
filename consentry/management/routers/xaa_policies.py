"""``/api/v2/cross-app-access-policies``: Consentry as the enterprise IdP — which app may request an ID-JAG for which
resource authorization server (beyond Auth0, whose tenant is the resource side; docs/cross-app-access.md).

A policy belongs to an application, so the client scopes guard it: ``read:clients`` to read,
``update:clients`` to create, change or delete.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from consentry.commands.xaa_policies import XaaPolicyCreate, XaaPolicyUpdate
from consentry.management.auth import Principal, require
from consentry.management.routers.common import actor, runtime
from consentry.services import xaa_policies as service
from consentry.web import json_response

router = APIRouter(prefix="/api/v2/cross-app-access-policies", tags=["Cross App Access Policies"])
Read = Annotated[Principal, Depends(require("read:clients"))]
Write = Annotated[Principal, Depends(require("update:clients"))]


@router.get("", summary="Get Cross App Access policies", operation_id="get_xaa_policies")
async def get_policies(
    request: Request,
    _: Read,
    client_id: str | None = Query(None, max_length=255),
    audience: str | None = Query(None, max_length=600),
) -> Response:
    rows = await service.list_policies(runtime(request), client_id=client_id, audience=audience)
    return json_response([service.policy_json(p) for p in rows])


@router.post("", summary="Create a Cross App Access policy", operation_id="post_xaa_policies", status_code=201)
async def create_policy(request: Request, body: XaaPolicyCreate, who: Write) -> Response:
    row = await service.create_policy(runtime(request), body, actor=actor(who))
    return json_response(service.policy_json(row), 201)


@router.get("/{policy_id}", summary="Get a Cross App Access policy", operation_id="get_xaa_policies_by_id")
async def get_policy(request: Request, policy_id: str, _: Read) -> Response:
    return json_response(service.policy_json(await service.get_policy(runtime(request), policy_id)))


@router.patch("/{policy_id}", summary="Update a Cross App Access policy", operation_id="patch_xaa_policies_by_id")
async def update_policy(request: Request, policy_id: str, body: XaaPolicyUpdate, who: Write) -> Response:
    row = await service.update_policy(runtime(request), policy_id, body, actor=actor(who))
    return json_response(service.policy_json(row))


@router.delete(
    "/{policy_id}",
    summary="Delete a Cross App Access policy",
    operation_id="delete_xaa_policies_by_id",
    status_code=204,
)
async def delete_policy(request: Request, policy_id: str, who: Write) -> Response:
    await service.delete_policy(runtime(request), policy_id, actor=actor(who))
    return Response(status_code=204)
