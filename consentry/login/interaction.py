"""Pending authorization requests ("transactions") that wait for login, consent or confirmation.

The transaction id travels in the ``state`` query parameter of ``/u/login`` and ``/u/consent``;
each form also carries the transaction's CSRF token. Transactions expire and are single-use.
"""

from __future__ import annotations

import hmac
from typing import Any

from sqlalchemy import update

from consentry.runtime import Runtime
from consentry.storage.models import Interaction
from consentry.tokens import ids


async def start(rt: Runtime, client_id: str | None, params: dict[str, str], user_id: str | None = None,
                session_id: str | None = None) -> Interaction:  # fmt: skip
    now = rt.clock.now()
    row = Interaction(
        id=ids.secret(24),
        client_id=client_id,
        params=dict(params),
        csrf=ids.secret(24),
        user_id=user_id,
        session_id=session_id,
        created_at=now,
        expires_at=now + rt.settings.interaction_lifetime,
    )
    async with rt.db.transaction() as s:
        s.add(row)
    return row


async def start_direct(rt: Runtime, next_path: str) -> Interaction:
    """A login that belongs to no application (the dashboard, the connected-apps page)."""
    return await start(rt, None, {"__next": next_path})


async def load(rt: Runtime, txn: str | None) -> Interaction | None:
    """The live transaction, or None when it is unknown, expired or already used."""
    if not txn or len(txn) > 100:
        return None
    async with rt.db.read() as s:
        row = await s.get(Interaction, txn)
    if row is None or row.consumed_at is not None or row.expires_at <= rt.clock.now():
        return None
    return row


def csrf_ok(row: Interaction, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(row.csrf.encode(), (presented or "").encode())


async def update_state(rt: Runtime, txn: str, **values: Any) -> None:
    async with rt.db.transaction() as s:
        await s.execute(update(Interaction).where(Interaction.id == txn).values(**values))


async def consume(rt: Runtime, txn: str) -> bool:
    """Mark the transaction used; False when another request used it first."""
    async with rt.db.transaction() as s:
        result = await s.execute(
            update(Interaction)
            .where(Interaction.id == txn, Interaction.consumed_at.is_(None))
            .values(consumed_at=rt.clock.now())
        )
    return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]
