"""Validating an Identity Assertion JWT Authorization Grant (draft-ietf-oauth-identity-assertion-authz-grant).

Pure: the caller finds the issuer's connection and JWKS, then ``validate`` checks the header ``typ``
(``oauth-id-jag+jwt``, §3.1), the signature (an asymmetric algorithm the connection allows, a key of the
issuer's JWKS), and the claims: ``iss`` the issuer, ``aud`` our issuer (§3.1), ``client_id`` the authenticated
client (§4.3), ``sub``, ``jti``, ``iat`` not in the future and ``exp`` in the future and at most
``max_lifetime`` after ``iat`` (short-lived). Replay of ``jti`` is checked by the caller's table.
Each failure raises ``AssertionInvalid`` naming the check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jwt

from consentry.federation.id_token import ALLOWED_ALGS, IdTokenInvalid, verified_claims

TYP = "oauth-id-jag+jwt"
MAX_LIFETIME = 300.0  # seconds between iat and exp
LEEWAY = 30.0


class AssertionInvalid(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class JagExpected:
    issuer: str
    audience: str  # our issuer
    client_id: str
    algs: tuple[str, ...]
    now: float
    max_lifetime: float = MAX_LIFETIME
    leeway: float = LEEWAY


def unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) before any check: the issuer names the connection whose keys verify it."""
    try:
        return jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise AssertionInvalid("the assertion is not a signed JWT") from None


def check_typ(header: dict[str, Any]) -> None:
    if str(header.get("typ", "")).lower() != TYP:
        raise AssertionInvalid(f"the assertion's typ must be {TYP}")


def check_alg(header: dict[str, Any], expected: JagExpected) -> None:
    if header.get("alg") not in ALLOWED_ALGS or header.get("alg") not in expected.algs:
        raise AssertionInvalid("the assertion's alg is not allowed")


def check_claims(claims: dict[str, Any], expected: JagExpected) -> None:
    """Every claim rule of §3.1 and §4.3, in order."""
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if claims.get("iss") != expected.issuer:
        raise AssertionInvalid("the assertion's iss is not a trusted issuer")
    if expected.audience not in audiences:
        raise AssertionInvalid("the assertion's aud is not this authorization server")
    if claims.get("client_id") != expected.client_id:
        raise AssertionInvalid("the assertion's client_id is not the authenticated client")
    for name in ("sub", "jti"):
        value = claims.get(name)
        if not isinstance(value, str) or not value or len(value) > 200:
            raise AssertionInvalid(f"the assertion has no usable {name}")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (exp, iat)):
        raise AssertionInvalid("the assertion needs numeric exp and iat")
    assert isinstance(exp, int | float) and isinstance(iat, int | float)
    if exp + expected.leeway <= expected.now:
        raise AssertionInvalid("the assertion has expired")
    if iat > expected.now + expected.leeway:
        raise AssertionInvalid("the assertion's iat is in the future")
    if exp - iat > expected.max_lifetime:
        raise AssertionInvalid(f"the assertion lives longer than {int(expected.max_lifetime)} seconds")


def validate(token: str, header: dict[str, Any], jwks: dict[str, Any], expected: JagExpected) -> dict[str, Any]:
    check_typ(header)
    check_alg(header, expected)
    try:
        claims = verified_claims(token, header, jwks)
    except IdTokenInvalid as exc:
        raise AssertionInvalid(exc.reason.replace("ID token", "assertion")) from None
    check_claims(claims, expected)
    return claims
