"""The shared configuration change counter: one row in ``config_version``, bumped by database triggers.

Every table a per-process cache reads (``WATCHED``) has triggers that bump ``config_version.version`` in the
same transaction as the write, whichever process or code path writes (Management API, dashboard, CLI, DCR,
Core or ORM), so no write can forget it. Columns that hot paths write on every request (``clients.last_used_at``)
are left out of the ``UPDATE OF`` list, so those writes do not bump it. Each request reads the counter once
(``Catalog``) and drops the process's cached entries when it moved: a write is visible on every worker and
node as soon as it returns.

PostgreSQL: the triggers are deferred constraint triggers, so the counter row is locked only while the writing
transaction commits (writers never hold it while taking other locks: no deadlock), it is bumped once per
transaction, and they ``pg_notify`` the ``consentry_config`` channel (the fast path, ``storage.notify``).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from consentry.storage.db import Database, inline_sqlite_file

TABLE = "config_version"
# Written on every token request (services.usage); never configuration.
HOT_COLUMNS = {"clients": frozenset({"last_used_at"})}
READ = "SELECT version FROM config_version WHERE id = 1"
_BUMP = (
    "INSERT INTO config_version (id, version) VALUES (1, 1) "
    "ON CONFLICT (id) DO UPDATE SET version = config_version.version + 1"
)
PG_FUNCTION = "consentry_config_changed"
PG_CHANNEL = "consentry_config"  # storage.notify.CHANNEL


def watched(metadata_tables: Mapping[str, Iterable[str]]) -> dict[str, tuple[str, ...]]:
    """``{table: columns whose update is a configuration change}`` from ``{table: all its columns}``."""
    return {t: tuple(c for c in cols if c not in HOT_COLUMNS.get(t, ())) for t, cols in metadata_tables.items()}


def _names(table: str) -> tuple[str, str]:
    return f"cv_{table}_write", f"cv_{table}_update"


def sqlite_ddl(tables: Mapping[str, tuple[str, ...]]) -> list[str]:
    statements = []
    for table, columns in tables.items():
        write, upd = _names(table)
        for event in ("INSERT", "DELETE"):
            statements.append(f"CREATE TRIGGER {write}_{event.lower()} AFTER {event} ON {table} BEGIN {_BUMP}; END")
        statements.append(f"CREATE TRIGGER {upd} AFTER UPDATE OF {', '.join(columns)} ON {table} BEGIN {_BUMP}; END")
    return statements


def postgresql_ddl(tables: Mapping[str, tuple[str, ...]]) -> list[str]:
    # Once per transaction: the deferred triggers fire per row at commit (a prune deleting thousands of clients).
    statements = [
        f"""CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF coalesce(current_setting('consentry.config_bumped', true), '') <> txid_current()::text THEN
    PERFORM set_config('consentry.config_bumped', txid_current()::text, true);
    {_BUMP};
    PERFORM pg_notify('{PG_CHANNEL}', 'config');
  END IF;
  RETURN NULL;
END $$"""
    ]
    for table, columns in tables.items():
        write, upd = _names(table)
        tail = f"ON {table} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()"
        statements.append(f"CREATE CONSTRAINT TRIGGER {write} AFTER INSERT OR DELETE {tail}")
        statements.append(f"CREATE CONSTRAINT TRIGGER {upd} AFTER UPDATE OF {', '.join(columns)} {tail}")
    return statements


def rewatch_ddl(dialect: str, table: str, columns: tuple[str, ...]) -> list[str]:
    """Replace the update trigger of ``table`` so that it watches ``columns`` (a migration that adds a column to a
    cached table; the insert and delete triggers need no change)."""
    ddl = sqlite_ddl if dialect == "sqlite" else postgresql_ddl
    _, upd = _names(table)
    drop = f"DROP TRIGGER IF EXISTS {upd}" + ("" if dialect == "sqlite" else f" ON {table}")
    return [drop] + [s for s in ddl({table: columns}) if f"TRIGGER {upd} " in s]


def drop_ddl(dialect: str, tables: Iterable[str]) -> list[str]:
    statements = []
    for table in tables:
        write, upd = _names(table)
        if dialect == "sqlite":
            statements += [
                f"DROP TRIGGER IF EXISTS {write}_insert",
                f"DROP TRIGGER IF EXISTS {write}_delete",
                f"DROP TRIGGER IF EXISTS {upd}",
            ]
        else:
            statements += [f"DROP TRIGGER IF EXISTS {write} ON {table}", f"DROP TRIGGER IF EXISTS {upd} ON {table}"]
    if dialect != "sqlite":
        statements.append(f"DROP FUNCTION IF EXISTS {PG_FUNCTION}()")
    return statements


def create_triggers(conn: Connection, tables: Mapping[str, tuple[str, ...]]) -> None:
    """Create the counter's row and triggers on an open (synchronous) connection: migrations, ``create_all``."""
    dialect = conn.dialect.name
    conn.execute(text("INSERT INTO config_version (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING"))
    for statement in sqlite_ddl(tables) if dialect == "sqlite" else postgresql_ddl(tables):
        conn.exec_driver_sql(statement)


