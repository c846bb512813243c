"""Cross-process cache invalidation over PostgreSQL ``LISTEN``/``NOTIFY`` (channel ``consentry_config``): the fast path.

Every server process caches configuration (``Catalog``) and the signing keys (``KeyStore``). What makes a
request correct is the shared change counter (``storage.config_version``), read once per request; this module
only clears caches early, which matters for background work (it reads no counter). The counter's triggers send
``NOTIFY consentry_config, 'config'`` when a configuration write commits, whichever process wrote (the CLI
included); key rotations and revocations also publish ``'keys <origin>'``. A listener task in every process
clears its catalog (``config``) or reloads its keys (``keys``) when one arrives.

Delivery is best effort: a process whose listening connection broke reconnects with backoff and then clears
everything it caches, because it may have missed notifications meanwhile. SQLite deployments are one machine
with no server to relay messages; the counter alone serves them (docs/deployment.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

log = logging.getLogger("consentry.notify")

CHANNEL = "consentry_config"
CONFIG, KEYS = "config", "keys"
PING_SECONDS = 10.0  # a listening connection that stops answering is replaced after this long
RETRY_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)  # reconnect backoff, the last one repeats


class Notifier:
    """Publishes configuration changes to the other processes and applies theirs to this one."""

    def __init__(self, url: str, on_config: Callable[[], None], on_keys: Callable[[], Awaitable[None]]) -> None:
        self.url, self.on_config, self.on_keys = url, on_config, on_keys
        self.origin = secrets.token_hex(8)  # our own notifications come back to us; they are ignored
        self.connected = asyncio.Event()
        self.received = 0
        self._listener: asyncio.Task[None] | None = None
        self._sender: asyncio.Task[None] | None = None
        self._pending: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        # autocommit: a session inside a transaction gets its notifications only when the transaction ends
        self._engine = create_async_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")

    # publishing

    def publish(self, kind: str) -> None:
        """Tell the other processes (called after the write committed). Does nothing until ``start()``."""
        if self._listener is None:
            return
        self._pending.add(kind)
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send(), name="consentry-notify-send")

    async def _send(self) -> None:
        while self._pending:
            kinds, self._pending = sorted(self._pending), set()
            try:
                async with self._engine.connect() as conn:
                    for kind in kinds:
                        await conn.execute(
                            text("SELECT pg_notify(:channel, :payload)"),
                            {"channel": CHANNEL, "payload": f"{kind} {self.origin}"},
                        )
            except Exception as exc:  # noqa: BLE001 - the others fall back to their cache TTL
                log.warning("could not publish %s to the other processes: %s", ",".join(kinds), type(exc).__name__)

    # listening

    async def start(self) -> None:
        """Start listening (app lifespan)."""
        if self._listener is None:
            self._listener = asyncio.get_running_loop().create_task(self._listen(), name="consentry-notify-listen")

    async def stop(self) -> None:
        for task in (self._listener, self._sender, *self._tasks):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._listener = self._sender = None
        await self._engine.dispose()

    async def _listen(self) -> None:
        failures = 0
        while True:
            try:
                async with self._engine.connect() as conn:
                    raw = (await conn.get_raw_connection()).driver_connection
                    assert raw is not None
                    await raw.add_listener(CHANNEL, self._received)
                    if failures or self.received:
                        self._resync()  # we may have missed notifications while we were not listening
                    failures = 0
                    lost = asyncio.Event()
                    raw.add_termination_listener(lambda _conn, lost=lost: lost.set())
                    self.connected.set()
                    await self._watch(conn, lost)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database went away: retry
                log.warning("listening for configuration changes failed (%s); retrying", type(exc).__name__)
            self.connected.clear()
            failures += 1
            await asyncio.sleep(RETRY_SECONDS[min(failures, len(RETRY_SECONDS)) - 1])

    async def _watch(self, conn: AsyncConnection, lost: asyncio.Event) -> None:
        """Raise when the connection is gone: closed by the server (``lost``) or not answering a ping sent
        every ``PING_SECONDS`` (a dead peer on a network that drops packets)."""
        while not lost.is_set():
            try:
                await asyncio.wait_for(lost.wait(), PING_SECONDS)
            except TimeoutError:
                await asyncio.wait_for(conn.exec_driver_sql("SELECT 1"), PING_SECONDS)
        raise ConnectionError("the listening connection was closed")

    def _received(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        kind, _, origin = payload.partition(" ")
        if origin == self.origin:
            return
        self.received += 1
        if kind == CONFIG:
            self.on_config()
        elif kind == KEYS:
            self._spawn(self.on_keys())

    def _resync(self) -> None:
        self.on_config()
        self._spawn(self.on_keys())

    def _spawn(self, work: Awaitable[None]) -> None:
        async def run() -> None:
            try:
                await work
            except Exception as exc:  # noqa: BLE001 - the TTL reload will try again
                log.warning("reloading after a notification failed: %s", type(exc).__name__)

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
