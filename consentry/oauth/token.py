"""``POST /oauth/token``: client authentication, then the registered grant for ``grant_type``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from consentry.oauth.client_auth import authenticate_client
from consentry.oauth.errors import INVALID_REQUEST, UNSUPPORTED_GRANT_TYPE
from consentry.oauth.grants import GRANTS
from consentry.oauth.grants.base import TokenContext
from consentry.oauth.params import body_params
from consentry.runtime import Runtime
from consentry.web import client_ip


async def token_response(rt: Runtime, request: Request) -> dict[str, Any]:
    params = await body_params(request)
    grant_type = params.get("grant_type")
    if not grant_type:
        raise INVALID_REQUEST.with_hint("Missing required parameter: grant_type")
    grant = GRANTS.get(grant_type)
    if grant is None:
        raise UNSUPPORTED_GRANT_TYPE.with_hint(f"Unsupported grant type: {grant_type[:100]}")
    client = await authenticate_client(request, params, rt.catalog)
    return await grant.issue(TokenContext(rt, request, params, client, client_ip(request)))
