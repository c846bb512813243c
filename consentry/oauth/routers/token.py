"""``POST /oauth/token`` (``web/fast_paths.EndpointFastLane`` calls ``token_endpoint`` without the router)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from consentry.oauth import token
from consentry.oauth.routers import runtime
from consentry.web import NO_STORE, json_response

router = APIRouter(tags=["Authentication API"])


@router.post("/oauth/token", summary="Token endpoint (form or JSON body)")
async def token_endpoint(request: Request) -> Response:
    return json_response(await token.token_response(runtime(request), request), headers=NO_STORE)
