"""Webhook subscriptions and the delivery outbox (``webhook_deliveries``): every SQL statement of the webhooks.

Deliveries are inserted in the caller's transaction (the change they report commits or rolls back with them).
A dispatcher claims due deliveries by setting a lease on them in one short write transaction: PostgreSQL
selects them ``FOR UPDATE SKIP LOCKED`` (two nodes never wait for, nor take, each other's rows), SQLite claims
them with one conditional ``UPDATE`` under its single write lock. An attempt's result is written only by the
holder of the lease (``finish`` matches the lease token), so a dispatcher whose lease ran out cannot overwrite
the result of the one that took the delivery over.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Table, and_, delete, func, insert, or_, select, update

from consentry.storage.db import Database, Unit
from consentry.storage.models import UserGrant, WebhookDelivery, WebhookSubscription

SUBSCRIPTIONS: Table = WebhookSubscription.__table__  # type: ignore[assignment]
DELIVERIES: Table = WebhookDelivery.__table__  # type: ignore[assignment]
GRANTS: Table = UserGrant.__table__  # type: ignore[assignment]
PENDING = "pending"


async def insert_subscription_in(unit: Unit, values: dict[str, Any]) -> None:
    await unit.execute(insert(SUBSCRIPTIONS), values)


async def subscription(db: Database, subscription_id: str) -> Row[Any] | None:
    async with db.connect() as conn:
        found: Row[Any] | None = (
            await conn.execute(select(SUBSCRIPTIONS).where(SUBSCRIPTIONS.c.id == subscription_id))
        ).first()
    return found


async def subscriptions(db: Database, *, offset: int, limit: int) -> tuple[list[Row[Any]], int]:
    async with db.connect() as conn:
        total = await conn.scalar(select(func.count()).select_from(SUBSCRIPTIONS)) or 0
        query = select(SUBSCRIPTIONS).order_by(SUBSCRIPTIONS.c.created_at, SUBSCRIPTIONS.c.id)
        rows = (await conn.execute(query.offset(offset).limit(limit))).all()
    return list(rows), int(total)


async def update_subscription_in(unit: Unit, subscription_id: str, values: dict[str, Any]) -> bool:
    result = await unit.execute(update(SUBSCRIPTIONS).where(SUBSCRIPTIONS.c.id == subscription_id).values(values))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def delete_subscription_in(unit: Unit, subscription_id: str) -> bool:
    """Delete a subscription and its deliveries (queued ones are not sent)."""
    await unit.execute(delete(DELIVERIES).where(DELIVERIES.c.subscription_id == subscription_id))
    result = await unit.execute(delete(SUBSCRIPTIONS).where(SUBSCRIPTIONS.c.id == subscription_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


_SUBSCRIBERS = select(SUBSCRIPTIONS.c.id, SUBSCRIPTIONS.c.event_types).where(SUBSCRIPTIONS.c.enabled)


async def subscribers_in(unit: Unit, event_type: str) -> list[str]:
    """The enabled subscriptions that asked for ``event_type``, read in the caller's transaction."""
    rows = (await unit.execute(_SUBSCRIBERS)).all()
    return [row.id for row in rows if event_type in (row.event_types or [])]


async def enqueue_in(unit: Unit, rows: list[dict[str, Any]]) -> None:
    if rows:
        await unit.execute(insert(DELIVERIES), rows)


def _due(now: float) -> Any:
    enabled = select(SUBSCRIPTIONS.c.id).where(SUBSCRIPTIONS.c.enabled)
    return and_(
        DELIVERIES.c.status == PENDING,
        DELIVERIES.c.next_attempt_at <= now,
        or_(DELIVERIES.c.lease_until.is_(None), DELIVERIES.c.lease_until <= now),
        DELIVERIES.c.subscription_id.in_(enabled),
    )


async def any_due(db: Database, now: float) -> bool:
    """A cheap read first, so an idle dispatcher never takes the (SQLite) write lock."""
    async with db.connect() as conn:
        return (await conn.execute(select(DELIVERIES.c.id).where(_due(now)).limit(1))).first() is not None


@dataclass(frozen=True, kw_only=True)
class Claimed:
    """A delivery whose current attempt this dispatcher holds (``lease_token``), with where it goes."""

    id: str
    subscription_id: str
    event_type: str
    payload: str
    attempts: int  # including the attempt now being made
    url: str
    secret_encrypted: str


