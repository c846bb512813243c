"""Async engine and the unit of work: one transaction per request that writes.

SQLite has one writer at a time. Its busy handler waits by sleeping, and a transaction that waits
still holds a pooled connection, so concurrent writers in one process could exhaust the pool while
the lock holder needs a connection for a nested read. Within a process, SQLite write transactions
therefore queue on an ``asyncio.Lock`` first; only one per process ever waits on the database lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from consentry.storage import sqlite_inline


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _prepare_sqlite(url: str) -> bool:
    """True for SQLite URLs, after creating the database file's folder."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return False
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return True


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An engine for SQLite (WAL, foreign keys) or PostgreSQL (asyncpg)."""
    if _prepare_sqlite(url):
        engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size)
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        if len(args) == 1 and not kwargs.get("uri"):  # a plain file or :memory: (performance.md: no thread hops)
            engine.sync_engine.dispose()
            engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size,
                                         async_creator=sqlite_inline.connector(args[0], **kwargs))  # fmt: skip
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def create_nullpool_engine(url: str) -> AsyncEngine:
    engine = create_async_engine(url, poolclass=NullPool)
    if _prepare_sqlite(url):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


_in_write: ContextVar[bool] = ContextVar("consentry_in_write", default=False)


class Database:
    """Owns the engine; hands out sessions whose ``begin()`` block is the unit of work."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.engine = create_engine(url, pool_size=pool_size)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        self._write_lock: asyncio.Lock | None = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block ends, rolled back on any exception."""
        if not self.is_sqlite or _in_write.get():
            async with self.sessions() as session, session.begin():
                yield session
            return
        if self._write_lock is None:
            self._write_lock = asyncio.Lock()
        async with self._write_lock:
            token = _in_write.set(True)
            try:
                async with self.sessions() as session, session.begin():
                    yield session
            finally:
                _in_write.reset(token)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
