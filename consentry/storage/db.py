"""Async engine and the unit of work: one transaction per request that writes.

SQLite has one writer at a time. Its busy handler waits by sleeping, and a transaction that waits
still holds a pooled connection, so concurrent writers in one process could exhaust the pool while
the lock holder needs a connection for a nested read. Within a process, SQLite write transactions
therefore queue on an ``asyncio.Lock`` first; only one per process ever waits on the database lock, and it
waits on the event loop (``BEGIN IMMEDIATE`` retried after ``asyncio.sleep``), not in SQLite's busy handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.pool import NullPool

from consentry.storage import sqlite_inline
from consentry.storage.checkpoint import WalCheckpointer
from consentry.storage.models import CACHED_TABLE_NAMES

BUSY_TIMEOUT_MS = 10000
# What repository functions that write inside the caller's transaction take: ``Database.write()``'s Core
# connection or ``Database.transaction()``'s session (both run Core statements).
Unit = AsyncConnection | AsyncSession
OrmUnit = AsyncSession  # ``Database.transaction()``'s session, for callers that change ORM rows in place


CONFIG_WRITTEN = "consentry.config_written"  # session.info flag: this transaction wrote configuration


class _WriteSession(Session):
    """The sessions of ``Database.transaction()``: they note when they write a table the caches read."""


def _note_config_rows(session: Session, _context: Any) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if getattr(obj, "__tablename__", None) in CACHED_TABLE_NAMES:
            session.info[CONFIG_WRITTEN] = True
            return


def _note_config_statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) in CACHED_TABLE_NAMES:
            state.session.info[CONFIG_WRITTEN] = True


event.listen(_WriteSession, "after_flush", _note_config_rows)
event.listen(_WriteSession, "do_orm_execute", _note_config_statement)


def _sqlite_pragmas(dbapi_connection: Any, record: Any) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.close()


def _inline_sqlite_pragmas(dbapi_connection: Any, record: Any) -> None:
    """As ``_sqlite_pragmas``; the WAL is checkpointed by the database's ``WalCheckpointer`` thread instead."""
    _sqlite_pragmas(dbapi_connection, record)
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA wal_autocheckpoint=0")
    cur.close()


def inline_sqlite_file(url: str) -> str | None:
    """The database file when ``url`` is a plain SQLite file (run inline on the event loop), else None."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    if parsed.query or parsed.database.startswith("file:"):
        return None
    return parsed.database


def _prepare_sqlite(url: str) -> bool:
    """True for SQLite URLs, after creating the database file's folder."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return False
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return True


def create_engine(url: str, *, pool_size: int) -> AsyncEngine:
    """An engine for SQLite (WAL, foreign keys) or PostgreSQL (asyncpg)."""
    if _prepare_sqlite(url):
        # Inline SQLite sessions hold a connection only briefly; each connection keeps its own page cache.
        pool_size = min(pool_size, 5)
        engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size)
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        pragmas = _sqlite_pragmas
        if len(args) == 1 and not kwargs.get("uri"):  # a plain file or :memory: (performance.md: no thread hops)
            engine.sync_engine.dispose()
            engine = create_async_engine(
                url,
                pool_size=pool_size,
                max_overflow=2 * pool_size,
                async_creator=sqlite_inline.connector(args[0], **kwargs),
            )
            if inline_sqlite_file(url):
                pragmas = _inline_sqlite_pragmas
        event.listen(engine.sync_engine, "connect", pragmas)
        return engine
    # No pre-ping: it cost a round trip per checkout, on every request. A connection found dead instead fails
    # its request (a 503) and invalidates the whole pool, so a restarted PostgreSQL costs one request per
    # process (tests/faults/test_postgres_restart.py); recycling bounds how long an idle connection is kept.
    # No overflow: SQLAlchemy closes overflow connections on check-in, so a burst beyond the pool would open and
    # close a connection (and a PostgreSQL backend) per request, costing more than waiting for a kept one
    # (performance.md). Connections open on first need, up to pool_size, and stay open.
    return create_async_engine(url, pool_size=pool_size, max_overflow=0, pool_recycle=1800)


