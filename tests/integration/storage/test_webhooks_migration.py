"""Migration 0010 on a tenant that already exists: the built-in Management API gains the webhook scopes (once), and
grants already expired count as announced (no burst of old ``grant.expired`` events), live ones do not."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update

from consentry.bootstrap import bootstrap
from consentry.clock import Clock
from consentry.runtime import Runtime
from consentry.services.users import create_user
from consentry.storage.migrate import upgrade
from consentry.storage.models import Client, ResourceServer, UserGrant
from consentry.tenant import DEFAULT_DIRECTORY
from tests.conftest import make_settings
from tests.support.live_server import fresh_postgres_database

WEBHOOK_SCOPES = ["read:webhooks", "create:webhooks", "update:webhooks", "delete:webhooks"]


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'migrate.db'}"
    return asyncio.run(fresh_postgres_database(request.getfixturevalue("postgres_url")))


async def _no_keys(*algs: str) -> bool:
    return False


async def _tenant_at_0008(url: str, tmp_path: Path) -> tuple[Runtime, float]:
    """A bootstrapped tenant as 0008 left it: no webhook scopes, one expired and one live grant."""
    rt = Runtime.create(make_settings(url, tmp_path), Clock())
    # without signing keys: today's key store reads signing_keys.alg, a column of 0015 (keys are not what is tested)
    rt.keys.ensure_key = _no_keys  # type: ignore[method-assign]
    await bootstrap(rt)
    now = rt.clock.now()
    async with rt.db.transaction() as s:
        rs = await s.scalar(select(ResourceServer).where(ResourceServer.is_system))
        assert rs is not None
        old = [scope for scope in rs.scopes if scope["value"] not in WEBHOOK_SCOPES]
        await s.execute(update(ResourceServer).where(ResourceServer.id == rs.id).values(scopes=old))
        user, _ = await create_user(
            rt, s, connection=DEFAULT_DIRECTORY, email="ann@example.com", password="a long password"
        )
        client = {"name": "App", "token_endpoint_auth_method": "none", "created_at": now, "updated_at": now}
        await s.execute(insert(Client.__table__).values(client_id="app", **client))
        grant = {"user_id": user.user_id, "client_id": "app", "scope": ["read"], "created_at": now, "updated_at": now}
        await s.execute(
            insert(UserGrant.__table__).values(id="ugr_old", audience="https://a", expires_at=now - 5, **grant)
        )
        await s.execute(
            insert(UserGrant.__table__).values(id="ugr_live", audience="https://b", expires_at=now + 3600, **grant)
        )
    return rt, now


async def test_the_upgrade_adds_the_scopes_and_marks_expired_grants_announced(fresh_url: str, tmp_path: Path) -> None:
    await asyncio.to_thread(upgrade, fresh_url, "0008")
    rt, now = await _tenant_at_0008(fresh_url, tmp_path)
    await rt.db.dispose()
    await asyncio.to_thread(upgrade, fresh_url)
    await asyncio.to_thread(upgrade, fresh_url)  # a no-op when current
    rt = Runtime.create(make_settings(fresh_url, tmp_path), Clock())
    try:
        async with rt.db.read() as s:
            rs = await s.scalar(select(ResourceServer).where(ResourceServer.is_system))
            assert rs is not None
            values = [scope["value"] for scope in rs.scopes]
            assert all(values.count(v) == 1 for v in WEBHOOK_SCOPES)
            rows = (await s.execute(select(UserGrant.id, UserGrant.expiry_notified_at))).all()
        marks = {row.id: row.expiry_notified_at for row in rows}
        assert marks == {"ugr_old": pytest.approx(now - 5), "ugr_live": None}
    finally:
        await rt.db.dispose()
