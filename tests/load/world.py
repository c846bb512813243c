"""The tenant the live fault, load and cluster tests run against, seeded straight into a database.

``seed(url, data_dir, issuer, users=N)`` migrates and bootstraps the database (with the live servers' key-encryption
key, so they can use the signing key made here), then creates through the services what a partner
integration needs: the Social API (offline access), a third-party web app with a client grant, a
first-party M2M client with the Management API scopes, and ``N`` users on the domain-level database
connection (inserted in bulk with one password hash: argon2 is the slow part of a login, not of seeding).
The result is a ``World`` that round-trips through JSON, for drivers that run in another process.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy import insert, select, update

from consentry.clock import Clock
from consentry.runtime import Runtime
from consentry.settings import Settings
from consentry.storage.migrate import upgrade
from consentry.storage.models import Connection, User
from consentry.tenant import DEFAULT_DIRECTORY, MANAGEMENT_SCOPES
from tests.support.live_server import TEST_KEK, LiveProcess, free_port, live_server

API = "https://social.example.com"
CALLBACK = "https://partner.example.com/callback"
PASSWORD = "correct horse battery"
SCOPE = "offline_access read:posts"


@dataclass
class World:
    app_id: str  # third-party regular web app (rotating refresh tokens)
    app_secret: str
    m2m_id: str  # first-party M2M client, every Management API scope
    m2m_secret: str
    management_audience: str
    emails: list[str] = field(default_factory=list)
    user_ids: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> World:
        return cls(**json.loads(text))


def live_settings(url: str, data_dir: Path, issuer: str) -> Settings:
    return Settings(database_url=url, issuer=issuer, data_dir=data_dir, key_encryption_key=TEST_KEK, cache_ttl=0.0)


async def seed_async(url: str, data_dir: Path, issuer: str, users: int = 20) -> World:
    from consentry.bootstrap import bootstrap
    from consentry.commands.client_grants import ClientGrantCreate
    from consentry.commands.clients import ClientCreate
    from consentry.commands.resource_servers import ResourceServerCreate, ScopeIn
    from consentry.login.passwords import hash_password
    from consentry.services.client_grants import create_client_grant
    from consentry.services.clients import create_client
    from consentry.services.resource_servers import create_resource_server

    rt = Runtime.create(live_settings(url, data_dir, issuer), Clock())
    try:
        await bootstrap(rt)
        async with rt.db.transaction() as s:
            await create_resource_server(
                rt,
                s,
                ResourceServerCreate(
                    identifier=API,
                    name="Social API",
                    allow_offline_access=True,
                    scopes=[
                        ScopeIn(value="read:posts", description="Read your posts"),
                        ScopeIn(value="write:posts", description="Publish posts for you"),
                    ],
                ),
            )
            await s.execute(
                update(Connection).where(Connection.name == DEFAULT_DIRECTORY).values(is_domain_connection=True)
            )
            app, app_secret = await create_client(
                rt,
                s,
                ClientCreate(
                    name="Partner App",
                    app_type="regular_web",
                    is_first_party=False,
                    callbacks=[CALLBACK],
                    grant_types=["authorization_code", "refresh_token"],
                ),
            )
            await create_client_grant(
                rt,
                s,
                ClientGrantCreate(
                    client_id=app.client_id, audience=API, scope=["read:posts", "write:posts"], subject_type="user"
                ),
            )
            m2m, m2m_secret = await create_client(
                rt, s, ClientCreate(name="ops", app_type="non_interactive", grant_types=["client_credentials"])
            )
            await create_client_grant(
                rt,
                s,
                ClientGrantCreate(
                    client_id=m2m.client_id,
                    audience=rt.settings.management_audience,
                    scope=list(MANAGEMENT_SCOPES),
                    subject_type="client",
                ),
            )
            connection_id = await s.scalar(select(Connection.id).where(Connection.name == DEFAULT_DIRECTORY))
        assert app_secret and m2m_secret and connection_id
        world = World(app.client_id, app_secret, m2m.client_id, m2m_secret, rt.settings.management_audience)
        now, hashed = rt.clock.now(), hash_password(PASSWORD)
        rows = [
            {
                "user_id": f"auth0|load{i:06d}",
                "connection_id": connection_id,
                "email": f"user{i}@load.example",
                "username": None,
                "password_hash": hashed,
                "email_verified": True,
                "blocked": False,
                "is_admin": False,
                "profile": {"name": f"Load User {i}"},
                "app_metadata": {},
                "user_metadata": {},
                "logins_count": 0,
                "last_login": None,
                "last_ip": None,
                "created_at": now,
                "updated_at": now,
            }
            for i in range(users)
        ]
        if rows:
            async with rt.db.engine.begin() as conn:
                await conn.execute(insert(User), rows)
        world.emails = [r["email"] for r in rows]
        world.user_ids = [r["user_id"] for r in rows]
        return world
    finally:
        await rt.db.dispose()


def seed(url: str, data_dir: Path, issuer: str, users: int = 20) -> World:
    """Migrate, bootstrap and seed ``url`` for servers with this ``issuer`` (the Management API audience
    derives from it); call from synchronous code."""
    upgrade(url)
    return asyncio.run(seed_async(url, data_dir, issuer, users))


@contextmanager
def seeded_servers(
    url: str, tmp_path: Path, count: int = 2, env: dict[str, str] | None = None, users: int = 20
) -> Iterator[tuple[World, list[str], list[LiveProcess]]]:
    """Seed ``url``, then run ``count`` ``consentry serve`` processes on it as one tenant (one issuer: the
    first one's address); yields the world, their base URLs and processes. Stopped by PID at the end."""
    port = free_port()
    issuer = f"http://127.0.0.1:{port}/"
    world = seed(url, tmp_path / "data", issuer, users=users)
    with ExitStack() as stack:
        bases, processes = [], []
        for i in range(count):
            overrides = {"CONSENTRY_ISSUER": issuer, **(env or {})}
            if i == 0:
                overrides["CONSENTRY_PORT"] = str(port)
            base, process = stack.enter_context(live_server(tmp_path, overrides, database_url=url))
            bases.append(base)
            processes.append(process)
        yield world, bases, processes