def create_nullpool_engine(url: str) -> AsyncEngine:
    engine = create_async_engine(url, poolclass=NullPool)
    if _prepare_sqlite(url):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


_in_write: ContextVar[int] = ContextVar("consentry_in_write", default=0)  # SQLite write nesting depth
WRITE_LOCK_TIMEOUT = 10.0  # seconds a write waits for another process's write lock before a 503


async def _take_write_lock(conn: AsyncConnection) -> None:
    """Start the SQLite transaction with ``BEGIN IMMEDIATE``, waiting for the database write lock on the event loop.

    SQLite's busy handler sleeps in the calling thread; with inline SQLite that thread is the event loop,
    so a write waiting for another process's lock would stall every request of the worker for up to
    ``busy_timeout`` (measured: a JWKS request held 9.8 s behind one blocked write, docs/reliability.md).
    Here the lock is tried without waiting and retried after ``asyncio.sleep``; once taken, nothing in the
    transaction waits again (WAL readers never wait for the writer). After ``WRITE_LOCK_TIMEOUT`` the
    ``database is locked`` error stands (a 503).
    """
    raw = (await conn.get_raw_connection()).driver_connection
    assert raw is not None
    deadline, delay = time.monotonic() + WRITE_LOCK_TIMEOUT, 0.001
    await raw.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                await raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                    raise OperationalError("BEGIN IMMEDIATE", None, exc) from exc
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.005)
    finally:
        await raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


async def write_now(s: OrmUnit) -> None:
    """Send the unit's pending ORM changes now, inside its transaction: a refused write fails in the call that made
    it, and what follows (an audit entry, a webhook event) describes rows the database accepted."""
    await s.flush()


async def write_unless_taken(s: OrmUnit) -> bool:
    """``write_now``; False when the database refuses it for a key another transaction committed first (a client_id,
    an email, a grant for the same client and API)."""
    try:
        await s.flush()
    except IntegrityError:
        return False
    return True


def dialect_insert(dialect: str) -> Any:
    """The ``insert`` of ``dialect`` ("sqlite" or "postgresql"), with its ``on_conflict_*``; only the dialect in use
    is imported (the other one costs ~2 MB per worker, docs/performance.md)."""
    return importlib.import_module(f"sqlalchemy.dialects.{dialect}").insert


