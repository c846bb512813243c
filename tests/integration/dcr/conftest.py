"""Fixtures for Dynamic Client Registration: the tenant flag, a default grant, and DB helpers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from consentry.commands.client_grants import ClientGrantCreate
from consentry.commands.resource_servers import ResourceServerCreate, ScopeIn
from consentry.runtime import Runtime
from consentry.services.client_grants import create_client_grant
from consentry.services.resource_servers import create_resource_server
from consentry.storage.models import AuditEvent, Client, Tenant
from consentry.tenant import merged_settings

API = "https://api.example.com/"
NATIVE = {
    "client_name": "Claude Code",
    "redirect_uris": ["http://127.0.0.1:33418/callback"],
    "token_endpoint_auth_method": "none",
    "application_type": "native",
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
}
WEB = {"client_name": "Partner", "redirect_uris": ["https://partner.example.com/callback"]}


async def set_flag(rt: Runtime, name: str, value: bool) -> None:
    async with rt.db.transaction() as s:
        row = await s.get(Tenant, 1)
        assert row is not None
        flags = {**merged_settings(row.settings or {})["flags"], name: value}
        row.settings = {**(row.settings or {}), "flags": flags}
    rt.catalog.invalidate()


async def add_api(rt: Runtime) -> None:
    async with rt.db.transaction() as s:
        await create_resource_server(
            rt,
            s,
            ResourceServerCreate(
                identifier=API,
                name="Posts API",
                allow_offline_access=True,
                scopes=[ScopeIn(value="read:posts"), ScopeIn(value="write:posts")],
            ),
        )
    rt.catalog.invalidate()


async def add_default_grant(rt: Runtime, subject_type: str = "user") -> None:
    async with rt.db.transaction() as s:
        await create_client_grant(
            rt,
            s,
            ClientGrantCreate(
                default_for="third_party_clients", audience=API, scope=["read:posts"], subject_type=subject_type
            ),
        )  # type: ignore[arg-type]
    rt.catalog.invalidate()


async def count_clients(rt: Runtime, **where: Any) -> int:
    async with rt.db.read() as s:
        query = select(func.count()).select_from(Client)
        for key, value in where.items():
            query = query.where(getattr(Client, key) == value)
        return int(await s.scalar(query) or 0)


async def audit_types(rt: Runtime) -> list[str]:
    async with rt.db.read() as s:
        return list((await s.scalars(select(AuditEvent.type).order_by(AuditEvent.date, AuditEvent.log_id))).all())


async def set_times(rt: Runtime, client_id: str, **values: Any) -> None:
    async with rt.db.transaction() as s:
        await s.execute(update(Client).where(Client.client_id == client_id).values(**values))
    rt.catalog.invalidate()


STORED_AT_ONCE = {"dcr_hold_until_consent": False}


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """These modules test the governance of stored DCR clients, so registrations are stored at once;
    ``test_pending.py`` tests the default (held until a user first approves)."""
    return dict(STORED_AT_ONCE)


@pytest.fixture
async def dcr(runtime: Runtime) -> Runtime:
    """DCR enabled, with an API and a default (user) client grant for third-party apps."""
    await set_flag(runtime, "enable_dynamic_client_registration", True)
    await add_api(runtime)
    await add_default_grant(runtime)
    return runtime


async def register(client: httpx.AsyncClient, body: Any, **kwargs: Any) -> httpx.Response:
    return await client.post("/oidc/register", json=body, **kwargs)
