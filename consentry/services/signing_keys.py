"""Signing keys as Auth0's Management API shows them, plus rotate and revoke (through ``rt.keys``).

The key store owns the key material and its own transactions (``KeyStore.rotate``/``revoke``), the allowed
transitions are ``consentry.tokens.key_states``; this module renders keys, turns refused transitions into
Auth0-shaped errors and records audit events.
"""

from __future__ import annotations

import hashlib
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7

from consentry.clock import iso
from consentry.runtime import Runtime
from consentry.services import audit
from consentry.services.errors import invalid, not_found
from consentry.storage import signing_keys as stored_keys
from consentry.storage.db import OrmUnit
from consentry.storage.models import SigningKey
from consentry.tokens.key_states import CURRENT, NEXT, PREVIOUS, REVOKED, KeyStateError

KEY_ROTATED = "signing_key.rotated"
KEY_REVOKED = "signing_key.revoked"


def key_json(row: SigningKey) -> dict[str, Any]:
    cert = x509.load_pem_x509_certificate(row.cert.encode())
    der = cert.public_bytes(serialization.Encoding.DER)
    sha1 = hashlib.sha1(der).hexdigest()  # noqa: S324 - certificate fingerprints are SHA-1 by convention
    body: dict[str, Any] = {
        "kid": row.kid,
        "alg": row.alg,  # Consentry: the key's ring (RS256, or ES256 once an API opted in)
        "cert": row.cert,
        "pkcs7": pkcs7.serialize_certificates([cert], serialization.Encoding.PEM).decode(),
        "fingerprint": ":".join(sha1[i : i + 2] for i in range(0, len(sha1), 2)).upper(),
        "thumbprint": sha1,
        "current": row.state == CURRENT,
        "next": row.state == NEXT,
        "previous": row.state == PREVIOUS,
        "revoked": row.state == REVOKED,
    }
    for field in ("current_since", "current_until", "revoked_at"):
        value = getattr(row, field)
        if value is not None:
            body[field] = iso(value)
    return body


async def list_keys(s: OrmUnit) -> list[SigningKey]:
    return await stored_keys.newest_first_in(s)


async def get_key(s: OrmUnit, kid: str) -> SigningKey:
    row = await stored_keys.get_in(s, kid) if len(kid) <= 64 else None
    if row is None:
        raise not_found("signing key", "inexistent_signing_key")
    return row


async def rotate(rt: Runtime, *, actor: str | None) -> SigningKey:
    """The next key (published since the last rotation) signs from now on; the old one stays in the JWKS
    (``previous``) until revoked; a new next key is published. Returns the key that now signs."""
    row = await rt.keys.rotate()
    async with rt.db.transaction() as s:
        audit.record(s, rt.clock.now(), KEY_ROTATED, "Signing key rotated", details={"kid": row.kid, "actor": actor})
    return row


async def revoke(rt: Runtime, kid: str, *, actor: str | None) -> SigningKey:
    """Only a previous key can be revoked (not the current or the next one, as in Auth0); it leaves the JWKS
    at once in this process."""
    async with rt.db.read() as s:
        await get_key(s, kid)  # the 404 for an unknown or overlong kid
    try:
        revoked = await rt.keys.revoke(kid)
    except KeyStateError as exc:
        raise invalid(str(exc), "invalid_key_state") from None
    if revoked is None:  # deleted meanwhile (keys are never deleted by Consentry)
        raise not_found("signing key", "inexistent_signing_key")
    async with rt.db.transaction() as s:
        audit.record(s, rt.clock.now(), KEY_REVOKED, "Signing key revoked", details={"kid": kid, "actor": actor})
    return revoked
