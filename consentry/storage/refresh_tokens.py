"""Refresh tokens (the ``refresh_tokens`` table), stored as digests in rotation families.

Revoking families is one statement for every path that does it (reuse, a replayed code, a refused refresh,
``/oauth/revoke``, a revoked user grant). A revoked family also ends its access tokens (``tokens.liveness``
checks the ``family_id`` claim against it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Table, bindparam, case, func, insert, select, update

from consentry.storage.db import Database, Unit
from consentry.storage.models import RefreshToken, User

TABLE: Table = RefreshToken.__table__  # type: ignore[assignment]
STORE = insert(TABLE)  # built once (performance.md)


_FIND = (
    select(TABLE, User.blocked.label("user_blocked"))
    .join(User, User.user_id == TABLE.c.user_id)
    .where(TABLE.c.token_hash == bindparam("digest"))
)


@dataclass(frozen=True, kw_only=True)
class StoredRefreshToken:
    """A refresh token as stored (its digest, never the token), and whether its user is blocked now."""

    id: str
    token_hash: str
    family_id: str
    client_id: str
    user_id: str
    audience: str | None
    scope: list[str]
    grant_id: str | None
    session_id: str | None
    code_hash: str | None
    auth_time: float
    created_at: float
    expires_at: float
    family_expires_at: float | None
    rotated_at: float | None
    revoked_at: float | None
    user_blocked: bool


async def find(db: Database, digest: str) -> StoredRefreshToken | None:
    """The refresh token with this digest (live or not), or None (also when its user is gone)."""
    async with db.connect() as conn:
        row = (await conn.execute(_FIND, {"digest": digest})).first()
    if row is None:
        return None
    values = dict(row._mapping)
    values["scope"], values["user_blocked"] = list(values["scope"] or []), bool(values["user_blocked"])
    return StoredRefreshToken(**values)


async def store_in(unit: Unit, row: dict[str, Any]) -> None:
    await unit.execute(STORE, row)


async def _revoke(unit: Unit, now: float, where: ColumnElement[bool]) -> int:
    live = RefreshToken.revoked_at.is_(None)
    result = await unit.execute(update(RefreshToken).where(where, live).values(revoked_at=now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def revoke_family_in(unit: Unit, now: float, family_id: str) -> int:
    """Revoke every live token of one family; returns how many."""
    return await _revoke(unit, now, RefreshToken.family_id == family_id)


async def revoke_code_families_in(unit: Unit, now: float, code_hash: str) -> int:
    """Revoke the families that began with an authorization code (the code was replayed)."""
    families = select(RefreshToken.family_id).where(RefreshToken.code_hash == code_hash)
    return await _revoke(unit, now, RefreshToken.family_id.in_(families))


async def revoke_grant_families_in(unit: Unit, now: float, grant_id: str) -> int:
    """Revoke every token issued under a user grant (the grant was revoked)."""
    return await _revoke(unit, now, RefreshToken.grant_id == grant_id)


async def revoke_user_families_in(unit: Unit, now: float, user_id: str) -> int:
    """Revoke every refresh token of a user (the Management API's ``DELETE /users/{id}/refresh-tokens``)."""
    return await _revoke(unit, now, RefreshToken.user_id == user_id)


@dataclass(frozen=True, kw_only=True)
class LiveFamily:
    """One rotation family with a live token: one device or install of an app (the connected-apps page)."""

    family_id: str
    grant_id: str
    created_at: float  # the family's first token (the sign-in on that device)
    last_used_at: float  # its newest token (the last refresh)
    expires_at: float  # when its live token expires unless refreshed


async def live_families(unit: Unit, grant_ids: list[str], now: float) -> list[LiveFamily]:
    """The families of these grants that still hold a live token, newest use first."""
    if not grant_ids:
        return []
    live = RefreshToken.revoked_at.is_(None) & RefreshToken.rotated_at.is_(None) & (RefreshToken.expires_at > now)
    query = (
        select(
            RefreshToken.family_id,
            RefreshToken.grant_id,
            func.min(RefreshToken.created_at),
            func.max(RefreshToken.created_at),
            func.max(case((live, RefreshToken.expires_at), else_=None)),
        )
        .where(RefreshToken.grant_id.in_(grant_ids))
        .group_by(RefreshToken.family_id, RefreshToken.grant_id)
        .having(func.max(case((live, 1), else_=0)) == 1)
        .order_by(func.max(RefreshToken.created_at).desc(), RefreshToken.family_id)
    )
    rows = (await unit.execute(query)).all()
    return [
        LiveFamily(family_id=f, grant_id=g, created_at=float(c), last_used_at=float(u), expires_at=float(e))
        for f, g, c, u, e in rows
    ]


async def family_grant(unit: Unit, family_id: str, user_id: str) -> str | None:
    """The grant a family of this user's was issued under (None: not this user's, or not under a grant)."""
    query = (
        select(RefreshToken.grant_id)
        .where(RefreshToken.family_id == family_id, RefreshToken.user_id == user_id)
        .limit(1)
    )
    found = (await unit.execute(query)).scalar()
    return str(found) if found else None
