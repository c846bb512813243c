"""``/.well-known/openid-configuration``, ``/.well-known/oauth-authorization-server`` and the JWKS.

``web/fast_paths.MetadataFastPath`` serves them as cached bytes ahead of every middleware; these routes are its
fallback and what the OpenAPI document lists."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from consentry.oauth.discovery import metadata
from consentry.oauth.routers import runtime
from consentry.tokens.keys import JWKS_CACHE_CONTROL

router = APIRouter(tags=["Authentication API"])


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
