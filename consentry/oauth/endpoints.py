"""Thin routers for ``/userinfo``, ``/oauth/revoke``, ``/oauth/introspect``, ``/v2/logout`` and ``/oidc/logout``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from consentry.oauth import introspection, logout, revocation, userinfo
from consentry.runtime import Runtime
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
PAGE_ERRORS: dict[int | str, dict[str, Any]] = {
    302: {"description": "Redirect to an allowed logout URL"},
    400: {"description": "HTML error page: unknown client or a return URL that is not allowed (never a redirect)"},
}


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


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


@router.get("/v2/logout", summary="Auth0 logout: end the SSO session, go to returnTo", responses=PAGE_ERRORS)
async def auth0_logout_endpoint(request: Request) -> Response:
    return await logout.auth0_logout(runtime(request), request)


@router.get("/oidc/logout", summary="OIDC RP-Initiated Logout (end_session_endpoint)", responses=PAGE_ERRORS)
@router.post("/oidc/logout", summary="OIDC RP-Initiated Logout (form post)", responses=PAGE_ERRORS)
async def oidc_logout_endpoint(request: Request) -> Response:
    return await logout.oidc_logout(runtime(request), request)
