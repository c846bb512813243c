"""Signing and verifying Consentry's JWTs (RS256, and ES256 for the APIs that opt in; ``alg: none`` and HMAC are
never accepted, and a token verifies only with a key of the algorithm its header names)."""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any

import jwt
from jwt.types import Options

from consentry.tokens import ids
from consentry.tokens.keys import ALGORITHMS, RS256, KeyStore, LoadedKey

NOT_PERMISSIONS = frozenset({"openid", "profile", "email", "offline_access"})  # scopes that are no API's permission
LEEWAY = 30  # seconds of clock skew tolerated when checking exp/iat/nbf


class TokenInvalid(Exception):
    """The token is malformed, forged, expired or meant for someone else."""


async def sign(keys: KeyStore, claims: dict[str, Any], typ: str = "JWT", alg: str = RS256) -> str:
    return sign_with(await keys.signing_key(alg), claims, typ)


def sign_with(key: LoadedKey, claims: dict[str, Any], typ: str = "JWT") -> str:
    """Sign with a key already fetched: no I/O, so it can run inside a transaction (a pool of one connection)."""
    assert key.private_key is not None  # signing_key() answers the key that signs
    return jwt.encode(claims, key.private_key, algorithm=key.alg, headers={"kid": key.kid, "typ": typ})


def permissions_claim(dialect: str, scope: str) -> dict[str, list[str]]:
    """Auth0's ``*_authz`` dialects carry a ``permissions`` claim: the token's API scopes. (Auth0 lists every
    permission the user holds for the API; Consentry lists what this token was granted, never more than its
    ``scope``, so a third-party app's token does not claim what the user did not consent to.)"""
    if not dialect.endswith("_authz"):
        return {}
    return {"permissions": [s for s in scope.split() if s not in NOT_PERMISSIONS]}


def access_token_typ(dialect: str) -> str:
    """RFC 9068 profile → ``at+jwt``; Auth0's own dialect → ``JWT``."""
    return "at+jwt" if dialect.startswith("rfc9068") else "JWT"


async def issue_access_token(
    keys: KeyStore,
    *,
    issuer: str,
    sub: str,
    audience: str | list[str],
    client_id: str,
    scope: str,
    now: float,
    lifetime: int,
    dialect: str = "rfc9068_profile",
    extra: dict[str, Any] | None = None,
    alg: str = RS256,
) -> tuple[str, dict[str, Any]]:
    """An access token for ``audience``, signed in the ring of the API's ``signing_alg``."""
    iat = int(now)
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": sub,
        "aud": audience,
        "iat": iat,
        "exp": iat + lifetime,
        "jti": ids.secret(16),
        "client_id": client_id,
        "azp": client_id,
        "scope": scope,
        **permissions_claim(dialect, scope),
    }
    if extra:
        claims.update(extra)
    return await sign(keys, claims, access_token_typ(dialect), alg), claims


def half_hash(value: str) -> str:
    """``at_hash``/``c_hash``: left half of SHA-256, base64url (OIDC Core §3.1.3.6)."""
    digest = hashlib.sha256(value.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


VERIFIED_MAX = 1024  # tokens whose verification a process remembers (~3 KB each: ~3 MB at most)


async def verify(
    keys: KeyStore,
    token: str,
    *,
    issuer: str,
    audience: str | None = None,
    require: tuple[str, ...] = ("exp", "iat", "sub"),
    typ: frozenset[str] | None = None,
) -> dict[str, Any]:
    """Verify signature, ``iss``, ``exp``, (when given) ``aud`` and the header's ``typ`` (one of ``typ``,
    compared in lower case); return the claims.

    A token that verified is remembered until ``exp`` + leeway (resource servers introspect the same
    token on every call): the outcome cannot change before then, except through the key set, and
    ``KeyStore`` forgets every remembered token when its keys change (rotation, revocation). A remembered token
    is answered without parsing it again (its header included: decoding a token costs more than the lookup).
    """
    memo_key = (token, issuer, audience, require)
    hit = keys.verified.get(memo_key)
    if hit is not None and time.time() <= hit[0] and await keys.public_key(hit[1]) is not None:
        _check_typ(hit[2], typ)
        return dict(hit[3])
    header, claims = await _verify(keys, token, issuer=issuer, audience=audience, require=require)
    _check_typ(header.get("typ"), typ)
    exp = claims.get("exp")
    if isinstance(exp, int | float) and not isinstance(exp, bool):
        if len(keys.verified) >= VERIFIED_MAX:
            keys.verified.clear()
        keys.verified[memo_key] = (exp + LEEWAY, header["kid"], header.get("typ"), dict(claims))
    return claims


def _check_typ(found: Any, allowed: frozenset[str] | None) -> None:
    if allowed is not None and (not isinstance(found, str) or found.lower() not in allowed):
        raise TokenInvalid("unexpected token type")


async def _verify(
    keys: KeyStore, token: str, *, issuer: str, audience: str | None, require: tuple[str, ...]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and the claims of a token that verified."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise TokenInvalid("malformed token") from exc
    kid, alg = header.get("kid"), header.get("alg")
    if alg not in ALGORITHMS or not isinstance(kid, str) or len(kid) > 128:
        raise TokenInvalid("unsupported token header")
    key = await keys.key(kid)
    if key is None:
        raise TokenInvalid("unknown signing key")
    if key.alg != alg:
        raise TokenInvalid("the token's alg is not its key's")
    options: Options = {"require": list(require), "verify_aud": audience is not None}
    try:
        claims = jwt.decode(
            token,
            key.public_key,
            algorithms=[key.alg],
            audience=audience,
            issuer=issuer,
            leeway=LEEWAY,
            options=options,
        )
    except jwt.PyJWTError as exc:
        raise TokenInvalid(str(exc)) from exc
    return header, claims
