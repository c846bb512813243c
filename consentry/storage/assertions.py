"""The replay table of redeemed assertions (``used_assertions``): an ID-JAG's ``jti`` is accepted once per issuer.

``use_once`` inserts the key with ``ON CONFLICT DO NOTHING`` (SQLite and PostgreSQL), so two concurrent
redemptions of the same assertion cannot both win; expired keys are removed on the way.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Table, delete

from consentry.storage.db import Database, dialect_insert
from consentry.storage.models import UsedAssertion

_TABLE: Table = UsedAssertion.__table__  # type: ignore[assignment]


def assertion_key(issuer: str, jti: str) -> str:
    return hashlib.sha256(f"{issuer}\x00{jti}".encode()).hexdigest()


async def use_once(db: Database, key: str, expires_at: float, now: float) -> bool:
    """True the first time ``key`` is presented (while it lives); False on a replay."""
    insert = dialect_insert("sqlite" if db.is_sqlite else "postgresql")
    statement = insert(_TABLE).values(key=key, expires_at=expires_at).on_conflict_do_nothing(index_elements=["key"])
    async with db.write() as conn:
        await conn.execute(delete(_TABLE).where(_TABLE.c.expires_at < now))
        result = await conn.execute(statement)
    return bool(result.rowcount == 1)
