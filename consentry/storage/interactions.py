"""Pending authorization requests (the ``interactions`` table): every statement that reads or writes them.

Core statements built once: they run on every step of a login (docs/performance.md). Records are frozen;
a change is an ``update`` inside the caller's transaction, so the answer the user gave is written with
whatever else that answer changes (the session of a login, the user grant of a consent).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update

from consentry.storage.db import Database, Unit
from consentry.storage.dcr_models import PendingRegistration
from consentry.storage.gone import ParentGone
from consentry.storage.models import Client, Interaction

_TABLE: Table = Interaction.__table__  # type: ignore[assignment]
_INSERT = insert(_TABLE)
_STORED = select(Client.client_id).where(Client.client_id == bindparam("cid")).with_for_update(key_share=True)
_PENDING = (
    select(PendingRegistration.client_id)
    .where(PendingRegistration.client_id == bindparam("cid"))
    .with_for_update(key_share=True)
)
_LOAD = select(_TABLE).where(_TABLE.c.id == bindparam("txn"))
# The SET clause comes from the parameter names (the columns to write); the statement is built once.
_UPDATE = update(_TABLE).where(_TABLE.c.id == bindparam("txn"))
_LOCK = select(_TABLE.c.id).where(_TABLE.c.id == bindparam("txn")).with_for_update()
_CONSUME = update(_TABLE).where(_TABLE.c.id == bindparam("txn"), _TABLE.c.consumed_at.is_(None))
_BY_UPSTREAM = select(_TABLE).where(_TABLE.c.upstream_state == bindparam("upstream"))
_CLAIM_UPSTREAM = (
    update(_TABLE)
    .where(
        _TABLE.c.id == bindparam("txn"),
        _TABLE.c.upstream_state == bindparam("upstream"),
        _TABLE.c.consumed_at.is_(None),
    )
    .values(upstream_state=None)
)


@dataclass(frozen=True, kw_only=True)
class PendingRequest:
    """One pending request: its kept parameters, its CSRF secret, and what the user has done for it so far."""

    id: str
    client_id: str | None  # None: a login for no application (the dashboard, the connected-apps page)
    params: dict[str, str]
    csrf: str
    user_id: str | None
    session_id: str | None
    login_done_at: float | None
    approved_scopes: list[str] | None  # the consent screen's answer; an empty list approved nothing new
    confirmed_at: float | None  # the confirmation prompt's answer
    next_path: str | None
    created_at: float
    expires_at: float
    consumed_at: float | None
    upstream_connection_id: str | None = None  # a sign-in at an enterprise OIDC provider is under way
    upstream_state: str | None = None
    upstream_nonce: str | None = None
    upstream_verifier: str | None = None
    consent_page_sha256: str | None = None  # SHA-256 (hex) of the consent page last rendered for it (receipts)


async def insert_request(db: Database, request: PendingRequest) -> None:
    """Store the request; ``ParentGone`` when its client (stored, or a pending registration) no longer exists.
    The client's row is share-locked first (PostgreSQL), as the foreign key of the other tables would."""
    async with db.write() as conn:
        if request.client_id is not None:
            found = (await conn.execute(_STORED, {"cid": request.client_id})).first() or (
                await conn.execute(_PENDING, {"cid": request.client_id})
            ).first()
            if found is None:
                raise ParentGone(request.client_id)
        await conn.execute(_INSERT, vars(request))


async def get(db: Database, txn: str) -> PendingRequest | None:
    """The row as stored (expired or consumed ones too), or None."""
    async with db.connect() as conn:
        row = (await conn.execute(_LOAD, {"txn": txn})).first()
    return None if row is None else PendingRequest(**row._mapping)


async def update_in(unit: Unit, txn: str, **values: Any) -> None:
    """Write ``values`` (column names) to the request inside the caller's transaction."""
    await unit.execute(_UPDATE, {"txn": txn, **values})


async def consume_in(unit: Unit, txn: str, now: float) -> bool:
    """Mark the request used inside the caller's transaction; False when another request used it first."""
    result = await unit.execute(_CONSUME, {"txn": txn, "consumed_at": now})
    return result.rowcount == 1  # type: ignore[attr-defined, no-any-return]


async def lock_in(unit: Unit, txn: str) -> bool:
    """Lock the request's row for the caller's transaction (PostgreSQL; SQLite has one writer anyway);
    False when it no longer exists (deleted with its application)."""
    return (await unit.execute(_LOCK, {"txn": txn})).first() is not None


async def get_by_upstream_state(db: Database, upstream_state: str) -> PendingRequest | None:
    """The request an upstream identity provider's callback ``state`` belongs to (expired or consumed too)."""
    async with db.connect() as conn:
        row = (await conn.execute(_BY_UPSTREAM, {"upstream": upstream_state})).first()
    return None if row is None else PendingRequest(**row._mapping)


async def claim_upstream(db: Database, txn: str, upstream_state: str) -> bool:
    """Use the upstream ``state`` once: False when another callback (a replay) used it first."""
    async with db.write() as conn:
        result = await conn.execute(_CLAIM_UPSTREAM, {"txn": txn, "upstream": upstream_state})
    return bool(result.rowcount == 1)
