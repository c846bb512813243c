"""Fixtures per actor, over both databases (SQLite and a real PostgreSQL)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import create_async_engine

from consentry.app import create_app
from consentry.bootstrap import bootstrap
from consentry.clock import Clock
from consentry.runtime import Runtime
from consentry.settings import Settings
from consentry.storage.migrate import upgrade
from consentry.storage.models import Base, SigningKey
from tests.security.summary import pytest_runtest_logreport, pytest_terminal_summary  # noqa: F401 - run summary
from tests.support.postgres import PostgresServer

ISSUER = "http://testserver/"
TEST_KEK = "test-key-encryption-key"
KEEP_TABLES = {"signing_keys", "alembic_version", "config_version"}  # config_version: one counter row


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    external = os.environ.get("TEST_POSTGRES_URL")
    if external:
        yield external
        return
    server = PostgresServer()
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'consentry.db'}"


_migrated: set[str] = set()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Every test that uses the database runs once on SQLite and once on PostgreSQL."""
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    if url not in _migrated:
        upgrade(url)
        _migrated.add(url)
    return url


def make_settings(database_url: str, tmp_path: Any, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "issuer": ISSUER,
        "data_dir": tmp_path,
        "key_encryption_key": TEST_KEK,
        "cache_ttl": 0.0,
    }
    values.update(overrides)
    return Settings(**values)


async def _truncate(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in KEEP_TABLES:
                await conn.execute(delete(table))
        # RSA keys are kept (slow to make); the ES256 ring, which only some tests make, starts absent in each test
        await conn.execute(delete(SigningKey).where(SigningKey.alg != "RS256"))
    await engine.dispose()


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module to change settings for its tests."""
    return {}


@pytest.fixture
async def runtime(database_url: str, tmp_path: Any, settings_overrides: dict[str, Any]) -> AsyncIterator[Runtime]:
    await _truncate(database_url)
    rt = Runtime.create(make_settings(database_url, tmp_path, **settings_overrides), Clock())
    await bootstrap(rt)
    yield rt
    await rt.db.dispose()


@pytest.fixture
async def app(runtime: Runtime) -> Any:
    return create_app(runtime=runtime)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER.rstrip("/")) as c:
        yield c


@pytest.fixture
async def m2m_credentials(runtime: Runtime) -> dict[str, str]:
    """A first-party M2M client with every Management API scope (as ``consentry admin create-client``)."""
    from consentry.commands.client_grants import ClientGrantCreate
    from consentry.commands.clients import ClientCreate
    from consentry.services.client_grants import create_client_grant
    from consentry.services.clients import create_client
    from consentry.tenant import MANAGEMENT_SCOPES

    async with runtime.db.transaction() as s:
        row, secret = await create_client(
            runtime, s, ClientCreate(name="ops", app_type="non_interactive", grant_types=["client_credentials"])
        )
        await create_client_grant(
            runtime,
            s,
            ClientGrantCreate(
                client_id=row.client_id,
                audience=runtime.settings.management_audience,
                scope=list(MANAGEMENT_SCOPES),
                subject_type="client",
            ),
        )
    runtime.catalog.invalidate()
    assert secret
    return {"client_id": row.client_id, "client_secret": secret}


@pytest.fixture
async def mgmt_token(client: httpx.AsyncClient, m2m_credentials: dict[str, str], runtime: Runtime) -> str:
    r = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "audience": runtime.settings.management_audience, **m2m_credentials},
    )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


@pytest.fixture
async def mgmt(client: httpx.AsyncClient, mgmt_token: str) -> httpx.AsyncClient:
    """The test client, authorized for the whole Management API."""
    client.headers["Authorization"] = f"Bearer {mgmt_token}"
    return client
