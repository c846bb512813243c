"""Pending authorization requests ("transactions") that wait for login, consent or confirmation.

The transaction id travels in the ``state`` query parameter of ``/u/login`` and ``/u/consent``;
each form also carries the transaction's CSRF token. Transactions expire and are single-use.
Storage: ``storage.interactions``.
"""

from __future__ import annotations

import hmac
from typing import Any

from consentry.runtime import Runtime
from consentry.storage import interactions
from consentry.storage.interactions import PendingRequest
from consentry.tokens import ids


async def start(
    rt: Runtime,
    client_id: str | None,
    params: dict[str, str],
    user_id: str | None = None,
    session_id: str | None = None,
    next_path: str | None = None,
) -> PendingRequest:
    now = rt.clock.now()
    txn = PendingRequest(
        id=ids.secret(24),
        client_id=client_id,
        params=dict(params),
        csrf=ids.secret(24),
        user_id=user_id,
        session_id=session_id,
        login_done_at=None,
        approved_scopes=None,
        confirmed_at=None,
        next_path=next_path,
        created_at=now,
        expires_at=now + rt.settings.interaction_lifetime,
        consumed_at=None,
    )
    await interactions.insert_request(rt.db, txn)
    return txn


async def start_direct(rt: Runtime, next_path: str) -> PendingRequest:
    """A login that belongs to no application (the dashboard, the connected-apps page)."""
    return await start(rt, None, {}, next_path=next_path)


async def load(rt: Runtime, txn: str | None) -> PendingRequest | None:
    """The live transaction, or None when it is unknown, expired or already used."""
    if not txn or len(txn) > 100:
        return None
    row = await interactions.get(rt.db, txn)
    if row is None or row.consumed_at is not None or row.expires_at <= rt.clock.now():
        return None
    return row


def csrf_ok(row: PendingRequest, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(row.csrf.encode(), (presented or "").encode())


async def update_state(rt: Runtime, txn: str, **values: Any) -> None:
    async with rt.db.write() as conn:
        await interactions.update_in(conn, txn, **values)


async def consume(rt: Runtime, txn: str) -> bool:
    """Mark the transaction used; False when another request used it first."""
    async with rt.db.write() as conn:
        return await interactions.consume_in(conn, txn, rt.clock.now())
