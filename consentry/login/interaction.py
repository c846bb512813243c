"""Pending authorization requests ("transactions") that wait for login, consent or confirmation.

The transaction id travels in the ``state`` query parameter of ``/u/login`` and ``/u/consent``;
each form also carries the transaction's CSRF token. Transactions expire and are single-use.
"""

from __future__ import annotations

import hmac
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from consentry.runtime import Runtime
from consentry.storage.models import Interaction
from consentry.tokens import ids

# Core statements on the table, built once: these run on every step of a login (performance.md).
_TABLE: Table = Interaction.__table__  # type: ignore[assignment]
_INSERT = insert(_TABLE)
_LOAD = select(_TABLE).where(_TABLE.c.id == bindparam("txn"))
# The SET clause comes from the parameter names (the columns to write); the statement is built once.
_UPDATE = update(_TABLE).where(_TABLE.c.id == bindparam("txn"))
_CONSUME = update(_TABLE).where(_TABLE.c.id == bindparam("txn"), _TABLE.c.consumed_at.is_(None))


async def start(rt: Runtime, client_id: str | None, params: dict[str, str], user_id: str | None = None,
                session_id: str | None = None, next_path: str | None = None) -> Interaction:  # fmt: skip
    now = rt.clock.now()
    values = {"id": ids.secret(24), "client_id": client_id, "params": dict(params), "csrf": ids.secret(24),
              "user_id": user_id, "session_id": session_id, "login_done_at": None, "approved_scopes": None,
              "confirmed_at": None, "next_path": next_path, "created_at": now,
              "expires_at": now + rt.settings.interaction_lifetime, "consumed_at": None}  # fmt: skip
    async with rt.db.write() as conn:
        await conn.execute(_INSERT, values)
    return Interaction(**values)


async def start_direct(rt: Runtime, next_path: str) -> Interaction:
    """A login that belongs to no application (the dashboard, the connected-apps page)."""
    return await start(rt, None, {}, next_path=next_path)


async def load(rt: Runtime, txn: str | None) -> Interaction | None:
    """The live transaction (a detached row), or None when it is unknown, expired or already used."""
    if not txn or len(txn) > 100:
        return None
    async with rt.db.connect() as conn:
        row = (await conn.execute(_LOAD, {"txn": txn})).first()
    if row is None or row.consumed_at is not None or row.expires_at <= rt.clock.now():
        return None
    return Interaction(**row._mapping)


def csrf_ok(row: Interaction, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(row.csrf.encode(), (presented or "").encode())


async def update_in(conn: AsyncConnection, txn: str, **values: Any) -> None:
    """Update the transaction inside the caller's write transaction."""
    await conn.execute(_UPDATE, {"txn": txn, **values})


async def update_state(rt: Runtime, txn: str, **values: Any) -> None:
    async with rt.db.write() as conn:
        await update_in(conn, txn, **values)


async def consume_in(conn: AsyncConnection, txn: str, now: float) -> bool:
    """Mark the transaction used inside the caller's write transaction; False when another request used it first."""
    result = await conn.execute(_CONSUME, {"txn": txn, "consumed_at": now})
    return result.rowcount == 1


async def consume(rt: Runtime, txn: str) -> bool:
    """Mark the transaction used; False when another request used it first."""
    async with rt.db.write() as conn:
        return await consume_in(conn, txn, rt.clock.now())