def reader(db: Database) -> Callable[[], Awaitable[int]]:
    """``await read()``: the counter as committed when the call began (0 when the row is missing).

    SQLite file: a dedicated ``sqlite3`` connection queried inline (a few µs; WAL readers never wait).
    PostgreSQL: a dedicated connection (no pool checkout, a prepared statement: one round trip), with at most
    one query in flight per process: a caller that arrives while one runs waits for the next one, which starts
    after it arrived (so it sees every write that returned before), and all such callers share it.
    Anything else: the same, through the cache pool.
    """
    path = inline_sqlite_file(db.url)
    if path is not None:
        sqlite_reader = _SqliteReader(path)
        db.on_dispose.append(sqlite_reader.close)
        return sqlite_reader.read
    if db.is_sqlite:
        return _Coalesced(lambda: _pooled_read(db)).read
    pg_reader = _PostgresReader(db.url)
    db.on_dispose.append(pg_reader.close)
    return _Coalesced(pg_reader.read).read


class _SqliteReader:
    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None

    async def read(self) -> int:
        if self._conn is None:
            self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA busy_timeout=100")
        try:
            row = self._conn.execute(READ).fetchone()
        except sqlite3.Error:
            await self.close()
            raise
        return int(row[0]) if row else 0

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


async def _pooled_read(db: Database) -> int:
    async with db.cache_connect() as conn:
        return int((await conn.exec_driver_sql(READ)).scalar() or 0)


class _PostgresReader:
    """One connection of its own, opened on first use and again after a failure."""

    def __init__(self, url: str) -> None:
        self._engine = create_async_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        self._conn: AsyncConnection | None = None
        self._raw: Any = None

    async def read(self) -> int:
        if self._raw is None:
            self._conn = await self._engine.connect()
            self._raw = (await self._conn.get_raw_connection()).driver_connection
        try:
            value = await self._raw.fetchval(READ)
        except Exception:
            await self.close()
            raise
        return int(value or 0)

    async def close(self) -> None:
        conn, self._conn, self._raw = self._conn, None, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()
        await self._engine.dispose()


class _Coalesced:
    """At most one ``query()`` in flight; callers that arrive meanwhile share the next one."""

    def __init__(self, query: Callable[[], Awaitable[int]]) -> None:
        self.query = query
        self._next: asyncio.Future[int] | None = None
        self._running = False
        self._task: asyncio.Future[None] | None = None  # referenced while it runs

    async def read(self) -> int:
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        future = self._next
        if not self._running:
            self._running = True
            self._task = asyncio.ensure_future(self._run())
        return await asyncio.shield(future)

    async def _run(self) -> None:
        try:
            while self._next is not None:
                future, self._next = self._next, None
                try:
                    value = await self.query()
                except Exception as exc:  # noqa: BLE001 - handed to the waiters
                    future.set_exception(exc)
                    future.exception()  # retrieved: a waiter that was cancelled does not warn
                except BaseException:
                    future.cancel()
                    raise
                else:
                    future.set_result(value)
        finally:
            self._running = False
