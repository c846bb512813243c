"""An application's client credentials: the PEM public keys its ``private_key_jwt`` assertions are signed with.

A key is an RSA public key of at least 2048 bits; its ``kid`` is its RFC 7638 thumbprint. An application holds at
most ``MAX_PER_CLIENT`` (Auth0's limit); deleting a credential also removes it from the application's
``client_authentication_methods``, in the same transaction.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key
from jwt.algorithms import RSAAlgorithm

from consentry.clock import iso
from consentry.commands.client_credentials import CredentialCreate, CredentialUpdate
from consentry.runtime import Runtime
from consentry.services import audit
from consentry.services.clients import get_client
from consentry.services.errors import conflict, invalid, not_found
from consentry.storage import client_credentials as store
from consentry.storage.client_credentials import StoredCredential
from consentry.storage.db import OrmUnit
from consentry.tokens import ids

MAX_PER_CLIENT = 2
CREDENTIAL_CREATED = "client.credential_created"
CREDENTIAL_DELETED = "client.credential_deleted"
MIN_RSA_BITS = 2048


def credential_json(c: StoredCredential) -> dict[str, Any]:
    """Auth0's client credential object (the key itself is never answered back)."""
    body: dict[str, Any] = {
        "id": c.id,
        "name": c.name or "",
        "kid": c.kid,
        "alg": c.alg,
        "credential_type": c.credential_type,
        "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at),
    }
    if c.expires_at is not None:
        body["expires_at"] = iso(c.expires_at)
    return body


def _public_key(pem: str) -> tuple[str, str]:
    """(normalised PEM, RFC 7638 thumbprint) of an RSA public key, or a 400."""
    try:
        key = load_pem_public_key(pem.strip().encode())
    except (ValueError, TypeError):
        raise invalid("pem must be a PEM-encoded public key (-----BEGIN PUBLIC KEY-----).") from None
    if not isinstance(key, RSAPublicKey):
        raise invalid("pem must be an RSA public key (alg RS256, RS384 or PS256).")
    if key.key_size < MIN_RSA_BITS:
        raise invalid(f"pem must be an RSA key of at least {MIN_RSA_BITS} bits.")
    normal = key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    jwk = RSAAlgorithm.to_jwk(key, as_dict=True)
    members = orjson.dumps({"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, option=orjson.OPT_SORT_KEYS)  # RFC 7638 §3
    return normal, base64.urlsafe_b64encode(hashlib.sha256(members).digest()).rstrip(b"=").decode()


def _epoch(value: datetime | None, now: float) -> float | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise invalid("expires_at must be an ISO 8601 date with a time zone.")
    at = value.timestamp()
    if at <= now:
        raise invalid("expires_at must be in the future.")
    return at


async def create(rt: Runtime, s: OrmUnit, client_id: str, body: CredentialCreate) -> StoredCredential:
    await get_client(s, client_id)
    if len(await store.list_in(s, client_id)) >= MAX_PER_CLIENT:
        raise conflict(f"An application holds at most {MAX_PER_CLIENT} credentials.", "too_many_credentials")
    pem, kid = _public_key(body.pem)
    now = rt.clock.now()
    credential = StoredCredential(
        id=ids.prefixed("cred"),
        client_id=client_id,
        name=body.name,
        credential_type=body.credential_type,
        kid=kid,
        alg=body.alg,
        pem=pem,
        created_at=now,
        updated_at=now,
        expires_at=_epoch(body.expires_at, now),
    )
    await store.insert_in(s, credential)
    audit.record(
        s,
        now,
        CREDENTIAL_CREATED,
        f"Client credential '{body.name or kid}' created",
        client_id=client_id,
        details={"credential_id": credential.id, "kid": kid},
    )
    return credential


async def list_for(s: OrmUnit, client_id: str) -> list[StoredCredential]:
    await get_client(s, client_id)
    return await store.list_in(s, client_id)


async def get(s: OrmUnit, client_id: str, credential_id: str) -> StoredCredential:
    found = await store.get_in(s, client_id, credential_id[:64]) if len(client_id) <= 255 else None
    if found is None:
        raise not_found("credential", "inexistent_credential")
    return found


async def update(
    rt: Runtime, s: OrmUnit, client_id: str, credential_id: str, body: CredentialUpdate
) -> StoredCredential:
    await get(s, client_id, credential_id)
    now = rt.clock.now()
    await store.set_expiry_in(s, client_id, credential_id, _epoch(body.expires_at, now), now)
    return await get(s, client_id, credential_id)


async def delete(rt: Runtime, s: OrmUnit, client_id: str, credential_id: str) -> None:
    """Delete the key and take it off the application's ``private_key_jwt`` list."""
    await get(s, client_id, credential_id)
    row = await get_client(s, client_id)
    attrs = dict(row.attributes or {})
    methods = dict(attrs.get("client_authentication_methods") or {})
    listed = (methods.get("private_key_jwt") or {}).get("credentials") or []
    kept = [c for c in listed if isinstance(c, dict) and c.get("id") != credential_id]
    if len(kept) != len(listed):
        if kept:
            attrs["client_authentication_methods"] = {**methods, "private_key_jwt": {"credentials": kept}}
        else:
            attrs.pop("client_authentication_methods", None)
        row.attributes = attrs
    await store.delete_in(s, client_id, credential_id)
    audit.record(
        s,
        rt.clock.now(),
        CREDENTIAL_DELETED,
        "Client credential deleted",
        client_id=client_id,
        details={"credential_id": credential_id},
    )
