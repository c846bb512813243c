"""Who acted for whom (``delegations``): each RFC 8693 delegation exchange upserts one row per user and actor chain,
so the user (``/u/apps``) and the admin (the user view) see which agent acted for them, first and last.

``record`` is one statement (``INSERT … ON CONFLICT DO UPDATE``, SQLite and PostgreSQL): concurrent exchanges of
the same chain count up the same row.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, select

from consentry.storage.db import Database, dialect_insert
from consentry.storage.models import Delegation

_TABLE: Table = Delegation.__table__  # type: ignore[assignment]
MAX_LIST = 200


@dataclass(frozen=True)
class DelegationInfo:
    subject_client_id: str
    actor_client_id: str
    actors: tuple[str, ...]  # outermost first
    audience: str
    scope: tuple[str, ...]
    count: int
    first_at: float
    last_at: float


def chain_key(subject_client_id: str, actors: tuple[str, ...], audience: str) -> str:
    return hashlib.sha256("\x00".join((subject_client_id, *actors, "\x01", audience)).encode()).hexdigest()


async def record(
    db: Database,
    *,
    row_id: str,
    user_id: str,
    subject_client_id: str,
    actors: tuple[str, ...],
    audience: str,
    scope: tuple[str, ...],
    now: float,
) -> None:
    insert = dialect_insert("sqlite" if db.is_sqlite else "postgresql")
    values: dict[str, Any] = {
        "id": row_id,
        "user_id": user_id,
        "chain_key": chain_key(subject_client_id, actors, audience),
        "subject_client_id": subject_client_id,
        "actor_client_id": actors[0],
        "actors": list(actors),
        "audience": audience,
        "scope": list(scope),
        "count": 1,
        "first_at": now,
        "last_at": now,
    }
    statement = insert(_TABLE).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["user_id", "chain_key"],
        set_={"count": _TABLE.c.count + 1, "last_at": now, "scope": statement.excluded.scope},
    )
    async with db.write() as conn:
        await conn.execute(statement)


async def of_user(db: Database, user_id: str) -> list[DelegationInfo]:
    """The user's delegations, most recently used first."""
    query = select(_TABLE).where(_TABLE.c.user_id == user_id).order_by(_TABLE.c.last_at.desc()).limit(MAX_LIST)
    async with db.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [
        DelegationInfo(
            subject_client_id=r.subject_client_id,
            actor_client_id=r.actor_client_id,
            actors=tuple(a for a in (r.actors or []) if isinstance(a, str)),
            audience=r.audience,
            scope=tuple(s for s in (r.scope or []) if isinstance(s, str)),
            count=int(r._mapping["count"]),
            first_at=float(r.first_at),
            last_at=float(r.last_at),
        )
        for r in rows
    ]
