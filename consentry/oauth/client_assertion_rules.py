"""The claim rules of a ``private_key_jwt`` client assertion (RFC 7523 §3, as used by §2.2; OIDC Core §9).

Pure: ``claims_problem`` takes the verified payload and what is expected, and names the first rule it breaks
(None: it satisfies all). The replay of ``jti`` is checked by the caller against the ``used_assertions`` table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ("RS256", "RS384", "PS256")  # Auth0's client credential algorithms
LEEWAY = 30.0
MAX_LIFETIME = 3600.0  # seconds from now to exp: bounds how long a jti must be remembered


@dataclass(frozen=True, kw_only=True)
class Expected:
    client_id: str
    audiences: tuple[str, ...]  # the issuer and the endpoint URLs an assertion may name
    now: float
    leeway: float = LEEWAY
    max_lifetime: float = MAX_LIFETIME


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def claims_problem(claims: dict[str, Any], expected: Expected) -> str | None:
    """The first rule ``claims`` breaks, in the RFC's order, or None."""
    if claims.get("iss") != expected.client_id:  # RFC 7523 §3 #1 (client authentication: iss is the client_id)
        return "the assertion's iss must be the client_id"
    if claims.get("sub") != expected.client_id:  # RFC 7523 §3 #2.B: sub is the client_id
        return "the assertion's sub must be the client_id"
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if not any(a in expected.audiences for a in audiences if isinstance(a, str)):  # RFC 7523 §3 #3
        return "the assertion's aud must be the issuer or the token endpoint"
    exp = claims.get("exp")
    if not _number(exp):  # RFC 7523 §3 #4: exp is required
        return "the assertion has no numeric exp"
    assert isinstance(exp, int | float)
    if exp + expected.leeway <= expected.now:
        return "the assertion has expired"
    if exp - expected.now > expected.max_lifetime + expected.leeway:
        return f"the assertion's exp is more than {int(expected.max_lifetime)} seconds away"
    nbf, iat = claims.get("nbf"), claims.get("iat")
    if nbf is not None and (not _number(nbf) or nbf > expected.now + expected.leeway):  # RFC 7523 §3 #5
        return "the assertion is not valid yet (nbf)"
    if iat is not None and (not _number(iat) or iat > expected.now + expected.leeway):  # RFC 7523 §3 #6
        return "the assertion's iat is in the future"
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 200:  # RFC 7523 §3 #7; OIDC Core §9 requires jti
        return "the assertion has no usable jti"
    return None