async def claim(db: Database, *, now: float, token: str, lease_until: float, limit: int) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries to ``token`` (counting the attempt) and return them."""
    lease = {"lease_token": token, "lease_until": lease_until, "attempts": DELIVERIES.c.attempts + 1}
    lease["last_attempt_at"] = now
    oldest = select(DELIVERIES.c.id).where(_due(now)).order_by(DELIVERIES.c.next_attempt_at).limit(limit)
    async with db.write() as conn:
        if db.is_sqlite:  # one writer at a time: the conditional UPDATE is the claim
            await conn.execute(update(DELIVERIES).where(DELIVERIES.c.id.in_(oldest), _due(now)).values(lease))
        else:
            ids = (await conn.execute(oldest.with_for_update(skip_locked=True))).scalars().all()
            if not ids:
                return []
            await conn.execute(update(DELIVERIES).where(DELIVERIES.c.id.in_(ids)).values(lease))
        query = (
            select(
                DELIVERIES.c.id,
                DELIVERIES.c.subscription_id,
                DELIVERIES.c.event_type,
                DELIVERIES.c.payload,
                DELIVERIES.c.attempts,
                SUBSCRIPTIONS.c.url,
                SUBSCRIPTIONS.c.secret_encrypted,
            )
            .join(SUBSCRIPTIONS, SUBSCRIPTIONS.c.id == DELIVERIES.c.subscription_id)
            .where(DELIVERIES.c.lease_token == token)
        )
        rows = (await conn.execute(query)).all()
    return [Claimed(**row._mapping) for row in rows]


async def finish(db: Database, delivery_id: str, token: str, values: dict[str, Any]) -> bool:
    """Record an attempt's result and end the lease; False when the lease was no longer this dispatcher's."""
    async with db.write() as conn:
        result = await conn.execute(
            update(DELIVERIES)
            .where(DELIVERIES.c.id == delivery_id, DELIVERIES.c.lease_token == token)
            .values(**values, lease_token=None, lease_until=None)
        )
    return bool(result.rowcount)


async def release(db: Database, token: str) -> None:
    """Give back the attempts a stopping dispatcher did not finish: due again at once, not counted."""
    async with db.write() as conn:
        await conn.execute(
            update(DELIVERIES)
            .where(DELIVERIES.c.lease_token == token)
            .values(lease_token=None, lease_until=None, attempts=DELIVERIES.c.attempts - 1)
        )


async def deliveries(db: Database, subscription_id: str, *, offset: int, limit: int) -> tuple[list[Row[Any]], int]:
    """A subscription's deliveries, newest first."""
    where = DELIVERIES.c.subscription_id == subscription_id
    async with db.connect() as conn:
        total = await conn.scalar(select(func.count()).select_from(DELIVERIES).where(where)) or 0
        query = select(DELIVERIES).where(where).order_by(DELIVERIES.c.created_at.desc(), DELIVERIES.c.id)
        rows = (await conn.execute(query.offset(offset).limit(limit))).all()
    return list(rows), int(total)


_GRANT_COLUMNS = (GRANTS.c.id, GRANTS.c.user_id, GRANTS.c.client_id, GRANTS.c.audience, GRANTS.c.scope)


def _unannounced(now: float) -> Any:
    return and_(GRANTS.c.expiry_notified_at.is_(None), GRANTS.c.expires_at.is_not(None), GRANTS.c.expires_at <= now)


async def mark_expired_grants_in(unit: Unit, now: float, limit: int) -> list[Row[Any]]:
    """Mark up to ``limit`` expired, unannounced grants announced; returns them. Two sweeps at once (two
    nodes) each get a grant at most once: the update re-checks ``expiry_notified_at`` on the locked row."""
    batch = select(GRANTS.c.id).where(_unannounced(now)).limit(limit)
    statement = (
        update(GRANTS)
        .where(GRANTS.c.id.in_(batch), _unannounced(now))
        .values(expiry_notified_at=now)
        .returning(*_GRANT_COLUMNS, GRANTS.c.expires_at)
    )
    return list((await unit.execute(statement)).all())


async def mark_grant_expired_in(unit: Unit, grant_id: str, now: float) -> Row[Any] | None:
    """The same for one grant (found expired by a refresh); None when it is not expired or already announced."""
    statement = (
        update(GRANTS)
        .where(GRANTS.c.id == grant_id, _unannounced(now))
        .values(expiry_notified_at=now)
        .returning(*_GRANT_COLUMNS, GRANTS.c.expires_at)
    )
    found: Row[Any] | None = (await unit.execute(statement)).first()
    return found
