"""Minting an Identity Assertion JWT Authorization Grant as the enterprise IdP (draft-ietf-oauth-identity-assertion-
authz-grant §3.1): a JWT with header ``typ: oauth-id-jag+jwt`` signed with this server's keys, short-lived.

``claims`` is pure; the grant (``oauth.grants.id_jag_exchange``) decides what goes in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from consentry.federation.id_jag import TYP
from consentry.tokens import ids
from consentry.tokens.jwt import sign
from consentry.tokens.keys import KeyStore

LIFETIME = 300  # seconds: the resource AS accepts at most federation.id_jag.MAX_LIFETIME


@dataclass(frozen=True)
class JagContent:
    issuer: str  # this server
    sub: str  # the user, as the resource AS's login client here sees them
    audience: str  # the resource authorization server's issuer
    client_id: str  # the requesting app's client_id at the resource AS
    scopes: tuple[str, ...]
    resource: str  # "" for none
    auth_time: int | None
    amr: tuple[str, ...]


def claims(content: JagContent, now: float, jti: str, lifetime: int = LIFETIME) -> dict[str, Any]:
    iat = int(now)
    body: dict[str, Any] = {
        "iss": content.issuer,
        "sub": content.sub,
        "aud": content.audience,
        "client_id": content.client_id,
        "jti": jti,
        "iat": iat,
        "exp": iat + lifetime,
    }
    if content.resource:
        body["resource"] = content.resource
    if content.scopes:
        body["scope"] = " ".join(content.scopes)
    if content.auth_time is not None:
        body["auth_time"] = content.auth_time
    if content.amr:
        body["amr"] = list(content.amr)
    return body


async def mint(keys: KeyStore, content: JagContent, now: float) -> tuple[str, dict[str, Any]]:
    body = claims(content, now, ids.secret(16))
    return await sign(keys, body, TYP), body
