"""Thin routers for the Authentication API endpoints that are not pages."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from consentry.oauth import token
from consentry.oauth.discovery import metadata
from consentry.runtime import Runtime
from consentry.tokens.keys import JWKS_CACHE_CONTROL
from consentry.web import NO_STORE, json_response

router = APIRouter(tags=["Authentication API"])


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


@router.get("/.well-known/openid-configuration", summary="OpenID Connect discovery document")
@router.get("/.well-known/oauth-authorization-server", summary="RFC 8414 authorization server metadata")
async def discovery(request: Request) -> Response:
    rt = runtime(request)
    body = orjson.dumps(metadata(rt.settings, await rt.catalog.tenant()))
    return Response(body, media_type="application/json", headers={"Cache-Control": "public, max-age=60"})


@router.get("/.well-known/jwks.json", summary="Public signing keys (JWKS)")
async def jwks(request: Request) -> Response:
    body = await runtime(request).keys.jwks()
    return Response(body, media_type="application/json", headers={"Cache-Control": JWKS_CACHE_CONTROL})


@router.post("/oauth/token", summary="Token endpoint (form or JSON body)")
async def token_endpoint(request: Request) -> Response:
    return json_response(await token.token_response(runtime(request), request), headers=NO_STORE)
