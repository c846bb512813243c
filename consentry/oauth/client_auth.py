"""Client authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3).

``client_secret_basic`` (HTTP Basic, form-encoded id and secret), ``client_secret_post``, ``private_key_jwt``
(RFC 7523 §2.2, ``oauth.client_assertion``) and ``none`` for public clients. Secrets are compared in constant time
against their stored digest. An application set up for ``private_key_jwt`` authenticates with assertions only.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote

from starlette.requests import Request

from consentry.config_cache import Catalog
from consentry.config_records import ClientInfo
from consentry.oauth import client_assertion
from consentry.oauth.client_rules import grant_type_refusal
from consentry.oauth.errors import INVALID_CLIENT, INVALID_REQUEST, OAuthError
from consentry.tokens.ids import matches

BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="consentry", charset="UTF-8"'}


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    return basic_credentials(request.headers.get("authorization", ""))


def basic_credentials(header: str) -> tuple[str, str] | None:
    """The client id and secret of an ``Authorization: Basic`` header; None for another scheme."""
    if not header[:6].lower() == "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        raw_id, raw_secret = decoded.split(":", 1)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise INVALID_CLIENT.with_hint("Malformed Basic authorization header.").with_headers(BASIC_CHALLENGE) from None
    return unquote(raw_id), unquote(raw_secret)


async def authenticate_client(request: Request, params: dict[str, str], catalog: Catalog) -> ClientInfo:
    """Return the authenticated client or raise ``invalid_client`` (401)."""
    basic = _basic_credentials(request)
    body_id, body_secret = params.get("client_id"), params.get("client_secret")
    if basic and body_secret:
        raise INVALID_REQUEST.with_hint("Use only one client authentication method.")
    if "client_assertion" in params or "client_assertion_type" in params:
        return await _by_assertion(request, params, catalog, secret_given=bool(basic or body_secret))
    secret: str | None
    if basic:
        client_id, secret = basic
        if body_id and body_id != client_id:
            raise INVALID_CLIENT.with_hint("client_id does not match the authorization header.").with_headers(
                BASIC_CHALLENGE
            )
    else:
        client_id, secret = body_id or "", body_secret
    if not client_id:
        raise INVALID_CLIENT.with_hint("Client authentication is required (client_id missing).")
    client = await catalog.client(client_id) if len(client_id) <= 512 else None
    if client is None or client.status != "active":
        raise _failed(basic)
    if client.is_public:
        if secret:
            raise _failed(basic).with_debug("public clients have no secret")
        return client
    if client.token_endpoint_auth_method == "private_key_jwt":
        raise _failed(basic).with_debug("the application authenticates with private_key_jwt only")
    if not matches(secret, client.secret_hash):
        raise _failed(basic)
    return client


def _failed(basic: tuple[str, str] | None) -> OAuthError:
    """``invalid_client``, with the Basic challenge when the client tried Basic (RFC 6749 §5.2)."""
    failure = INVALID_CLIENT.with_hint("Client authentication failed.")
    return failure.with_headers(BASIC_CHALLENGE) if basic else failure


async def _by_assertion(
    request: Request, params: dict[str, str], catalog: Catalog, *, secret_given: bool
) -> ClientInfo:
    """RFC 7523 §2.2: the client assertion is the only credential; ``client_id``, when sent, must be its subject."""
    if secret_given:
        raise INVALID_REQUEST.with_hint("Use only one client authentication method.")
    client_id = client_assertion.assertion_client_id(params)
    if params.get("client_id") and params["client_id"] != client_id:
        raise INVALID_CLIENT.with_hint("client_id does not match the client assertion.")
    client = await catalog.client(client_id)
    if client is None or client.status != "active":
        raise INVALID_CLIENT.with_hint("Client authentication failed.")
    return await client_assertion.authenticate_assertion(request.app.state.runtime, client, params)


def require_grant_type(client: ClientInfo, grant_type: str) -> None:
    refusal = grant_type_refusal(grant_type, client.grant_types, client.registration_type)
    if refusal:
        raise OAuthError("unauthorized_client", refusal, 403)
