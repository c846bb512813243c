"""Thin routers for ``/oidc/register`` (RFC 7591) and ``/oidc/register/{client_id}`` (RFC 7592)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from consentry.oauth import registration, registration_config
from consentry.oauth.routers import runtime
from consentry.web import NO_STORE, client_ip, json_response

router = APIRouter(prefix="/oidc/register", tags=["Dynamic Client Registration"])

_ERROR = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
            }
        }
    }
}
_INFO = {"content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}}}
_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": registration.ClientMetadata.model_json_schema()}},
    }
}


@router.post(
    "",
    summary="Register a third-party client (RFC 7591)",
    status_code=201,
    openapi_extra=_BODY,
    responses={
        201: {"description": "Client information", **_INFO},
        400: {"description": "invalid_client_metadata / invalid_redirect_uri", **_ERROR},
        401: {"description": "Initial access token required or invalid", **_ERROR},
        403: {"description": "Registration disabled or quota reached", **_ERROR},
        429: {"description": "Too many registrations from this address", **_ERROR},
    },
)
async def register(request: Request) -> Response:
    rt = runtime(request)
    body = await registration.register(
        rt,
        await request.body(),
        request.headers.get("content-type"),
        request.headers.get("authorization"),
        client_ip(request),
    )
    return json_response(body, 201, NO_STORE)


@router.get(
    "/{client_id}",
    summary="Read a dynamically registered client (RFC 7592)",
    responses={
        200: {"description": "Client information", **_INFO},
        401: {"description": "Registration access token missing or invalid", **_ERROR},
    },
)
async def read(request: Request, client_id: str) -> Response:
    body = await registration_config.read(runtime(request), client_id, request.headers.get("authorization"))
    return json_response(body, 200, NO_STORE)


@router.put(
    "/{client_id}",
    summary="Replace a dynamically registered client's metadata (RFC 7592)",
    openapi_extra=_BODY,
    responses={
        200: {"description": "Client information", **_INFO},
        400: {"description": "invalid_client_metadata / invalid_redirect_uri", **_ERROR},
        401: {"description": "Registration access token missing or invalid", **_ERROR},
    },
)
async def update(request: Request, client_id: str) -> Response:
    body = await registration_config.update(
        runtime(request),
        client_id,
        await request.body(),
        request.headers.get("content-type"),
        request.headers.get("authorization"),
    )
    return json_response(body, 200, NO_STORE)


@router.delete(
    "/{client_id}",
    summary="Delete a dynamically registered client (RFC 7592)",
    status_code=204,
    responses={
        204: {"description": "Deleted"},
        401: {"description": "Registration access token missing or invalid", **_ERROR},
    },
)
async def delete(request: Request, client_id: str) -> Response:
    await registration_config.remove(runtime(request), client_id, request.headers.get("authorization"))
    return Response(status_code=204, headers=NO_STORE)
