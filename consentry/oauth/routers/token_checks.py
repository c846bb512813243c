"""What a client or a resource server does with a token it holds: ``/userinfo``, ``/oauth/revoke`` (RFC 7009) and
``/oauth/introspect`` (RFC 7662; ``web/fast_paths.EndpointFastLane`` calls ``introspect_endpoint`` directly)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from consentry.oauth import introspection, revocation, userinfo
from consentry.oauth.routers import runtime
from consentry.web import NO_STORE, json_response

router = APIRouter(tags=["Authentication API"])

BEARER_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "invalid_request: the token was sent twice, or in the URL"},
    401: {"description": "invalid_token (RFC 6750 §3.1), with a WWW-Authenticate challenge"},
    403: {"description": "insufficient_scope: the token was not granted openid"},
}
CLIENT_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "invalid_request: missing token or malformed body"},
    401: {"description": "invalid_client: client authentication failed (WWW-Authenticate for Basic)"},
}


@router.get("/userinfo", summary="OIDC UserInfo (bearer header)", responses=BEARER_ERRORS)
@router.post("/userinfo", summary="OIDC UserInfo (bearer header or form access_token)", responses=BEARER_ERRORS)
async def userinfo_endpoint(request: Request) -> Response:
    return json_response(await userinfo.userinfo(runtime(request), request), headers=NO_STORE)


@router.post("/oauth/revoke", summary="Revoke a refresh token (RFC 7009)", status_code=200, responses=CLIENT_ERRORS)
async def revoke_endpoint(request: Request) -> Response:
    await revocation.revoke(runtime(request), request)
    return Response(status_code=200, headers=NO_STORE)


@router.post(
    "/oauth/introspect", summary="Token introspection (RFC 7662; confidential clients)", responses=CLIENT_ERRORS
)
async def introspect_endpoint(request: Request) -> Response:
    return json_response(await introspection.introspect(runtime(request), request), headers=NO_STORE)
