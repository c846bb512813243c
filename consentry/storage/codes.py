"""Authorization codes (the ``authorization_codes`` table), stored as digests: what ``/authorize`` writes.

Redemption (read with the user and consent in one select, then one conditional update) is the code grant's
hot path and lives with the refresh grant's in ``storage/redemptions.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Table, insert

from consentry.storage.db import Unit
from consentry.storage.models import AuthorizationCode

_TABLE: Table = AuthorizationCode.__table__  # type: ignore[assignment]
_INSERT = insert(_TABLE)


@dataclass(frozen=True, kw_only=True)
class StoredCode:
    """A new code: its digest and everything the token endpoint will check and put into the tokens."""

    code_hash: str
    client_id: str
    user_id: str
    session_id: str | None
    redirect_uri: str
    scope: list[str]
    audience: str | None
    resource: str | None
    code_challenge: str | None
    nonce: str | None
    auth_time: float
    grant_id: str | None  # the user grant (consent) it was issued under
    created_at: float
    expires_at: float


async def insert_in(unit: Unit, code: StoredCode) -> None:
    """Store the code inside the caller's transaction (with the pending request it completes)."""
    await unit.execute(_INSERT, {**vars(code), "consumed_at": None})
