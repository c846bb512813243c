"""The SQL of initial access tokens for Dynamic Client Registration (the ``initial_access_tokens`` table).

A token is found by the digest of its secret. A registration spends one use with one conditional ``UPDATE`` in
its own transaction: a failed registration gives the use back, and two racing requests cannot both spend the last.
"""

from __future__ import annotations

from sqlalchemy import delete, func, or_, select, update

from consentry.storage.db import Database, OrmUnit
from consentry.storage.dcr_models import InitialAccessToken


def add_token(s: OrmUnit, row: InitialAccessToken) -> None:
    """Insert the new token when the caller's transaction commits."""
    s.add(row)


async def spend_use(s: OrmUnit, token_hash: str, now: float) -> bool:
    """Take one use of the token with this digest; False when there is none left, it expired or is unknown."""
    result = await s.execute(
        update(InitialAccessToken)
        .where(
            InitialAccessToken.token_hash == token_hash,
            InitialAccessToken.uses_left > 0,
            or_(InitialAccessToken.expires_at.is_(None), InitialAccessToken.expires_at > now),
        )
        .values(uses_left=InitialAccessToken.uses_left - 1)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


async def tokens_page(db: Database, *, offset: int, limit: int) -> tuple[list[InitialAccessToken], int]:
    """Tokens by creation, and how many there are."""
    async with db.read() as s:
        total = await s.scalar(select(func.count()).select_from(InitialAccessToken)) or 0
        rows = (
            await s.scalars(
                select(InitialAccessToken)
                .order_by(InitialAccessToken.created_at, InitialAccessToken.id)
                .offset(offset)
                .limit(limit)
            )
        ).all()
    return list(rows), total


async def delete_token(s: OrmUnit, token_id: str) -> bool:
    """Delete the token; False when there was none with this id."""
    result = await s.execute(delete(InitialAccessToken).where(InitialAccessToken.id == token_id))
    return bool(getattr(result, "rowcount", 0))
