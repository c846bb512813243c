"""Opaque random identifiers and secrets (at least 128 bits each) and how they are stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string

_ALNUM = string.ascii_letters + string.digits


def random_alnum(length: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def client_id(third_party: bool) -> str:
    """32 alphanumerics (~190 bits); strict third-party apps are prefixed ``tpc_``."""
    return ("tpc_" if third_party else "") + random_alnum(32)


def prefixed(prefix: str) -> str:
    """``cgr_…``, ``con_…``, ``ugr_…``: a prefix and 24 alphanumerics (~143 bits)."""
    return f"{prefix}_{random_alnum(24)}"


def hex_id(nbytes: int = 16) -> str:
    return secrets.token_hex(nbytes)


def secret(nbytes: int = 48) -> str:
    """A high-entropy secret or token (URL-safe)."""
    return secrets.token_urlsafe(nbytes)


def digest(value: str) -> str:
    """Storage form of a high-entropy secret/token: SHA-256 hex (no need for a slow hash at 256 bits)."""
    return hashlib.sha256(value.encode()).hexdigest()


def matches(value: str | None, stored_digest: str | None) -> bool:
    """Constant-time check of a presented secret against its stored digest."""
    if not value or not stored_digest:
        return False
    return hmac.compare_digest(digest(value), stored_digest)
