"""Validating an upstream provider's ID token (OpenID Connect Core §3.1.3.7). Pure: no I/O, ``now`` injected.

Every check raises ``IdTokenInvalid`` with a reason that names the check (the callback shows a generic page
and audits the reason). The signature is verified by PyJWT with a key from the provider's JWKS and an algorithm
from an allow-list (asymmetric only: ``none`` and HMAC are never accepted); ``UnknownKey`` tells the caller to
fetch the JWKS once more (the provider may have rotated its keys).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

import jwt
from jwt.types import Options

ALLOWED_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
_KTY = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}
LEEWAY = 60.0  # seconds of clock skew tolerated on exp and iat
MAX_SUB = 200  # ``oidc|<connection name>|<sub>`` must fit the 255 characters of users.user_id


class IdTokenInvalid(Exception):
    """The ID token fails a check; ``reason`` names which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnknownKey(IdTokenInvalid):
    """No key of the JWKS matches the token's ``kid``."""


@dataclass(frozen=True)
class Expected:
    """What this sign-in's ID token must say."""

    issuer: str
    client_id: str
    nonce: str
    algs: tuple[str, ...]
    now: float
    leeway: float = LEEWAY


def _header(token: str, expected: Expected) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise IdTokenInvalid("the ID token is not a signed JWT") from None
    alg = header.get("alg")
    if alg not in ALLOWED_ALGS or alg not in expected.algs:  # OIDC Core §3.1.3.7 #7: the expected alg only
        raise IdTokenInvalid(f"the ID token's alg {str(alg)[:20]!r} is not allowed")
    return header


def candidates(header: dict[str, Any], jwks: dict[str, Any]) -> list[Any]:
    """The JWKS keys that may have signed a token with this header, as PyJWT keys."""
    alg, kid = header["alg"], header.get("kid")
    found = []
    for jwk in jwks.get("keys") or []:
        if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig" or jwk.get("kty") != _KTY[alg[:2]]:
            continue
        if (kid is not None and jwk.get("kid") != kid) or jwk.get("alg", alg) != alg:
            continue
        try:
            found.append(jwt.PyJWK(jwk, algorithm=alg).key)
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            continue
    if not found:
        raise UnknownKey("no key of the provider's JWKS matches the ID token's kid")
    return found


def verified_claims(token: str, header: dict[str, Any], jwks: dict[str, Any]) -> dict[str, Any]:
    """The payload, once one candidate key verifies the signature (claims are checked below, with our clock)."""
    off: Options = {
        "verify_exp": False,
        "verify_nbf": False,
        "verify_iat": False,
        "verify_aud": False,
        "verify_iss": False,
    }
    for key in candidates(header, jwks):
        try:
            claims = jwt.decode(token, key, algorithms=[header["alg"]], options={**off, "verify_signature": True})
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError:
            raise IdTokenInvalid("the ID token is malformed") from None
        return claims
    raise IdTokenInvalid("the ID token's signature does not verify")


def check_issuer(claims: dict[str, Any], expected: Expected) -> None:
    """§3.1.3.7 #2: ``iss`` is exactly the provider's issuer."""
    if claims.get("iss") != expected.issuer:
        raise IdTokenInvalid("the ID token's iss is not the connection's issuer")


def check_audience(claims: dict[str, Any], expected: Expected) -> None:
    """§3.1.3.7 #3-#5: our client id is an audience; with several, ``azp`` must be our client id."""
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if expected.client_id not in audiences:
        raise IdTokenInvalid("the ID token's aud is not the connection's client_id")
    azp = claims.get("azp")
    if (len(audiences) > 1 or azp is not None) and azp != expected.client_id:
        raise IdTokenInvalid("the ID token's azp is not the connection's client_id")


def check_expiry(claims: dict[str, Any], expected: Expected) -> None:
    """§3.1.3.7 #9: ``exp`` is a number in the future (with leeway)."""
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise IdTokenInvalid("the ID token has no exp")
    if exp + expected.leeway <= expected.now:
        raise IdTokenInvalid("the ID token has expired")


def check_issued_at(claims: dict[str, Any], expected: Expected) -> None:
    """§3.1.3.7 #10: ``iat`` is a number, not in the future (with leeway)."""
    iat = claims.get("iat")
    if not isinstance(iat, int | float) or isinstance(iat, bool):
        raise IdTokenInvalid("the ID token has no iat")
    if iat > expected.now + expected.leeway:
        raise IdTokenInvalid("the ID token's iat is in the future")


def check_nonce(claims: dict[str, Any], expected: Expected) -> None:
    """§3.1.3.7 #11: the ``nonce`` we sent for this sign-in (replay protection)."""
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not hmac.compare_digest(nonce.encode(), expected.nonce.encode()):
        raise IdTokenInvalid("the ID token's nonce is not the one sent for this sign-in")


def check_subject(claims: dict[str, Any], _expected: Expected) -> None:
    """§2: ``sub`` is a non-empty string; it names the user at the provider."""
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > MAX_SUB or not sub.isprintable():
        raise IdTokenInvalid("the ID token's sub is missing or unusable")


CLAIM_CHECKS = (check_issuer, check_audience, check_expiry, check_issued_at, check_nonce, check_subject)


def validate(token: str, jwks: dict[str, Any], expected: Expected) -> dict[str, Any]:
    """The ID token's claims once its signature and every claim check pass."""
    header = _header(token, expected)
    claims = verified_claims(token, header, jwks)
    for check in CLAIM_CHECKS:
        check(claims, expected)
    return claims
