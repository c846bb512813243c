"""Cached reads of the configuration the hot paths need: clients, APIs, client grants, connections, tenant.

Entries live ``ttl`` seconds (``CONSENTRY_CACHE_TTL``) and are dropped at once in the process that
writes; other processes see a change within ``ttl``. Nothing here is authoritative state.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import select

from consentry.clock import Clock
from consentry.domain import ApiInfo, ClientGrantInfo, ClientInfo, ConnectionInfo
from consentry.storage.db import Database
from consentry.storage.models import Client, ClientGrant, Connection, ConnectionClient, ResourceServer, Tenant
from consentry.tenant import merged_settings

T = TypeVar("T")


class Catalog:
    def __init__(self, db: Database, clock: Clock, ttl: float) -> None:
        self.db, self.clock, self.ttl = db, clock, ttl
        self._entries: dict[tuple[str, str], tuple[float, Any]] = {}

    async def _cached(self, key: tuple[str, str], load: Callable[[], Awaitable[T]]) -> T:
        now = self.clock.now()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]  # type: ignore[no-any-return]
        value = await load()
        if self.ttl > 0:
            if len(self._entries) > 50_000:
                self._entries.clear()
            self._entries[key] = (now + self.ttl, value)
        return value

    def invalidate(self) -> None:
        """Forget everything (called after any configuration write in this process)."""
        self._entries.clear()

    async def client(self, client_id: str) -> ClientInfo | None:
        async def load() -> ClientInfo | None:
            async with self.db.read() as s:
                row = await s.get(Client, client_id)
                return ClientInfo.from_row(row) if row else None

        return await self._cached(("client", client_id), load)

    async def api(self, identifier: str) -> ApiInfo | None:
        async def load() -> ApiInfo | None:
            async with self.db.read() as s:
                row = await s.scalar(select(ResourceServer).where(ResourceServer.identifier == identifier))
                return ApiInfo.from_row(row) if row else None

        return await self._cached(("api", identifier), load)

    async def client_grants(self, audience: str) -> tuple[ClientGrantInfo, ...]:
        """Every client grant for one API (per-client and the third-party defaults)."""

        async def load() -> tuple[ClientGrantInfo, ...]:
            async with self.db.read() as s:
                rows = (await s.scalars(select(ClientGrant).where(ClientGrant.audience == audience))).all()
                return tuple(ClientGrantInfo.from_row(r) for r in rows)

        return await self._cached(("grants", audience), load)

    async def connections(self) -> tuple[ConnectionInfo, ...]:
        async def load() -> tuple[ConnectionInfo, ...]:
            async with self.db.read() as s:
                rows = (await s.scalars(select(Connection).order_by(Connection.created_at))).all()
                links = (await s.execute(select(ConnectionClient.connection_id, ConnectionClient.client_id))).all()
            enabled: dict[str, set[str]] = {}
            for conn_id, cid in links:
                enabled.setdefault(conn_id, set()).add(cid)
            return tuple(
                ConnectionInfo(r.id, r.name, r.strategy, r.is_domain_connection,
                               frozenset(enabled.get(r.id, ())), r.options or {})
                for r in rows
            )  # fmt: skip

        return await self._cached(("connections", ""), load)

    async def tenant(self) -> dict[str, Any]:
        async def load() -> dict[str, Any]:
            async with self.db.read() as s:
                row = await s.get(Tenant, 1)
                return merged_settings(row.settings if row else {})

        return await self._cached(("tenant", ""), load)
