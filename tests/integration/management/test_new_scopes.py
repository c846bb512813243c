"""A database made before the sessions, refresh tokens and client credentials endpoints gets their Management API
scopes at the next start (bootstrap), so ``consentry admin create-client`` can grant them."""

from __future__ import annotations

from sqlalchemy import select

from consentry.bootstrap import bootstrap
from consentry.runtime import Runtime
from consentry.storage.models import ResourceServer
from consentry.tenant import MANAGEMENT_SCOPES

NEW = {"read:sessions", "delete:sessions", "read:refresh_tokens", "delete:refresh_tokens", "read:client_credentials"}


async def _scopes(runtime: Runtime) -> list[str]:
    async with runtime.db.read() as s:
        api = await s.scalar(
            select(ResourceServer).where(ResourceServer.identifier == runtime.settings.management_audience)
        )
        assert api is not None
        return [v["value"] for v in api.scopes]


async def test_bootstrap_adds_the_missing_scopes_once(runtime: Runtime) -> None:
    async with runtime.db.transaction() as s:
        api = await s.scalar(
            select(ResourceServer).where(ResourceServer.identifier == runtime.settings.management_audience)
        )
        assert api is not None
        api.scopes = [v for v in api.scopes if v["value"] not in NEW]
    assert not NEW & set(await _scopes(runtime))
    await bootstrap(runtime)
    await bootstrap(runtime)
    assert sorted(await _scopes(runtime)) == sorted(MANAGEMENT_SCOPES)
