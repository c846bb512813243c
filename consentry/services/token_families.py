"""Revoking refresh-token families: one statement for every path that does it (reuse, replay, a refused
refresh, ``/oauth/revoke``, a revoked user grant). A revoked family also ends its access tokens
(``tokens.liveness`` checks the ``family_id`` claim against it)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, update
from sqlalchemy.ext.asyncio import AsyncSession

from consentry.storage.models import RefreshToken


async def revoke_families(s: AsyncSession, now: float, where: ColumnElement[bool]) -> int:
    """Mark every live refresh token matching ``where`` revoked at ``now``; returns how many."""
    live = RefreshToken.revoked_at.is_(None)
    result = await s.execute(update(RefreshToken).where(where, live).values(revoked_at=now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
