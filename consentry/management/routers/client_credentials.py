"""``/api/v2/clients/{id}/credentials``: the public keys of ``private_key_jwt`` client authentication."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from consentry.commands.client_credentials import CredentialCreate, CredentialUpdate
from consentry.management.auth import Principal, require
from consentry.management.routers.common import runtime
from consentry.services import client_credentials as service
from consentry.web import json_response

router = APIRouter(prefix="/api/v2/clients/{client_id}/credentials", tags=["Clients"])
Read = Annotated[Principal, Depends(require("read:client_credentials"))]
Create = Annotated[Principal, Depends(require("create:client_credentials"))]
Update = Annotated[Principal, Depends(require("update:client_credentials"))]
Delete = Annotated[Principal, Depends(require("delete:client_credentials"))]


@router.get("", summary="Get client credentials", operation_id="get_credentials")
async def get_credentials(request: Request, client_id: str, _: Read) -> Response:
    async with runtime(request).db.read() as s:
        found = await service.list_for(s, client_id)
    return json_response([service.credential_json(c) for c in found])


@router.post("", summary="Create a client credential", operation_id="post_credentials", status_code=201)
async def post_credential(request: Request, client_id: str, body: CredentialCreate, _: Create) -> Response:
    rt = runtime(request)
    async with rt.db.transaction() as s:
        made = await service.create(rt, s, client_id, body)
    return json_response(service.credential_json(made), 201)


@router.get("/{credential_id}", summary="Get a client credential", operation_id="get_credentials_by_credential_id")
async def get_credential(request: Request, client_id: str, credential_id: str, _: Read) -> Response:
    async with runtime(request).db.read() as s:
        found = await service.get(s, client_id, credential_id)
    return json_response(service.credential_json(found))


@router.patch(
    "/{credential_id}", summary="Update a client credential", operation_id="patch_credentials_by_credential_id"
)
async def patch_credential(
    request: Request, client_id: str, credential_id: str, body: CredentialUpdate, _: Update
) -> Response:
    rt = runtime(request)
    async with rt.db.transaction() as s:
        found = await service.update(rt, s, client_id, credential_id, body)
    return json_response(service.credential_json(found))


@router.delete(
    "/{credential_id}",
    summary="Delete a client credential",
    operation_id="delete_credentials_by_credential_id",
    status_code=204,
)
async def delete_credential(request: Request, client_id: str, credential_id: str, _: Delete) -> Response:
    rt = runtime(request)
    async with rt.db.transaction() as s:
        await service.delete(rt, s, client_id, credential_id)
    return Response(status_code=204)
