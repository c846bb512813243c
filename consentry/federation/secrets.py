"""An upstream client secret at rest: encrypted (Fernet) with a key derived from the key-encryption key.

The secret must be sent to the upstream provider, so it cannot be hashed; every server of a deployment shares
the key-encryption key, so each can decrypt it. The Management API never answers it back.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken

PREFIX = "fernet:"
_LABEL = b"consentry/connection-client-secret/v1"


def _fernet(kek: bytes) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hmac.new(kek, _LABEL, hashlib.sha256).digest()))


def seal(kek: bytes, secret: str) -> str:
    return PREFIX + _fernet(kek).encrypt(secret.encode()).decode()


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def unseal(kek: bytes, value: str | None) -> str | None:
    """The plain secret, or None when there is none or it was sealed with another key."""
    if not is_sealed(value):
        return None
    try:
        return _fernet(kek).decrypt(str(value)[len(PREFIX) :].encode()).decode()
    except InvalidToken:
        return None
