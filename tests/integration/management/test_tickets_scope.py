"""``create:user_tickets``: on the Management API of a fresh tenant, and added at start to one bootstrapped before."""

from __future__ import annotations

from sqlalchemy import select

from consentry.bootstrap import bootstrap
from consentry.runtime import Runtime
from consentry.storage.models import ResourceServer


async def _scopes(rt: Runtime) -> list[str]:
    async with rt.db.read() as s:
        row = await s.scalar(select(ResourceServer).where(ResourceServer.identifier == rt.settings.management_audience))
    assert row is not None
    return [entry["value"] for entry in row.scopes]


async def test_an_older_management_api_gets_the_new_scope_at_start(runtime: Runtime) -> None:
    assert "create:user_tickets" in await _scopes(runtime)
    async with runtime.db.transaction() as s:  # as bootstrapped by a version without tickets
        row = await s.scalar(
            select(ResourceServer).where(ResourceServer.identifier == runtime.settings.management_audience)
        )
        assert row is not None
        row.scopes = [entry for entry in row.scopes if entry["value"] != "create:user_tickets"]
    before = await _scopes(runtime)
    await bootstrap(runtime)
    after = await _scopes(runtime)
    assert after == [*before, "create:user_tickets"]
    await bootstrap(runtime)  # idempotent
    assert await _scopes(runtime) == after
