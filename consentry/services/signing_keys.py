"""Signing keys as Auth0's Management API shows them, plus rotate and revoke (through ``rt.keys``).

The key store owns the key material and its own transactions (``KeyStore.rotate``/``revoke``); this module
only checks the request, renders keys and records audit events.
"""

from __future__ import annotations

import hashlib
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from consentry.clock import iso
from consentry.management.errors import bad_request, not_found
from consentry.runtime import Runtime
from consentry.services import audit
from consentry.storage.models import SigningKey

KEY_ROTATED = "signing_key.rotated"
KEY_REVOKED = "signing_key.revoked"


def key_json(row: SigningKey) -> dict[str, Any]:
    cert = x509.load_pem_x509_certificate(row.cert.encode())
    der = cert.public_bytes(serialization.Encoding.DER)
    sha1 = hashlib.sha1(der).hexdigest()  # noqa: S324 - certificate fingerprints are SHA-1 by convention
    body: dict[str, Any] = {
        "kid": row.kid,
        "cert": row.cert,
        "pkcs7": pkcs7.serialize_certificates([cert], serialization.Encoding.PEM).decode(),
        "fingerprint": ":".join(sha1[i : i + 2] for i in range(0, len(sha1), 2)).upper(),
        "thumbprint": sha1,
        "current": row.state == "current",
        "next": False,
        "previous": row.state == "previous",
        "revoked": row.state == "revoked",
    }
    for field in ("current_since", "current_until", "revoked_at"):
        value = getattr(row, field)
        if value is not None:
            body[field] = iso(value)
    return body


async def list_keys(s: AsyncSession) -> list[SigningKey]:
    return list((await s.scalars(select(SigningKey).order_by(SigningKey.created_at.desc(), SigningKey.kid))).all())


async def get_key(s: AsyncSession, kid: str) -> SigningKey:
    row = await s.get(SigningKey, kid) if len(kid) <= 64 else None
    if row is None:
        raise not_found("signing key", "inexistent_signing_key")
    return row


async def rotate(rt: Runtime, *, actor: str | None) -> SigningKey:
    """A new key signs from now on; the old one stays in the JWKS (``previous``) until revoked."""
    row = await rt.keys.rotate()
    async with rt.db.transaction() as s:
        audit.record(s, rt.clock.now(), KEY_ROTATED, "Signing key rotated", details={"kid": row.kid, "actor": actor})
    return row


async def revoke(rt: Runtime, kid: str, *, actor: str | None) -> SigningKey:
    """Only a previous key can be revoked (rotate first); it leaves the JWKS at once in this process."""
    async with rt.db.read() as s:
        row = await get_key(s, kid)
    if row.state == "current":
        raise bad_request("The current signing key cannot be revoked; rotate the keys first.", "invalid_key_state")
    if row.state == "revoked":
        raise bad_request("The signing key is already revoked.", "invalid_key_state")
    revoked = await rt.keys.revoke(kid)
    if revoked is None or revoked.state != "revoked":
        raise bad_request("The signing key cannot be revoked in its current state.", "invalid_key_state")
    async with rt.db.transaction() as s:
        audit.record(s, rt.clock.now(), KEY_REVOKED, "Signing key revoked", details={"kid": kid, "actor": actor})
    return revoked
