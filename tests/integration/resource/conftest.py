"""An API registered in Consentry, a client allowed to call it, and validators that read Consentry's JWKS in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from consentry.runtime import Runtime
from consentry_resource import TokenValidator

RESOURCE = "http://rs.example/mcp"
SCOPES = ["read:notes", "write:notes"]


async def make_api(runtime: Runtime, identifier: str = RESOURCE, **fields: Any) -> None:
    from consentry.commands.resource_servers import ResourceServerCreate
    from consentry.services.resource_servers import create_resource_server

    body = ResourceServerCreate(
        identifier=identifier, name="Notes", scopes=[{"value": s, "description": s} for s in SCOPES], **fields
    )
    async with runtime.db.transaction() as s:
        await create_resource_server(runtime, s, body)
    runtime.catalog.invalidate()


async def grant(runtime: Runtime, client_id: str, audience: str, scope: list[str]) -> None:
    from consentry.commands.client_grants import ClientGrantCreate
    from consentry.services.client_grants import create_client_grant

    async with runtime.db.transaction() as s:
        await create_client_grant(
            runtime, s, ClientGrantCreate(client_id=client_id, audience=audience, scope=scope, subject_type="client")
        )
    runtime.catalog.invalidate()


@pytest.fixture
async def notes_api(runtime: Runtime, m2m_credentials: dict[str, str]) -> str:
    await make_api(runtime)
    await grant(runtime, m2m_credentials["client_id"], RESOURCE, SCOPES)
    return RESOURCE


TokenFactory = Callable[..., Awaitable[str]]


@pytest.fixture
def mint(client: httpx.AsyncClient, m2m_credentials: dict[str, str]) -> TokenFactory:
    """A client_credentials token from Consentry's /oauth/token."""

    async def _mint(audience: str = RESOURCE, scope: str | None = None) -> str:
        data = {"grant_type": "client_credentials", "audience": audience, **m2m_credentials}
        if scope is not None:
            data["scope"] = scope
        r = await client.post("/oauth/token", data=data)
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    return _mint


@pytest.fixture
async def as_http(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """What the resource server uses to reach the authorization server: the Consentry ASGI app, no network."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as c:
        yield c


@pytest.fixture
async def validator(runtime: Runtime, as_http: httpx.AsyncClient, notes_api: str) -> TokenValidator:
    return TokenValidator(runtime.settings.issuer_url, notes_api, http_client=as_http)
