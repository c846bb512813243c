"""``/v2/logout`` (Auth0) and ``/oidc/logout`` (OIDC RP-Initiated Logout)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from consentry.oauth import logout
from consentry.oauth.routers import runtime

router = APIRouter(tags=["Authentication API"])

PAGE_ERRORS: dict[int | str, dict[str, Any]] = {
    302: {"description": "Redirect to an allowed logout URL"},
    400: {"description": "HTML error page: unknown client or a return URL that is not allowed (never a redirect)"},
}


@router.get("/v2/logout", summary="Auth0 logout: end the SSO session, go to returnTo", responses=PAGE_ERRORS)
async def auth0_logout_endpoint(request: Request) -> Response:
    return await logout.auth0_logout(runtime(request), request)


@router.get("/oidc/logout", summary="OIDC RP-Initiated Logout (end_session_endpoint)", responses=PAGE_ERRORS)
@router.post("/oidc/logout", summary="OIDC RP-Initiated Logout (form post)", responses=PAGE_ERRORS)
async def oidc_logout_endpoint(request: Request) -> Response:
    return await logout.oidc_logout(runtime(request), request)
