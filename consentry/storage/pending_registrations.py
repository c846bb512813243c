"""Every statement on pending registrations (``storage.dcr_models.PendingRegistration``).

A pending registration is read on the authorize, login and consent steps of its client (the catalog holds only
stored clients), promoted by the first consent and removed in bulk once expired: one ``DELETE`` for any number,
after the pending requests that name them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, delete, func, select, text

from consentry.storage.db import Database, OrmUnit
from consentry.storage.dcr_models import PendingRegistration
from consentry.storage.models import Client, Interaction

# Registrations take this transaction-scoped lock on PostgreSQL so that the hard cap is counted by one writer
# at a time (SQLite's ``BEGIN IMMEDIATE`` already serialises every writer).
_PENDING: Table = PendingRegistration.__table__  # type: ignore[assignment]
_REQUESTS: Table = Interaction.__table__  # type: ignore[assignment]
_CAP_LOCK = text("SELECT pg_advisory_xact_lock(7591)")


async def serialise_registrations(s: OrmUnit) -> None:
    if s.get_bind().dialect.name == "postgresql":
        await s.execute(_CAP_LOCK)


async def live_count(s: OrmUnit, now: float) -> int:
    """How many pending registrations have not expired (the hard cap counts these)."""
    found = await s.scalar(
        select(func.count()).select_from(PendingRegistration).where(PendingRegistration.expires_at > now)
    )
    return int(found or 0)


async def held_from(s: OrmUnit, ip: str, now: float) -> int:
    """Live pending registrations made from this address (the per-address quota counts them with clients)."""
    found = await s.scalar(
        select(func.count())
        .select_from(PendingRegistration)
        .where(PendingRegistration.registration_ip == ip, PendingRegistration.expires_at > now)
    )
    return int(found or 0)


def add(s: OrmUnit, row: PendingRegistration) -> None:
    s.add(row)


async def get(s: OrmUnit, client_id: str) -> PendingRegistration | None:
    """The row in the caller's session (changes to it are written with the transaction), expired ones too."""
    return await s.get(PendingRegistration, client_id) if len(client_id) <= 255 else None


async def get_for_update(s: OrmUnit, client_id: str) -> PendingRegistration | None:
    """The row locked for the caller's transaction (PostgreSQL): two first consents promote it once."""
    query = select(PendingRegistration).where(PendingRegistration.client_id == client_id).with_for_update()
    return (await s.scalars(query)).first()


async def read(db: Database, client_id: str) -> PendingRegistration | None:
    """The row, outside any transaction (the authorize steps' lookup)."""
    if len(client_id) > 255:
        return None
    async with db.read() as s:
        row = await s.get(PendingRegistration, client_id)
        if row is not None:
            s.expunge(row)
        return row


async def stored_client_exists(s: OrmUnit, client_id: str) -> bool:
    return await s.get(Client, client_id) is not None


async def delete_one(s: OrmUnit, client_id: str) -> None:
    """The registration and the pending requests that name it."""
    await s.execute(delete(_REQUESTS).where(_REQUESTS.c.client_id == client_id))
    await s.execute(delete(_PENDING).where(_PENDING.c.client_id == client_id))


async def delete_expired(s: OrmUnit, now: float) -> list[dict[str, Any]]:
    """Every registration expired at ``now``, with its pending requests, in two statements; returns what went
    (``client_id``, ``name``, ``status``, ``registration_ip``, ``created_at``, ``expires_at``)."""
    t = _PENDING
    gone = select(t.c.client_id).where(t.c.expires_at <= now)
    await s.execute(delete(_REQUESTS).where(_REQUESTS.c.client_id.in_(gone)))
    query = (
        delete(t)
        .where(t.c.expires_at <= now)
        .returning(t.c.client_id, t.c.name, t.c.status, t.c.registration_ip, t.c.created_at, t.c.expires_at)
    )
    return [dict(r._mapping) for r in (await s.execute(query)).all()]


async def expired(s: OrmUnit, now: float, limit: int) -> tuple[list[PendingRegistration], int]:
    """The first ``limit`` registrations expired at ``now`` (oldest first) and how many there are."""
    where = PendingRegistration.expires_at <= now
    total = await s.scalar(select(func.count()).select_from(PendingRegistration).where(where)) or 0
    query = select(PendingRegistration).where(where).order_by(PendingRegistration.created_at).limit(limit)
    return list((await s.scalars(query)).all()), int(total)


async def listing(
    s: OrmUnit, *, awaiting_approval: bool, now: float, limit: int
) -> tuple[list[PendingRegistration], int]:
    """Live pending registrations, oldest first (only those awaiting approval, if asked), and their count."""
    where = [PendingRegistration.expires_at > now]
    if awaiting_approval:
        where.append(PendingRegistration.status == "pending")
    total = await s.scalar(select(func.count()).select_from(PendingRegistration).where(*where)) or 0
    query = (
        select(PendingRegistration)
        .where(*where)
        .order_by(PendingRegistration.created_at, PendingRegistration.client_id)
        .limit(limit)
    )
    return list((await s.scalars(query)).all()), int(total)
