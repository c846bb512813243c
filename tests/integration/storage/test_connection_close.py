"""Connections go back to the pool at the end of their block, without giving the event loop away
(``Database._connection``, ``_session``): SQLAlchemy's shielded close took three turns of the loop, which a
SQLite writer spent still holding the process's write queue."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from consentry.storage.db import Database


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


@pytest.fixture
async def sqlite_db(sqlite_url: str) -> AsyncIterator[Database]:
    """Writers queue in the process and ORM sessions close without the shield only on SQLite."""
    database = Database(sqlite_url)
    yield database
    await database.dispose()


async def _runs_meanwhile(block: object) -> bool:
    """True when another task got to run while ``block``'s connection was closed."""
    ran: list[bool] = []

    async def other() -> None:
        ran.append(True)

    async with block as conn:  # type: ignore[attr-defined]
        await conn.execute(text("SELECT 1"))
        task = asyncio.create_task(other())
    meanwhile = bool(ran)
    await task
    return meanwhile


async def test_a_read_connection_closes_without_a_turn_of_the_loop(db: Database) -> None:
    assert await _runs_meanwhile(db.connect()) is False
    assert db.engine.pool.checkedout() == 0


async def test_an_orm_read_closes_without_a_turn_of_the_loop_on_sqlite(sqlite_db: Database) -> None:
    assert await _runs_meanwhile(sqlite_db.read()) is False
    assert sqlite_db.engine.pool.checkedout() == 0


async def test_a_sqlite_write_closes_without_a_turn_of_the_loop(sqlite_db: Database) -> None:
    # The write queue is released right after: no other request of the worker runs while it is still held.
    assert await _runs_meanwhile(sqlite_db.write()) is False
    assert sqlite_db.engine.pool.checkedout() == 0


async def test_a_broken_connection_is_still_given_back(db: Database) -> None:
    async with db.connect() as conn:
        await conn.execute(text("SELECT 1"))
        await conn.invalidate()
    assert db.engine.pool.checkedout() == 0
    async with db.connect() as conn:  # the pool replaced it
        assert (await conn.execute(text("SELECT 1"))).scalar() == 1
