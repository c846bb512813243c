"""A user's refresh tokens as the Management API lists them: one entry per live rotation family.

The entry's id is the family id (deleting it revokes the whole family, ``storage.refresh_tokens``). A family is
live while one of its tokens is unrevoked and unexpired. Keyset paging on the family id (``after`` exclusive).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from consentry.storage.db import Database
from consentry.storage.models import RefreshToken


@dataclass(frozen=True, kw_only=True)
class FamilyView:
    id: str  # the family id
    user_id: str
    client_id: str
    session_id: str | None
    audience: str | None
    scope: tuple[str, ...]  # of its newest token
    created_at: float  # when the family began
    last_exchanged_at: float | None  # when its newest token was issued by a refresh (None: never refreshed)
    idle_expires_at: float  # the newest token's expiry
    expires_at: float | None  # the family's absolute end (None: never)
    tokens: int


def _live(now: float) -> tuple[object, ...]:
    return (RefreshToken.revoked_at.is_(None), RefreshToken.expires_at > now)


async def _families(db: Database, family_ids: list[str]) -> list[FamilyView]:
    if not family_ids:
        return []
    query = select(RefreshToken).where(RefreshToken.family_id.in_(family_ids)).order_by(RefreshToken.created_at)
    async with db.read() as s:
        rows = list((await s.scalars(query)).all())
    views = []
    for family_id in family_ids:
        members = [r for r in rows if r.family_id == family_id]
        if not members:
            continue
        first, newest = members[0], members[-1]
        views.append(
            FamilyView(
                id=family_id,
                user_id=newest.user_id,
                client_id=newest.client_id,
                session_id=newest.session_id,
                audience=newest.audience,
                scope=tuple(newest.scope or ()),
                created_at=first.created_at,
                last_exchanged_at=newest.created_at if len(members) > 1 else None,
                idle_expires_at=newest.expires_at,
                expires_at=newest.family_expires_at,
                tokens=len(members),
            )
        )
    return views


async def list_live(
    db: Database, user_id: str, now: float, *, after: str | None, limit: int
) -> tuple[list[FamilyView], str | None]:
    """One page of the user's live families and the ``next`` cursor (None on the last page)."""
    query = select(RefreshToken.family_id).where(RefreshToken.user_id == user_id, *_live(now))  # type: ignore[arg-type]
    if after:
        query = query.where(RefreshToken.family_id > after)
    async with db.read() as s:
        ids = list((await s.scalars(query.distinct().order_by(RefreshToken.family_id).limit(limit + 1))).all())
    more = len(ids) > limit
    ids = ids[:limit]
    return await _families(db, ids), (ids[-1] if more and ids else None)


async def get_live(db: Database, family_id: str, now: float) -> FamilyView | None:
    query = select(RefreshToken.id).where(RefreshToken.family_id == family_id, *_live(now)).limit(1)  # type: ignore[arg-type]
    async with db.read() as s:
        live = await s.scalar(query)
    if live is None:
        return None
    found = await _families(db, [family_id])
    return found[0] if found else None
