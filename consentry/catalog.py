"""Cached reads of the configuration the hot paths need: clients, APIs, client grants, connections, tenant.

Entries live ``ttl`` seconds (``CONSENTRY_CACHE_TTL``) and are dropped at once in the process that
writes; other processes see a change within ``ttl``, and on PostgreSQL at once: ``invalidate()`` publishes a
``NOTIFY`` that their listeners answer with ``invalidate_local()`` (``consentry.storage.notify``). Nothing
here is authoritative state.

A missing or expired entry is loaded once: concurrent requests for the same key wait for that one
load instead of each querying the database. A hot entry is reloaded in the background during the second
half of its life, so under load requests never queue behind a reload (measured: without it, p99 of
client_credentials was the reload's wait, up to 2 s); nothing is ever served older than ``ttl``.
Per-client lookups (``client_grants(audience, client_id)``, ``connections(client_id)``) read only the
rows that concern that client, so their cost does not grow with the number of applications.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import select

from consentry.clock import Clock
from consentry.domain import ApiInfo, ClientGrantInfo, ClientInfo, ConnectionInfo
from consentry.storage.db import Database
from consentry.storage.models import Client, ClientGrant, Connection, ConnectionClient, ResourceServer, Tenant
from consentry.tenant import merged_settings

T = TypeVar("T")
log = logging.getLogger("consentry")
MAX_ENTRIES = 50_000


class Catalog:
    def __init__(self, db: Database, clock: Clock, ttl: float) -> None:
        self.db, self.clock, self.ttl = db, clock, ttl
        self._entries: dict[tuple[str, str], tuple[float, Any]] = {}
        self._loading: dict[tuple[str, str], asyncio.Future[Any]] = {}
        self._refreshing: dict[tuple[str, str], asyncio.Task[Any]] = {}
        self._generation = 0
        self.publish: Callable[[], None] | None = None

    async def _cached(self, key: tuple[str, str], load: Callable[[], Awaitable[T]]) -> T:
        now = self.clock.now()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            if hit[0] - now < self.ttl / 2:  # in the second half of its life: reload in the background
                self._refresh_soon(key, load)
            return hit[1]  # type: ignore[no-any-return]
        if self.ttl <= 0:
            return await load()
        pending = self._loading.get(key)
        if pending is not None:
            try:
                return await asyncio.shield(pending)  # type: ignore[no-any-return]
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise  # this request was cancelled
                return await load()  # the loading request was cancelled: load for ourselves
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            value = await self._load_and_store(key, load, now)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, no "never retrieved" warning
            raise
        else:
            future.set_result(value)
            return value
        finally:
            if self._loading.get(key) is future:
                del self._loading[key]

    async def _load_and_store(self, key: tuple[str, str], load: Callable[[], Awaitable[T]], now: float) -> T:
        generation = self._generation
        value = await load()
        if generation == self._generation:  # not invalidated while loading
            if len(self._entries) > MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (now + self.ttl, value)
        return value

    def _refresh_soon(self, key: tuple[str, str], load: Callable[[], Awaitable[Any]]) -> None:
        """Reload a hot entry before it expires, so that requests never queue behind its reload.

        The entry keeps being served (it is still within ``ttl``) until the new value replaces it; a
        failed reload is forgotten and the entry expires as usual.
        """
        if key in self._refreshing:
            return
        task = asyncio.ensure_future(self._load_and_store(key, load, self.clock.now()))
        self._refreshing[key] = task

        def done(t: asyncio.Task[Any]) -> None:
            self._refreshing.pop(key, None)
            if not t.cancelled() and t.exception() is not None:
                log.warning("catalog reload of %s failed: %s", key[0], type(t.exception()).__name__)

        task.add_done_callback(done)

    def invalidate(self) -> None:
        """Forget everything (called after any configuration write in this process) and tell the other
        processes to do the same (``publish``: PostgreSQL ``NOTIFY``, set by ``Runtime.create``)."""
        self.invalidate_local()
        if self.publish is not None:
            self.publish()

    @property
    def generation(self) -> int:
        """Changes at every invalidation; per-process caches elsewhere compare it to know they are stale."""
        return self._generation

    def invalidate_local(self) -> None:
        """Forget everything; the notification listener calls this when another process wrote."""
        self._entries.clear()
        self._loading.clear()
        self._generation += 1

    async def client(self, client_id: str) -> ClientInfo | None:
        async def load() -> ClientInfo | None:
            async with self.db.cache_read() as s:
                row = await s.get(Client, client_id)
                return ClientInfo.from_row(row) if row else None

        return await self._cached(("client", client_id), load)

    async def api(self, identifier: str) -> ApiInfo | None:
        async def load() -> ApiInfo | None:
            async with self.db.cache_read() as s:
                row = await s.scalar(select(ResourceServer).where(ResourceServer.identifier == identifier))
                return ApiInfo.from_row(row) if row else None

        return await self._cached(("api", identifier), load)

    async def client_grants(self, audience: str, client_id: str | None = None) -> tuple[ClientGrantInfo, ...]:
        """The client grants for one API: all of them, or (``client_id`` given) that client's own grants and
        the defaults (``client_id`` NULL), which is all ``access.effective_client_grant`` looks at."""

        async def load() -> tuple[ClientGrantInfo, ...]:
            if client_id is None:
                queries = [select(ClientGrant).where(ClientGrant.audience == audience)]
            else:  # two lookups on the client_id index (an OR made SQLite scan every grant of the API)
                queries = [
                    select(ClientGrant).where(ClientGrant.client_id == client_id, ClientGrant.audience == audience),
                    select(ClientGrant).where(ClientGrant.client_id.is_(None), ClientGrant.audience == audience),
                ]
            async with self.db.cache_read() as s:
                rows = [row for query in queries for row in (await s.scalars(query)).all()]
                return tuple(ClientGrantInfo.from_row(r) for r in rows)

        return await self._cached(("grants", f"{audience}\x00{client_id or ''}"), load)

    async def connections(self, client_id: str | None = None) -> tuple[ConnectionInfo, ...]:
        """Every connection; ``enabled_clients`` lists all enabled clients, or (``client_id`` given) only
        that client when the connection is enabled for it."""

        async def load() -> tuple[ConnectionInfo, ...]:
            links_query = select(ConnectionClient.connection_id, ConnectionClient.client_id)
            async with self.db.cache_read() as s:
                rows = (await s.scalars(select(Connection).order_by(Connection.created_at))).all()
                if client_id is not None:  # (connection_id, client_id) is the primary key: look each pair up
                    links_query = links_query.where(ConnectionClient.connection_id.in_([r.id for r in rows]),
                                                    ConnectionClient.client_id == client_id)  # fmt: skip
                links = (await s.execute(links_query)).all()
            enabled: dict[str, set[str]] = {}
            for conn_id, cid in links:
                enabled.setdefault(conn_id, set()).add(cid)
            return tuple(
                ConnectionInfo(r.id, r.name, r.strategy, r.is_domain_connection,
                               frozenset(enabled.get(r.id, ())), r.options or {})
                for r in rows
            )  # fmt: skip

        return await self._cached(("connections", client_id or ""), load)

    async def tenant(self) -> dict[str, Any]:
        async def load() -> dict[str, Any]:
            async with self.db.cache_read() as s:
                row = await s.get(Tenant, 1)
                return merged_settings(row.settings if row else {})

        return await self._cached(("tenant", ""), load)
