"""Actors for the flow tests: an API, users, first- and third-party apps (made through the services)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import update

from consentry.commands.client_grants import ClientGrantCreate
from consentry.commands.clients import ClientCreate
from consentry.commands.resource_servers import ResourceServerCreate, ScopeIn
from consentry.runtime import Runtime
from consentry.services.client_grants import create_client_grant
from consentry.services.clients import create_client
from consentry.services.resource_servers import create_resource_server
from consentry.services.users import create_user
from consentry.storage.models import Connection
from consentry.tenant import DEFAULT_DIRECTORY

API = "https://social.example.com"
CALLBACK = "https://partner.example.com/callback"
PASSWORD = "correct horse battery"


@dataclass
class App:
    client_id: str
    secret: str | None
    callback: str


async def make_api(rt: Runtime, identifier: str = API, **kw: Any) -> None:
    scopes = kw.pop(
        "scopes",
        [
            ScopeIn(value="read:posts", description="Read your posts"),
            ScopeIn(value="write:posts", description="Publish posts for you"),
        ],
    )
    async with rt.db.transaction() as s:
        body = ResourceServerCreate(
            identifier=identifier, name="Social API", scopes=scopes, allow_offline_access=True, **kw
        )
        await create_resource_server(rt, s, body)
    rt.catalog.invalidate()


async def make_app(
    rt: Runtime, *, third_party: bool, app_type: str = "spa", callback: str = CALLBACK, **kw: Any
) -> App:
    async with rt.db.transaction() as s:
        row, secret = await create_client(
            rt,
            s,
            ClientCreate(
                name="Partner App" if third_party else "Our App",
                app_type=app_type,
                is_first_party=not third_party,
                callbacks=[callback],
                **kw,
            ),
        )
    rt.catalog.invalidate()
    return App(row.client_id, secret, callback)


async def grant(
    rt: Runtime,
    *,
    client_id: str | None = None,
    default: bool = False,
    audience: str = API,
    scope: list[str] | None = None,
    subject_type: str = "user",
) -> None:
    body = ClientGrantCreate(
        client_id=client_id,
        default_for="third_party_clients" if default else None,
        audience=audience,
        scope=scope or ["read:posts", "write:posts"],
        subject_type=subject_type,
    )
    async with rt.db.transaction() as s:
        await create_client_grant(rt, s, body)
    rt.catalog.invalidate()


async def make_user(rt: Runtime, email: str = "alice@example.com") -> str:
    async with rt.db.transaction() as s:
        row, _ = await create_user(rt, s, connection=DEFAULT_DIRECTORY, email=email, password=PASSWORD)
    return row.user_id


async def promote_default_connection(rt: Runtime, domain_level: bool = True) -> None:
    async with rt.db.transaction() as s:
        await s.execute(
            update(Connection).where(Connection.name == DEFAULT_DIRECTORY).values(is_domain_connection=domain_level)
        )
    rt.catalog.invalidate()


@pytest.fixture
async def social(runtime: Runtime) -> Runtime:
    """The seeds' setup: the Social API, alice, a domain-level database connection."""
    await make_api(runtime)
    await make_user(runtime)
    await promote_default_connection(runtime)
    return runtime
