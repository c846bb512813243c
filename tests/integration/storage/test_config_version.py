"""The configuration change counter (``storage.config_version``) on SQLite and PostgreSQL: every write to a
cached table bumps it in the write's own transaction, whichever way it is written; hot-path writes do not."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import delete, insert, text, update
from sqlalchemy.ext.asyncio import create_async_engine

from consentry.runtime import Runtime
from consentry.storage import config_version
from consentry.storage.db import Database
from consentry.storage.models import CACHED_TABLES, Base, Client, ClientGrant, Tenant

# the latest migration that changed what the triggers watch (0004 made them, 0015 added signing_keys.alg)
MIGRATION = importlib.import_module("consentry.storage.migrations.versions.0015_signing_key_rings")


async def _version(db: Database) -> int:
    return await config_version.reader(db)()


@pytest.fixture
async def db(runtime: Runtime) -> AsyncIterator[Database]:
    """A second process's view of the same database (its own engine and counter reader)."""
    database = Database(runtime.db.url)
    yield database
    await database.dispose()


def _client_row(client_id: str, now: float) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "name": client_id,
        "token_endpoint_auth_method": "none",
        "callbacks": [],
        "allowed_logout_urls": [],
        "web_origins": [],
        "allowed_origins": [],
        "grant_types": [],
        "registration_type": "admin",
        "status": "active",
        "is_first_party": True,
        "attributes": {},
        "created_at": now,
        "updated_at": now,
    }


def test_the_migration_watches_every_column_of_every_cached_table_but_the_hot_ones() -> None:
    """A column added to a cached table needs a migration that extends the triggers: this fails until then."""
    from_models = {m.__tablename__: [c.name for c in m.__table__.columns] for m in CACHED_TABLES}
    assert MIGRATION.WATCHED == config_version.watched(from_models)
    assert "last_used_at" not in MIGRATION.WATCHED["clients"]


async def test_every_cached_table_has_its_triggers_after_the_migrations(runtime: Runtime) -> None:
    async with runtime.db.connect() as conn:
        if runtime.db.is_sqlite:
            query = "SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'"
        else:
            query = "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
        found = {(table, name) for table, name in (await conn.execute(text(query))).all()}
    for table in MIGRATION.WATCHED:
        names = {n for t, n in found if t == table and n.startswith(f"cv_{table}_")}
        assert len(names) == (3 if runtime.db.is_sqlite else 2), (table, names)


async def test_orm_and_core_writes_bump_the_counter_in_their_transaction(runtime: Runtime, db: Database) -> None:
    now = runtime.clock.now()
    start = await _version(db)
    async with runtime.db.write() as conn:  # Core insert
        await conn.execute(insert(Client), [_client_row("cv-core", now)])
    after_insert = await _version(db)
    assert after_insert > start
    async with runtime.db.transaction() as s:  # ORM update
        row = await s.get(Client, "cv-core")
        assert row is not None
        row.name = "renamed"
    after_update = await _version(db)
    assert after_update > after_insert
    async with runtime.db.transaction() as s:  # ORM delete (cascades)
        await s.execute(delete(Client).where(Client.client_id == "cv-core"))
    assert await _version(db) > after_update


async def test_a_rolled_back_write_does_not_bump_the_counter(runtime: Runtime, db: Database) -> None:
    start = await _version(db)
    with pytest.raises(RuntimeError):
        async with runtime.db.transaction() as s:
            await s.execute(update(Tenant).values(settings={"friendly_name": "never"}))
            raise RuntimeError("abort")
    assert await _version(db) == start


async def test_the_counter_moves_only_when_the_write_commits(runtime: Runtime, db: Database) -> None:
    """Read-your-writes needs the bump visible exactly with the write: never before its commit."""
    start = await _version(db)
    async with runtime.db.transaction() as s:
        await s.execute(update(Tenant).values(updated_at=runtime.clock.now()))
        await s.flush()
        assert await _version(db) == start  # another connection does not see it yet
    assert await _version(db) > start


async def test_last_used_at_writes_of_the_token_paths_do_not_bump_it(runtime: Runtime, db: Database) -> None:
    now = runtime.clock.now()
    async with runtime.db.write() as conn:
        await conn.execute(insert(Client), [_client_row("cv-hot", now)])
    start = await _version(db)
    async with runtime.db.write() as conn:
        await conn.execute(update(Client).where(Client.client_id == "cv-hot").values(last_used_at=now + 1))
    assert await _version(db) == start
    async with runtime.db.write() as conn:
        await conn.execute(update(Client).where(Client.client_id == "cv-hot").values(name="changed"))
    assert await _version(db) > start


async def test_every_cached_table_bumps_it(runtime: Runtime, db: Database) -> None:
    """One write per table (inserting, updating and deleting rows of client_grants and connection_clients)."""
    now = runtime.clock.now()
    async with runtime.db.write() as conn:
        await conn.execute(insert(Client), [_client_row("cv-all", now)])
    api = runtime.settings.management_audience
    writes = [
        "UPDATE tenant SET settings = settings",
        "UPDATE resource_servers SET name = name",
        f"INSERT INTO client_grants (id, client_id, audience, scope, allow_all_scopes, subject_type, is_system, "
        f"attributes, created_at) VALUES ('cg-cv', 'cv-all', '{api}', '[]', false, 'client', false, '{{}}', 0)",
        "UPDATE client_grants SET scope = '[\"x\"]' WHERE id = 'cg-cv'",
        "INSERT INTO connection_clients (connection_id, client_id) SELECT id, 'cv-all' FROM connections LIMIT 1",
        "DELETE FROM connection_clients WHERE client_id = 'cv-all'",
        "UPDATE connections SET options = options",
        "UPDATE signing_keys SET cert = cert",
        "DELETE FROM client_grants WHERE id = 'cg-cv'",
    ]
    for statement in writes:
        before = await _version(db)
        async with runtime.db.write() as conn:
            assert (await conn.execute(text(statement))).rowcount >= 1, statement
        assert await _version(db) > before, statement


async def test_one_transaction_moves_the_counter_once_on_postgresql_and_at_least_once_on_sqlite(
    runtime: Runtime, db: Database
) -> None:
    """PostgreSQL's triggers are per statement and bump once per transaction; SQLite's are per row."""
    now = runtime.clock.now()
    start = await _version(db)
    async with runtime.db.write() as conn:
        await conn.execute(insert(Client), [_client_row(f"cv-many-{i}", now) for i in range(20)])
        await conn.execute(delete(ClientGrant).where(ClientGrant.client_id.like("cv-many-%")))
    after = await _version(db)
    assert after > start if runtime.db.is_sqlite else after == start + 1


async def test_a_database_made_by_create_all_has_the_counter_and_its_triggers(tmp_path: Any) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'create_all.db'}"
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    db = Database(url)
    try:
        start = await _version(db)
        async with db.write() as conn:
            await conn.execute(insert(Client), [_client_row("cv-meta", 0.0)])
        assert await _version(db) == start + 1
    finally:
        await db.dispose()
        await engine.dispose()
