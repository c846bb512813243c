"""The ``sub`` a client sees: the user id, or a pairwise identifier for third-party apps (SPEC C4).

Pairwise subjects are a deterministic encryption (AES-SIV) of the user id bound to the client id,
so each third-party app sees a different, stable ``sub`` and the server can still map it back
(for ``/userinfo``) without a lookup table.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

PREFIX = "pw|"


@lru_cache(maxsize=8)
def _siv(secret: bytes) -> AESSIV:
    """One cipher per key-encryption key and process (deriving it cost more than the encryption)."""
    return AESSIV(hashlib.sha512(b"consentry-pairwise-sub\x00" + secret).digest())


def pairwise(secret: bytes, client_id: str, user_id: str) -> str:
    token = _siv(secret).encrypt(user_id.encode(), [client_id.encode()])
    return PREFIX + base64.urlsafe_b64encode(token).rstrip(b"=").decode()


def resolve(secret: bytes, client_id: str, sub: str) -> str | None:
    """The user id behind ``sub`` as seen by ``client_id`` (plain subjects pass through)."""
    if not sub.startswith(PREFIX):
        return sub
    raw = sub[len(PREFIX) :]
    try:
        data = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        return _siv(secret).decrypt(data, [client_id.encode()]).decode()
    except (InvalidTag, ValueError, UnicodeDecodeError):
        return None
