"""Which client a CORS request is for, so that only that client's origins may read the answer (SPEC §5).

- ``/oauth/token`` and ``/oauth/revoke``: the ``client_id`` of the body and the client of an
  ``Authorization: Basic`` header (all that are named; the endpoint refuses a mismatch anyway).
- ``/userinfo``: the ``client_id`` claim of the access token (header, or a form-encoded POST body),
  trusted only once its signature verifies (``introspection.verify_access_token``).

The body is the one the endpoint read (the middleware keeps a copy as it passes), parsed by the same
function, so both find the same client. An empty answer means no client can be found: none is named, the
token does not verify, or the body does not parse or was not read whole (refused for its size); the
endpoint then answers an error that says nothing about any client.
"""

from __future__ import annotations

from starlette.datastructures import Headers

from consentry.config_records import ClientInfo
from consentry.oauth.client_auth import basic_credentials
from consentry.oauth.cors_origins import collect
from consentry.oauth.errors import OAuthError
from consentry.oauth.introspection import verify_access_token
from consentry.oauth.params import parse_body
from consentry.runtime import Runtime
from consentry.tokens.jwt import TokenInvalid

MAX_CLIENT_ID = 512
FORM = ("application/x-www-form-urlencoded", "")


def _body(content_type: str, body: bytes | None) -> dict[str, str] | None:
    if body is None:
        return None
    try:
        return parse_body(content_type, body)
    except OAuthError:
        return None


async def requested_clients(rt: Runtime, path: str, headers: Headers, body: bytes | None) -> frozenset[str]:
    """The clients a request to a CORS endpoint is for (``body`` None: not read whole)."""
    content_type = headers.get("content-type", "")
    if path == "/userinfo":
        return await _token_client(rt, headers, content_type, body)
    params = _body(content_type, body) or {}
    ids = {params["client_id"]} if "client_id" in params else set()
    try:
        basic = basic_credentials(headers.get("authorization", ""))
    except OAuthError:
        basic = None  # a malformed header: the endpoint answers invalid_client
    if basic is not None and basic[0]:
        ids.add(basic[0])
    return frozenset(ids)


async def _token_client(rt: Runtime, headers: Headers, content_type: str, body: bytes | None) -> frozenset[str]:
    scheme, _, value = headers.get("authorization", "").strip().partition(" ")
    token = value.strip() if scheme.lower() == "bearer" else ""
    if not token and body and content_type.split(";")[0].strip().lower() in FORM:
        token = (_body(content_type, body) or {}).get("access_token", "")
    if not token:
        return frozenset()
    try:
        claims = await verify_access_token(rt, token)
    except TokenInvalid:
        return frozenset()  # the endpoint answers invalid_token: nothing in it belongs to a client
    return frozenset({claims["client_id"]})


def origins_of(client: ClientInfo) -> frozenset[str]:
    """A client's web origins, allowed origins and callback origins (a few URL parses: not memoized, since a
    stored value of any JSON type must not make the lookup fail)."""
    return collect([(list(client.web_origins), list(client.allowed_origins), list(client.callbacks))])


async def client_allows(rt: Runtime, client_id: str, origin: str) -> bool:
    client = await rt.catalog.client(client_id) if len(client_id) <= MAX_CLIENT_ID else None
    return client is not None and client.status == "active" and origin in origins_of(client)
