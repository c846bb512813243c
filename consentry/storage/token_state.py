"""What decides, now, whether an access token minted earlier is still live: one read per check.

The user (blocked? which connection?), the user grant the token names (gone? expired? which scopes now?) and whether
the refresh-token family it names was revoked (``tokens.liveness``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Table, and_, bindparam, exists, select

from consentry.storage.db import Database
from consentry.storage.models import RefreshToken, User, UserGrant

_USERS: Table = User.__table__  # type: ignore[assignment]
_GRANTS: Table = UserGrant.__table__  # type: ignore[assignment]
_FAMILIES: Table = RefreshToken.__table__  # type: ignore[assignment]
_family_revoked = exists().where(_FAMILIES.c.family_id == bindparam("family"), _FAMILIES.c.revoked_at.is_not(None))
_READ = (
    select(
        _USERS.c.blocked,
        _USERS.c.connection_id,
        _GRANTS.c.id.label("grant_id"),
        _GRANTS.c.scope.label("grant_scope"),
        _GRANTS.c.expires_at.label("grant_expires_at"),
        _family_revoked.label("family_revoked"),
    )
    .select_from(
        _USERS.outerjoin(_GRANTS, and_(_GRANTS.c.id == bindparam("grant"), _GRANTS.c.user_id == _USERS.c.user_id))
    )
    .where(_USERS.c.user_id == bindparam("user"))
)


@dataclass(frozen=True)
class TokenState:
    blocked: bool
    connection_id: str
    grant_id: str | None  # None: the named grant no longer exists (or none was named)
    grant_scope: list[str] | None
    family_revoked: bool
    grant_expires_at: float | None = None  # the end of the access the user chose (None: until revoked)


async def read(db: Database, user_id: str, grant_id: str, family_id: str) -> TokenState | None:
    """The state for a token of ``user_id`` naming ``grant_id`` and ``family_id`` ("" for none); None when the
    user no longer exists."""
    async with db.connect() as conn:
        row = (await conn.execute(_READ, {"user": user_id, "grant": grant_id, "family": family_id})).first()
    if row is None:
        return None
    return TokenState(
        bool(row.blocked),
        row.connection_id,
        row.grant_id,
        row.grant_scope,
        bool(row.family_revoked),
        row.grant_expires_at,
    )