class Database:
    """Owns the engine; hands out sessions whose ``begin()`` block is the unit of work."""

    def __init__(self, url: str, *, pool_size: int = 20) -> None:
        self.url = url
        self.engine = create_engine(url, pool_size=pool_size)
        self.sessions = async_sessionmaker(
            self.engine, expire_on_commit=False, autoflush=False, sync_session_class=_WriteSession
        )
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        # SQLite begins no transaction for a SELECT anyway (and resetting its isolation level costs a statement)
        self._reader = self.engine if self.is_sqlite else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._write_lock: asyncio.Lock | None = None
        path = inline_sqlite_file(url)
        self._inline = path is not None
        self._checkpointer = WalCheckpointer(path) if path else None
        self._aux: AsyncEngine | None = None
        self._aux_sessions: async_sessionmaker[AsyncSession] | None = None
        self._aux_reader: AsyncEngine | None = None
        self.on_dispose: list[Callable[[], Awaitable[None]]] = []  # helpers holding connections of their own
        # Called after a ``transaction()`` that wrote configuration commits (``Runtime``: the catalog forgets
        # what it cached, so the rest of the request and this process see the write; others follow the counter).
        self.after_config_commit: list[Callable[[], None]] = []

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block ends, rolled back on any exception. When it wrote a table
        that per-process caches read, ``after_config_commit`` runs once it committed."""
        async with self._writer():
            async with self._session(self.sessions) as session, session.begin():
                if self._must_lock():
                    await _take_write_lock(await session.connection())
                yield session
            written = session.info.pop(CONFIG_WRITTEN, False)
        if written:
            for hook in self.after_config_commit:
                hook()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """One transaction on a Core connection, for the hot write paths (no ORM unit of work).

        The same unit of work as ``transaction()`` at a third of the cost per statement (performance.md).
        """
        async with self._writer():
            async with self._connection(self.engine) as conn, conn.begin():
                if self._must_lock():
                    await _take_write_lock(conn)
                yield conn

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        """A Core connection in autocommit mode, for reads and single-statement writes.

        On PostgreSQL each statement is its own transaction: no ``BEGIN``/``COMMIT`` round trips around it.
        """
        async with self._connection(self._reader, autocommit=not self.is_sqlite) as conn:
            yield conn

    @asynccontextmanager
    async def _connection(self, engine: AsyncEngine, *, autocommit: bool = False) -> AsyncIterator[AsyncConnection]:
        """``engine.connect()``, closed by a plain ``await`` where closing cannot suspend.

        ``async with engine.connect()`` closes the connection in a task of its own, shielded from cancellation:
        three turns of the event loop per connection use, which a SQLite writer spent still holding this
        process's write queue (measured with 32 concurrent refreshes: the queue was held 1.2 ms per write, a
        fraction of it the write itself). Closing never suspends for an inline SQLite connection, nor for a
        PostgreSQL connection in autocommit (its rollback on return has no transaction to end), so no
        cancellation can cut those closes short. Anything else, or a connection found broken, keeps the shield.
        """
        if not (self._inline or autocommit):
            async with engine.connect() as conn:
                yield conn
            return
        conn = await engine.connect()
        try:
            yield conn
        finally:
            if conn.invalidated:
                await conn.__aexit__(None, None, None)  # SQLAlchemy's own close, shielded
            else:
                await conn.close()

    @asynccontextmanager
    async def _session(self, maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
        """An ORM session, closed by a plain ``await`` on inline SQLite (see ``_connection``)."""
        if not self._inline:
            async with maker() as session:
                yield session
            return
        session = maker()
        try:
            yield session
        finally:
            await session.close()

    def _must_lock(self) -> bool:
        return self.is_sqlite and _in_write.get() == 1

    @asynccontextmanager
    async def _writer(self) -> AsyncIterator[None]:
        """SQLite: queue the writers of this process; the outermost one takes the database lock."""
        if not self.is_sqlite:
            yield
            return
        if self._checkpointer is not None:
            self._checkpointer.ensure_started()
        depth = _in_write.get()
        if self._write_lock is None:
            self._write_lock = asyncio.Lock()
        async with contextlib.nullcontext() if depth else self._write_lock:
            token = _in_write.set(depth + 1)
            try:
                yield
            finally:
                _in_write.reset(token)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._session(self.sessions) as session:
            yield session

    @asynccontextmanager
    async def cache_read(self) -> AsyncIterator[AsyncSession]:
        """A read for the process caches (catalog, signing keys), from a small pool of its own.

        Cache misses happen inside requests that already hold a pooled connection (often in a write
        transaction); drawing from the same pool, a burst of such requests could take every connection
        and then wait forever for one more.
        """
        async with self._session(self._cache_engine()) as session:
            yield session

    def _cache_engine(self) -> async_sessionmaker[AsyncSession]:
        if self._aux_sessions is None:
            self._aux = create_engine(self.url, pool_size=2)
            self._aux_sessions = async_sessionmaker(self._aux, expire_on_commit=False, autoflush=False)
            self._aux_reader = (
                self._aux if self.is_sqlite else self._aux.execution_options(isolation_level="AUTOCOMMIT")
            )
        return self._aux_sessions

    @asynccontextmanager
    async def cache_connect(self) -> AsyncIterator[AsyncConnection]:
        """A Core connection from the cache pool (see ``cache_read``), autocommit on PostgreSQL."""
        self._cache_engine()
        assert self._aux_reader is not None
        async with self._connection(self._aux_reader, autocommit=not self.is_sqlite) as conn:
            yield conn

    async def dispose(self) -> None:
        for close in self.on_dispose:
            await close()
        if self._checkpointer is not None:
            await asyncio.to_thread(self._checkpointer.stop)
        await self.engine.dispose()
        if self._aux is not None:
            await self._aux.dispose()
