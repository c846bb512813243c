"""SQLite WAL checkpoints run on the database's own thread, and the WAL stays bounded (storage/checkpoint.py)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from consentry.storage import checkpoint
from consentry.storage.db import Database, inline_sqlite_file


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite+aiosqlite:////data/consentry.db", "/data/consentry.db"),
        ("sqlite+aiosqlite:///relative.db", "relative.db"),
        ("sqlite+aiosqlite:///:memory:", None),
        ("sqlite+aiosqlite://", None),
        ("sqlite+aiosqlite:///file:shared?mode=memory&cache=shared&uri=true", None),
        ("postgresql+asyncpg://u:p@127.0.0.1/db", None),
    ],
)
def test_which_databases_get_a_checkpointer(url: str, expected: str | None) -> None:
    assert inline_sqlite_file(url) == expected


def _checkpoint_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "sqlite-checkpoint"]


async def test_wal_is_copied_back_by_the_thread_and_stays_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checkpoint, "INTERVAL", 0.02)
    monkeypatch.setattr(checkpoint, "WAL_RESTART_BYTES", 256 * 1024)
    path = tmp_path / "c.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    before = len(_checkpoint_threads())
    try:
        async with db.write() as conn:
            await conn.execute(text("CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB)"))
            assert (await conn.execute(text("PRAGMA wal_autocheckpoint"))).scalar() == 0  # not in the commits
        assert len(_checkpoint_threads()) == before + 1
        largest = 0
        for i in range(600):  # ~2.4 MB of pages written, ten times the restart threshold
            async with db.write() as conn:
                await conn.execute(text("INSERT INTO blobs (body) VALUES (randomblob(4000))"))
            largest = max(largest, (tmp_path / "c.db-wal").stat().st_size)
            if i % 50 == 0:
                await asyncio.sleep(0.03)  # let the thread run between bursts
        await asyncio.sleep(0.2)
        wal = (tmp_path / "c.db-wal").stat().st_size
        assert wal <= 2 * checkpoint.WAL_RESTART_BYTES, wal
        assert largest < 2_400_000, largest  # it never grew with everything written
        async with db.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM blobs"))).scalar() == 600
    finally:
        await db.dispose()
    assert len(_checkpoint_threads()) == before  # stopped with the database
    assert (path.stat().st_size) > 2_000_000  # everything reached the database file
