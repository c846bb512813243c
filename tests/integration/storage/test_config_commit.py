"""A configuration write forgets this process's cached configuration when it commits (``Database.transaction``),
so the writer sees it at once with no hand-written invalidation; other writes keep the cache."""

from __future__ import annotations

from consentry.commands.clients import ClientCreate, ClientUpdate
from consentry.runtime import Runtime
from consentry.services import audit
from consentry.services.clients import create_client, update_client


async def _client(rt: Runtime) -> str:
    async with rt.db.transaction() as s:
        row, _ = await create_client(rt, s, ClientCreate(name="Before", app_type="regular_web"))
    return row.client_id


async def test_a_committed_client_update_is_seen_by_the_next_lookup(runtime: Runtime) -> None:
    client_id = await _client(runtime)
    cached = await runtime.catalog.client(client_id)
    assert cached is not None and cached.name == "Before"
    async with runtime.db.transaction() as s:
        await update_client(runtime, s, client_id, ClientUpdate(name="After"))
    fresh = await runtime.catalog.client(client_id)
    assert fresh is not None and fresh.name == "After"


async def test_a_rolled_back_write_and_a_non_configuration_write_keep_the_cache(runtime: Runtime) -> None:
    client_id = await _client(runtime)
    await runtime.catalog.client(client_id)
    generation = runtime.catalog.generation
    try:
        async with runtime.db.transaction() as s:
            await update_client(runtime, s, client_id, ClientUpdate(name="Never"))
            raise RuntimeError("abort")
    except RuntimeError:
        pass
    async with runtime.db.transaction() as s:
        audit.record(s, runtime.clock.now(), audit.LOGIN_FAILURE, "not configuration")
    assert runtime.catalog.generation == generation
    cached = await runtime.catalog.client(client_id)
    assert cached is not None and cached.name == "Before"
