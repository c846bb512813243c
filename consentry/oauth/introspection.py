"""``POST /oauth/introspect`` (RFC 7662, beyond Auth0): is this token active, and what does it carry?

Only confidential clients that authenticate may call it (RFC 7662 §2.1 requires authorization;
resource servers register as machine-to-machine apps). The endpoint never writes.

- A JWT access token is answered from its signature and claims, and from current decisions: it is
  inactive once its app, client grant, user, consent or refresh family is gone (``tokens.liveness``: cached
  configuration plus one indexed read for user tokens). Any authenticated client may introspect any
  access token (that is what resource servers need).
- A refresh token (one indexed read) is active only for the client it was issued to: RFC 7662 §2.2
  lets the server decide what a caller may learn, and no other party has any business with it.
- Anything else, and every failure, is ``{"active": false}`` with no reason (RFC 7662 §2.2).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from consentry.oauth.client_auth import authenticate_client
from consentry.oauth.errors import INVALID_CLIENT, INVALID_REQUEST
from consentry.oauth.params import body_params
from consentry.runtime import Runtime
from consentry.storage import refresh_tokens
from consentry.tokens import ids
from consentry.tokens.issue import subject_for
from consentry.tokens.jwt import TokenInvalid, verify
from consentry.tokens.liveness import live_scopes

ACCESS_TOKEN_TYP = frozenset({"at+jwt", "jwt"})  # RFC 9068 profile and Auth0's dialect
MAX_TOKEN = 16 * 1024
INACTIVE: dict[str, Any] = {"active": False}


async def verify_access_token(rt: Runtime, token: str, audience: str | None = None) -> dict[str, Any]:
    """Claims of one of our access tokens (RS256, exact issuer, not expired); ``TokenInvalid`` otherwise.

    ID tokens are signed with the same keys; they are told apart by ``jti`` and ``client_id``, which
    only access tokens carry (RFC 9068 §2.2).
    """
    if not token or len(token) > MAX_TOKEN or token.count(".") != 2:
        raise TokenInvalid("malformed token")
    claims = await verify(
        rt.keys,
        token,
        issuer=rt.settings.issuer_url,
        audience=audience,
        require=("exp", "iat", "sub", "jti", "client_id"),
        typ=ACCESS_TOKEN_TYP,  # RFC 9068 §4
    )
    if not isinstance(claims.get("client_id"), str) or not isinstance(claims.get("sub"), str):
        raise TokenInvalid("not an access token")
    return claims


def _access_token_answer(claims: dict[str, Any], scopes: tuple[str, ...]) -> dict[str, Any]:
    keys = ("client_id", "sub", "aud", "iss", "exp", "iat")
    answer: dict[str, Any] = {"active": True, **{k: claims[k] for k in keys if k in claims}}
    if "scope" in claims:
        answer["scope"] = " ".join(scopes)  # what current decisions still allow (a narrowed grant narrows it)
    answer["token_type"] = "Bearer"
    answer["jti"] = claims["jti"]
    if isinstance(claims.get("act"), dict):  # RFC 8693 §4.1: who acts for the subject (delegation)
        answer["act"] = claims["act"]
    return answer


async def _access_token(rt: Runtime, token: str) -> dict[str, Any]:
    try:
        claims = await verify_access_token(rt, token)
    except TokenInvalid:
        return INACTIVE
    if claims["exp"] <= rt.clock.now():  # no leeway here: "active" means usable now
        return INACTIVE
    verdict = await live_scopes(rt, claims)
    if verdict.scopes is None:  # revoked by a later decision (tokens.liveness)
        return INACTIVE
    return _access_token_answer(claims, verdict.scopes)


async def _refresh_token(rt: Runtime, token: str, client_id: str) -> dict[str, Any]:
    if len(token) > 200:
        return INACTIVE
    row = await refresh_tokens.find(rt.db, ids.digest(token))
    if row is None:
        return INACTIVE
    now = rt.clock.now()
    if (
        row.client_id != client_id
        or row.revoked_at is not None
        or row.rotated_at is not None
        or row.expires_at <= now
        or row.user_blocked
    ):
        return INACTIVE
    client = await rt.catalog.client(client_id)
    assert client is not None  # the caller just authenticated as this client
    answer: dict[str, Any] = {
        "active": True,
        "scope": " ".join(row.scope),
        "client_id": row.client_id,
        "sub": subject_for(rt, await rt.catalog.tenant(), client, row.user_id),
        "iss": rt.settings.issuer_url,
        "exp": int(row.expires_at),
        "iat": int(row.created_at),
        "token_type": "refresh_token",
    }
    if row.audience:
        answer["aud"] = row.audience
    return answer


async def introspect(rt: Runtime, request: Request) -> dict[str, Any]:
    params = await body_params(request)
    client = await authenticate_client(request, params, rt.catalog)
    if client.is_public:
        raise INVALID_CLIENT.with_hint("Only confidential clients may use the introspection endpoint.")
    token = params.get("token")
    if not token:
        raise INVALID_REQUEST.with_hint("Missing required parameter: token")
    # token_type_hint (RFC 7662 §2.1) is accepted and not needed: the two kinds differ in shape.
    if token.count(".") == 2:
        return await _access_token(rt, token)
    return await _refresh_token(rt, token, client.client_id)
