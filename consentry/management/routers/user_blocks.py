"""``/api/v2/user-blocks``: the login throttle's blocks by identifier (email or username) or by user id,
``{"blocked_for": [{"identifier", "ip"}]}``, and lifting them (204)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from consentry.management.auth import Principal, require
from consentry.management.routers.common import runtime
from consentry.services import user_blocks as service
from consentry.storage.login_blocks import Block
from consentry.web import json_response

router = APIRouter(prefix="/api/v2/user-blocks", tags=["User Blocks"])
Read = Annotated[Principal, Depends(require("read:users"))]
Update = Annotated[Principal, Depends(require("update:users"))]
Identifier = Annotated[str, Query(min_length=1, max_length=320)]


def _body(found: list[Block]) -> Response:
    return json_response({"blocked_for": [{"identifier": b.identifier, "ip": b.ip} for b in found]})


@router.get("", summary="Get blocks by identifier", operation_id="get_user_blocks")
async def get_blocks(
    request: Request,
    identifier: Identifier,
    _: Read,
    consider_brute_force_enablement: str | None = Query(None, max_length=8),
) -> Response:
    return _body(await service.blocks(runtime(request), service.normal(identifier)))


@router.delete("", summary="Unblock by identifier", operation_id="delete_user_blocks", status_code=204)
async def delete_blocks(request: Request, identifier: Identifier, _: Update) -> Response:
    await service.unblock(runtime(request), service.normal(identifier))
    return Response(status_code=204)


@router.get("/{user_id}", summary="Get a user's blocks", operation_id="get_user_blocks_by_id")
async def get_user_blocks(
    request: Request,
    user_id: str,
    _: Read,
    consider_brute_force_enablement: str | None = Query(None, max_length=8),
) -> Response:
    rt = runtime(request)
    return _body(await service.blocks(rt, await service.identifiers_of(rt, user_id)))


@router.delete("/{user_id}", summary="Unblock a user", operation_id="delete_user_blocks_by_id", status_code=204)
async def delete_user_blocks(request: Request, user_id: str, _: Update) -> Response:
    rt = runtime(request)
    await service.unblock(rt, await service.identifiers_of(rt, user_id), user_id=user_id)
    return Response(status_code=204)
