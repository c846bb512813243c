"""``private_key_jwt`` client authentication (RFC 7523 §2.2; OIDC Core §9) at the token, revocation and
introspection endpoints.

The application signs a JWT with a private key whose public half is one of its client credentials
(``/api/v2/clients/{id}/credentials``) that it lists in ``client_authentication_methods.private_key_jwt``.
Checks, each failure ``invalid_client``: the assertion type, a signed JWT with an allowed ``alg`` whose
signature one listed, unexpired credential of that ``alg`` verifies (``kid`` picks it when given), the claim rules
of ``oauth.client_assertion_rules``, and the ``jti`` seen for the first time (``storage.assertions``).
"""

from __future__ import annotations

from typing import Any

import jwt

from consentry.config_records import ClientInfo
from consentry.oauth.client_assertion_rules import ALGORITHMS, JWT_BEARER_ASSERTION, Expected, claims_problem
from consentry.oauth.errors import INVALID_CLIENT, INVALID_REQUEST, OAuthError
from consentry.runtime import Runtime
from consentry.storage import assertions, client_credentials
from consentry.storage.client_credentials import StoredCredential

MAX_ASSERTION = 16384
ENDPOINTS = ("oauth/token", "oauth/revoke", "oauth/introspect")
_NO_CLAIM_CHECKS: Any = {
    "verify_signature": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_aud": False,
    "verify_iss": False,
}


def _refused(reason: str) -> OAuthError:
    return INVALID_CLIENT.with_hint("Client authentication failed.").with_debug(reason)


def assertion_client_id(params: dict[str, str]) -> str:
    """The client an assertion claims to be (its ``sub``, RFC 7523 §3), before any check: which keys to try."""
    if params.get("client_assertion_type") != JWT_BEARER_ASSERTION:
        raise INVALID_REQUEST.with_hint(f"client_assertion_type must be {JWT_BEARER_ASSERTION}.")
    assertion = params.get("client_assertion", "")
    if not assertion or len(assertion) > MAX_ASSERTION:
        raise INVALID_REQUEST.with_hint("client_assertion is missing or too long.")
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise _refused("the client assertion is not a JWT") from None
    sub = claims.get("sub") if isinstance(claims, dict) else None
    if not isinstance(sub, str) or not sub or len(sub) > 512:
        raise _refused("the client assertion has no sub")
    return sub


def _candidates(stored: list[StoredCredential], header: dict[str, Any], now: float) -> list[StoredCredential]:
    alg, kid = header.get("alg"), header.get("kid")
    live = [c for c in stored if c.alg == alg and (c.expires_at is None or c.expires_at > now)]
    return [c for c in live if c.kid == kid] if isinstance(kid, str) and kid else live


def _verified_payload(assertion: str, keys: list[StoredCredential], alg: str) -> dict[str, Any]:
    for credential in keys:
        try:
            claims = jwt.decode(assertion, credential.pem, algorithms=[alg], options=_NO_CLAIM_CHECKS)
        except jwt.InvalidSignatureError:
            continue
        except (jwt.PyJWTError, ValueError):
            raise _refused("the client assertion is malformed") from None
        return dict(claims)
    raise _refused("no credential of the application verifies the client assertion's signature")


async def authenticate_assertion(rt: Runtime, client: ClientInfo, params: dict[str, str]) -> ClientInfo:
    """``client`` when its assertion passes every check; ``invalid_client`` otherwise."""
    if client.token_endpoint_auth_method != "private_key_jwt":
        raise _refused("the application does not authenticate with private_key_jwt")
    assertion, now = params["client_assertion"], rt.clock.now()
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError:
        raise _refused("the client assertion is not a signed JWT") from None
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise _refused("the client assertion's alg must be RS256, RS384 or PS256")
    stored = await client_credentials.for_assertion(rt.db, client.client_id, client.assertion_credentials)
    claims = _verified_payload(assertion, _candidates(stored, header, now), str(alg))
    # RFC 7523 §3 #3: the authorization server (its issuer) or the endpoint's URL; the token endpoint's URL is
    # accepted at every endpoint (clients such as Authlib's sign for it when revoking too).
    audiences = (rt.settings.issuer_url, *(rt.settings.url(p) for p in ENDPOINTS))
    problem = claims_problem(claims, Expected(client_id=client.client_id, audiences=audiences, now=now))
    if problem is not None:
        raise _refused(problem)
    key = assertions.assertion_key(f"client:{client.client_id}", str(claims["jti"]))
    if not await assertions.use_once(rt.db, key, float(claims["exp"]) + 60.0, now):
        raise _refused("the client assertion's jti was already used")  # RFC 7523 §3 #7
    return client
