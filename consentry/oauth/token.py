"""``POST /oauth/token``: client authentication, then the registered grant for ``grant_type``.

A grant that stores a row for its client and user (a refresh token) while the client or the user is being deleted
is refused by the foreign key: the request then answers as if it came after the delete, ``invalid_client`` when
the client is gone, else ``invalid_grant`` (the user is), never a server error.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from consentry.config_records import ClientInfo
from consentry.oauth.client_auth import authenticate_client
from consentry.oauth.errors import INVALID_CLIENT, INVALID_GRANT, INVALID_REQUEST, UNSUPPORTED_GRANT_TYPE, OAuthError
from consentry.oauth.grants import GRANTS
from consentry.oauth.grants.base import TokenContext
from consentry.oauth.params import body_params
from consentry.runtime import Runtime
from consentry.storage.gone import client_exists, missing_parent
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
    try:
        return await grant.issue(TokenContext(rt, request, params, client, client_ip(request)))
    except Exception as exc:
        if not missing_parent(exc):
            raise
        raise await _deleted_meanwhile(rt, client) from None


async def _deleted_meanwhile(rt: Runtime, client: ClientInfo) -> OAuthError:
    """The answer of a grant whose write found its client or user deleted since the request read them."""
    if not await client_exists(rt.db, client.client_id):
        return INVALID_CLIENT.with_hint("Client authentication failed.")
    return INVALID_GRANT.with_hint("The user no longer exists.")
