"""Standard Webhooks signatures (https://www.standardwebhooks.com/) and the secrets they are made with.

A secret is ``whsec_`` + base64 of 32 random bytes. Each delivery carries ``webhook-id``, ``webhook-timestamp``
(epoch seconds of the attempt) and ``webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">``. The
secret is needed again for every delivery, so it is stored encrypted (Fernet, a key derived from the server's
key-encryption key with HKDF), never in clear and never logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for one attempt."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, msg_id, timestamp, body),
    }


def _fernet(kek: bytes) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"consentry/webhook-secret/v1").derive(kek)
    return Fernet(base64.urlsafe_b64encode(key))


def seal(kek: bytes, secret: str) -> str:
    """The stored form of a secret."""
    return _fernet(kek).encrypt(secret.encode()).decode()


def unseal(kek: bytes, sealed: str) -> str:
    return _fernet(kek).decrypt(sealed.encode()).decode()
