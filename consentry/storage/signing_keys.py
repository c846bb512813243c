"""Signing keys (the ``signing_keys`` table): the statements of ``tokens.keys.KeyStore``.

Writes run under one lock so that two processes rotating at once cannot both promote a key: PostgreSQL an
advisory transaction lock, SQLite its single writer.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from consentry.storage.db import Database
from consentry.storage.models import SigningKey

KEYS_LOCK = 0x636B657973  # "ckeys"
REVOKED = "revoked"


async def lock_in(s: AsyncSession) -> None:
    """Take the keys' lock for the rest of the caller's transaction."""
    if (await s.connection()).dialect.name != "sqlite":
        await s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": KEYS_LOCK})


async def locked_unrevoked_in(s: AsyncSession) -> list[SigningKey]:
    """Under the lock, every key not revoked (rows of the caller's session, to change in place)."""
    await lock_in(s)
    return list((await s.scalars(select(SigningKey).where(SigningKey.state != REVOKED))).all())


async def locked_get_in(s: AsyncSession, kid: str) -> SigningKey | None:
    await lock_in(s)
    return await s.get(SigningKey, kid)


async def get_in(s: AsyncSession, kid: str) -> SigningKey | None:
    """One key, revoked or not, without the lock (the Management API reads it)."""
    return await s.get(SigningKey, kid)


async def newest_first_in(s: AsyncSession) -> list[SigningKey]:
    """Every key, revoked ones too, newest first (the Management API's order)."""
    return list((await s.scalars(select(SigningKey).order_by(SigningKey.created_at.desc(), SigningKey.kid))).all())


async def every_key(db: Database) -> Sequence[SigningKey]:
    """All keys, revoked ones too (what ``ensure`` decides from)."""
    async with db.read() as s:
        return (await s.scalars(select(SigningKey))).all()


async def published(db: Database) -> Sequence[SigningKey]:
    """Every key not revoked, read through the cache pool (the JWKS and the signer)."""
    async with db.cache_read() as s:
        return (await s.scalars(select(SigningKey).where(SigningKey.state != REVOKED))).all()
