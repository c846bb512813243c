"""Cached reads of the configuration the hot paths need: clients, APIs, client grants, connections, tenant.

Read-your-writes on every worker and node: every configuration write bumps a shared counter in its own
transaction (database triggers, ``storage.config_version``). Within a request (``RequestSnapshot``), the
first lookup reads the counter and drops every entry when it moved, so a write is seen by every process as
soon as it returned; every later lookup of a key in the same request returns the value its first lookup
returned (one snapshot per request). Outside a request (background tasks) no counter is read: entries live
``ttl`` seconds (``CONSENTRY_CACHE_TTL``, now only a last bound), are dropped at once in the process that
writes and, on PostgreSQL, when the triggers' ``NOTIFY`` arrives (``storage.notify``, the fast path).
Nothing here is authoritative state.

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
from contextvars import ContextVar
from typing import Any, TypeVar

from starlette.types import ASGIApp, Receive, Scope, Send

from consentry.clock import Clock
from consentry.config_records import ApiInfo, ClientGrantInfo, ClientInfo, ConnectionInfo
from consentry.storage import config_snapshot
from consentry.storage.db import Database
from consentry.tenant import merged_settings

T = TypeVar("T")
log = logging.getLogger("consentry")
MAX_ENTRIES = 50_000


class Snapshot:
    """What one request has read from the catalog: the counter check, then the value of every key looked up."""

    __slots__ = ("values", "checked", "checking")

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], Any] = {}
        self.checked = False
        self.checking: asyncio.Event | None = None


_snapshot: ContextVar[Snapshot | None] = ContextVar("consentry_catalog_snapshot", default=None)


class RequestSnapshot:
    """ASGI middleware: each HTTP request reads the catalog through a ``Snapshot`` of its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _snapshot.set(Snapshot())
        try:
            await self.app(scope, receive, send)
        finally:
            _snapshot.reset(token)


class Catalog:
    def __init__(
        self, db: Database, clock: Clock, ttl: float, read_version: Callable[[], Awaitable[int]] | None = None
    ) -> None:
        self.db, self.clock, self.ttl = db, clock, ttl
        self._entries: dict[tuple[str, str], tuple[float, Any]] = {}
        self._loading: dict[tuple[str, str], asyncio.Future[Any]] = {}
        self._refreshing: dict[tuple[str, str], asyncio.Task[Any]] = {}
        self._generation = 0
        # the shared change counter (storage.config_version); None: not checked (entries live ttl)
        self.read_version = read_version
        self._version: int | None = None
        self._checks_started = self._check_applied = 0
        # awaited when the counter moved, before the request goes on (signing keys reload)
        self.on_change: list[Callable[[], Awaitable[None]]] = []

    async def fresh(self) -> None:
        """Within a request: make sure this process has seen every configuration write that returned before
        the request began (the counter, read once per request). Outside a request: nothing."""
        snap = _snapshot.get()
        if snap is None or snap.checked or self.read_version is None:
            return
        if snap.checking is not None:  # another lookup of this request is reading the counter
            await snap.checking.wait()
            return
        snap.checking = asyncio.Event()
        try:
            await self._check()
        finally:
            snap.checked = True
            snap.checking.set()

    async def _check(self) -> None:
        assert self.read_version is not None
        self._checks_started += 1
        started = self._checks_started
        try:
            version: int | None = await self.read_version()
        except Exception as exc:  # noqa: BLE001 - unknown: assume it moved, the loads that follow report errors
            log.warning("reading the configuration version failed: %s", type(exc).__name__)
            version = None
        if started < self._check_applied:
            return  # a check that started later has already been applied (answers may arrive out of order)
        self._check_applied = started
        if version is not None and version == self._version:
            return
        self._version = version
        self.invalidate_local()
        for hook in self.on_change:
            try:
                await hook()
            except Exception as exc:  # noqa: BLE001 - the hook's own TTL still bounds its staleness
                log.warning("reloading after a configuration change failed: %s", type(exc).__name__)

    async def _cached(self, key: tuple[str, str], load: Callable[[], Awaitable[T]]) -> T:
        snap = _snapshot.get()
        if snap is None:
            return await self._shared(key, load)
        if key in snap.values:
            return snap.values[key]  # type: ignore[no-any-return]
        if not snap.checked:
            await self.fresh()
        value = await self._shared(key, load)
        snap.values.setdefault(key, value)
        return snap.values[key]  # type: ignore[no-any-return]

    async def _shared(self, key: tuple[str, str], load: Callable[[], Awaitable[T]]) -> T:
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
                return await asyncio.shield(pending)
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
        """Forget everything (called after any configuration write in this process), including what the
        current request has read: it sees its own writes. The other processes learn of the write from the
        counter its transaction bumped (and, on PostgreSQL, the triggers' NOTIFY)."""
        self.invalidate_local()
        snap = _snapshot.get()
        if snap is not None:
            snap.values.clear()

    @property
    def generation(self) -> int:
        """Changes at every invalidation; per-process caches elsewhere (CIMD memo, CORS origins) compare it to
        know they are stale."""
        return self._generation

    def invalidate_local(self) -> None:
        """Forget everything: the counter moved, or the notification listener heard of another process's write."""
        self._entries.clear()
        self._loading.clear()
        self._generation += 1

    async def client(self, client_id: str) -> ClientInfo | None:
        async def load() -> ClientInfo | None:
            row = await config_snapshot.client(self.db, client_id)
            return ClientInfo.from_row(row) if row else None

        return await self._cached(("client", client_id), load)

    async def api(self, identifier: str) -> ApiInfo | None:
        async def load() -> ApiInfo | None:
            row = await config_snapshot.api(self.db, identifier)
            return ApiInfo.from_row(row) if row else None

        return await self._cached(("api", identifier), load)

    async def client_grants(self, audience: str, client_id: str | None = None) -> tuple[ClientGrantInfo, ...]:
        """The client grants for one API: all of them, or (``client_id`` given) that client's own grants and
        the defaults (``client_id`` NULL), which is all ``access.effective_client_grant`` looks at."""

        async def load() -> tuple[ClientGrantInfo, ...]:
            rows = await config_snapshot.client_grants(self.db, audience, client_id)
            return tuple(ClientGrantInfo.from_row(r) for r in rows)

        return await self._cached(("grants", f"{audience}\x00{client_id or ''}"), load)

    async def connections(self, client_id: str | None = None) -> tuple[ConnectionInfo, ...]:
        """Every connection; ``enabled_clients`` lists all enabled clients, or (``client_id`` given) only
        that client when the connection is enabled for it."""

        async def load() -> tuple[ConnectionInfo, ...]:
            rows, links = await config_snapshot.connections(self.db, client_id)
            enabled: dict[str, set[str]] = {}
            for conn_id, cid in links:
                enabled.setdefault(conn_id, set()).add(cid)
            return tuple(
                ConnectionInfo(
                    r.id,
                    r.name,
                    r.strategy,
                    r.is_domain_connection,
                    frozenset(enabled.get(r.id, ())),
                    r.options or {},
                    r.display_name,
                    (r.attributes or {}).get("show_as_button", True) is not False,
                )
                for r in rows
            )

        return await self._cached(("connections", client_id or ""), load)

    async def tenant(self) -> dict[str, Any]:
        async def load() -> dict[str, Any]:
            return merged_settings(await config_snapshot.tenant_settings(self.db))

        return await self._cached(("tenant", ""), load)
