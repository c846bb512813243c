"""Initial access tokens for Dynamic Client Registration (RFC 7591 §3, "protected registration").

Admins create them (``consentry dcr create-token``, ``POST /api/v2/dcr/initial-access-tokens``); a
registration presents one as a Bearer token and uses it up. Only the SHA-256 digest is stored; the
plain token is shown once. Lookup is by digest (an index probe on a hash of a 256-bit secret leaks
nothing useful), and the use is taken with one conditional ``UPDATE`` inside the registration's own
transaction, so a failed registration gives the use back and two racing requests cannot both spend
the last one.
"""

from __future__ import annotations

from typing import Any

from consentry.clock import iso
from consentry.runtime import Runtime
from consentry.services.errors import not_found
from consentry.storage import initial_access_tokens as stored_tokens
from consentry.storage.db import OrmUnit
from consentry.storage.dcr_models import InitialAccessToken
from consentry.tokens import ids

MAX_USES = 100_000


def token_json(row: InitialAccessToken, token: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": row.id,
        "uses_left": row.uses_left,
        "expires_at": iso(row.expires_at),
        "created_at": iso(row.created_at),
    }
    if token:
        body["token"] = token
    return body


async def create_token(rt: Runtime, *, uses: int = 1, expires_in: int = 86400) -> dict[str, Any]:
    """A new token good for ``uses`` registrations within ``expires_in`` seconds (0: no expiry)."""
    if not 1 <= uses <= MAX_USES:
        raise ValueError(f"uses must be between 1 and {MAX_USES}")
    if expires_in < 0:
        raise ValueError("expires_in must be 0 (no expiry) or a positive number of seconds")
    token = ids.secret(32)
    now = rt.clock.now()
    row = InitialAccessToken(
        id=ids.prefixed("iat"),
        token_hash=ids.digest(token),
        uses_left=uses,
        expires_at=now + expires_in if expires_in else None,
        created_at=now,
    )
    async with rt.db.transaction() as s:
        stored_tokens.add_token(s, row)
    return token_json(row, token)


async def consume(rt: Runtime, s: OrmUnit, token: str) -> bool:
    """Spend one use of ``token`` in the caller's transaction; False when unknown, used up or expired."""
    if not token or len(token) > 512:
        return False
    return await stored_tokens.spend_use(s, ids.digest(token), rt.clock.now())


async def list_tokens(rt: Runtime, *, offset: int, limit: int) -> tuple[list[InitialAccessToken], int]:
    return await stored_tokens.tokens_page(rt.db, offset=offset, limit=limit)


async def revoke_token(rt: Runtime, token_id: str) -> None:
    async with rt.db.transaction() as s:
        if not await stored_tokens.delete_token(s, token_id[:64]):
            raise not_found("initial access token", "inexistent_initial_access_token")
