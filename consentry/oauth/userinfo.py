"""``GET``/``POST /userinfo`` (OIDC Core §5.3): the claims the access token's scopes release.

The token comes in ``Authorization: Bearer`` or, on POST, in a form-encoded ``access_token``
(RFC 6750 §2.1/§2.2: pyoidc posts it in the body); never both, never in the query string.
It must be one of our access tokens whose ``aud`` names ``{issuer}userinfo`` (``openid`` was granted).
Errors are RFC 6750 §3 JSON with a ``WWW-Authenticate`` challenge (Auth0 answers a text body; SPEC
§5 and auth0-api.md say Consentry differs). ``sub`` is the token's ``sub`` byte for byte, so it
equals the ID token's (OIDC Core §5.3.2); pairwise subjects are decrypted to find the user.
"""

from __future__ import annotations

from typing import Any

import jwt
from starlette.requests import Request

from consentry.oauth.errors import INSUFFICIENT_SCOPE, INVALID_REQUEST, INVALID_TOKEN, OAuthError
from consentry.oauth.introspection import verify_access_token
from consentry.oauth.mint_policy import APP_GONE
from consentry.oauth.params import body_params, scope_list
from consentry.runtime import Runtime
from consentry.storage import user_records
from consentry.tokens import subjects
from consentry.tokens.issue import profile_claims
from consentry.tokens.jwt import TokenInvalid
from consentry.tokens.liveness import live_scopes

NO_TOKEN_CHALLENGE = 'Bearer realm="consentry"'  # RFC 6750 §3.1: no error code when no token was sent
FORM = ("application/x-www-form-urlencoded", "")
USER_GONE_MESSAGE = "The user of this access token is blocked or no longer exists."


def challenge(err: OAuthError, scope: str | None = None) -> OAuthError:
    """``err`` with its RFC 6750 §3 challenge; the description is reduced to the quotable ASCII set (§3)."""
    description = err.body()["error_description"][:300]
    value = f'Bearer error="{err.error}", error_description="{description}"'
    if scope:
        value += f', scope="{scope}"'
    return err.with_headers({"WWW-Authenticate": value})


def invalid_token(description: str) -> OAuthError:
    return challenge(INVALID_TOKEN.with_hint(description))


async def _form_token(request: Request) -> str | None:
    if request.method != "POST":
        return None
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in FORM:  # RFC 6750 §2.2: only a form-encoded body may carry the token
        return None
    try:
        return (await body_params(request)).get("access_token")
    except OAuthError as err:
        raise challenge(err) from None


async def bearer_token(request: Request) -> str:
    """The one access token of the request (RFC 6750 §2: exactly one method)."""
    if "access_token" in request.query_params:  # RFC 6750 §2.3 is not supported (tokens leak into logs)
        raise challenge(INVALID_REQUEST.with_hint("Send the access token in the Authorization header, not the URL."))
    header = request.headers.get("authorization")
    from_header = None
    if header is not None:
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            from_header = value.strip()
    from_body = await _form_token(request)
    if from_header and from_body:
        raise challenge(INVALID_REQUEST.with_hint("Send the access token in the header or in the body, not both."))
    token = from_header or from_body
    if not token:
        raise INVALID_TOKEN.with_hint("An access token is required (Authorization: Bearer).").with_headers(
            {"WWW-Authenticate": NO_TOKEN_CHALLENGE}
        )
    return token


def _reason(exc: TokenInvalid) -> str:
    cause = exc.__cause__
    if isinstance(cause, jwt.ExpiredSignatureError):
        return "The access token has expired."
    if isinstance(cause, jwt.InvalidAudienceError):
        return "The access token is not valid for the userinfo endpoint (openid was not granted)."
    if isinstance(cause, jwt.MissingRequiredClaimError) or str(exc) == "not an access token":
        return "The token is not an access token."
    if str(exc) == "unknown signing key":
        return "The access token is signed with an unknown key."
    return "The access token is invalid."


async def userinfo(rt: Runtime, request: Request) -> dict[str, Any]:
    token = await bearer_token(request)
    try:
        claims = await verify_access_token(rt, token, audience=rt.settings.userinfo_audience)
    except TokenInvalid as exc:
        raise invalid_token(_reason(exc)) from None
    scopes = tuple(scope_list(claims.get("scope") if isinstance(claims.get("scope"), str) else ""))
    if "openid" not in scopes:  # OIDC Core §5.3: the UserInfo endpoint serves openid requests only
        raise challenge(INSUFFICIENT_SCOPE.with_hint("The access token was not granted the openid scope."), "openid")
    verdict = await live_scopes(rt, claims)
    if verdict.scopes is None:
        if verdict.reason == APP_GONE:
            raise invalid_token("The application of this access token no longer exists.")
        if verdict.user_gone:
            raise invalid_token(USER_GONE_MESSAGE)
        raise invalid_token(f"The access token was revoked: {verdict.reason}.")
    scopes = verdict.scopes
    client_id, sub = claims["client_id"], claims["sub"]
    user_id = subjects.resolve(rt.keys.kek, client_id, sub)
    user = await user_records.find(rt.db, user_id) if user_id is not None and len(user_id) <= 255 else None
    if user is None or user.blocked:
        raise invalid_token(USER_GONE_MESSAGE)
    return {"sub": sub, **profile_claims(user, scopes)}
