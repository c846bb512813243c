"""``/api/v2/keys/signing``: list, rotate and revoke the tenant's token signing keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from consentry.management.auth import Principal, require
from consentry.management.routers.common import actor, runtime
from consentry.services import signing_keys as service
from consentry.web import json_response

router = APIRouter(prefix="/api/v2/keys/signing", tags=["Keys"])
Read = Annotated[Principal, Depends(require("read:signing_keys"))]
Create = Annotated[Principal, Depends(require("create:signing_keys"))]
Update = Annotated[Principal, Depends(require("update:signing_keys"))]


@router.get("", summary="Get all application signing keys", operation_id="get_signing_keys")
async def get_signing_keys(request: Request, _: Read) -> Response:
    rt = runtime(request)
    async with rt.db.read() as s:
        rows = await service.list_keys(s)
    return json_response([service.key_json(r) for r in rows])


@router.post("/rotate", summary="Rotate the application signing key", operation_id="post_signing_keys", status_code=201)
async def rotate_signing_key(request: Request, claims: Create) -> Response:
    row = await service.rotate(runtime(request), actor=actor(claims))
    return json_response({"cert": row.cert, "kid": row.kid}, 201)


@router.get("/{kid}", summary="Get an application signing key by its key id", operation_id="get_signing_key")
async def get_signing_key(request: Request, kid: str, _: Read) -> Response:
    rt = runtime(request)
    async with rt.db.read() as s:
        row = await service.get_key(s, kid)
    return json_response(service.key_json(row))


@router.put("/{kid}/revoke", summary="Revoke an application signing key by its key id", operation_id="put_signing_keys")
async def revoke_signing_key(request: Request, kid: str, claims: Update) -> Response:
    row = await service.revoke(runtime(request), kid, actor=actor(claims))
    return json_response({"cert": row.cert, "kid": row.kid})
