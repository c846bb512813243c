"""Shared helpers for the Management API tests: a scoped token, direct fixtures for users, grants and tokens."""

from __future__ import annotations

from typing import Any

import httpx

from consentry.commands.client_grants import ClientGrantCreate
from consentry.commands.clients import ClientCreate
from consentry.runtime import Runtime
from consentry.services.client_grants import create_client_grant
from consentry.services.clients import create_client
from consentry.services.users import create_user
from consentry.storage.models import RefreshToken
from consentry.tokens import ids

ERROR_KEYS = {"statusCode", "error", "message", "errorCode"}


def assert_error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The Auth0 error shape with the expected status and errorCode."""
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert set(body) == ERROR_KEYS, body
    assert body["statusCode"] == status and body["errorCode"] == code, body
    return body


async def token_with(client: httpx.AsyncClient, runtime: Runtime, *scopes: str) -> dict[str, str]:
    """Authorization headers for an M2M client holding only ``scopes`` on the Management API."""
    async with runtime.db.transaction() as s:
        row, secret = await create_client(
            runtime, s, ClientCreate(name="limited", app_type="non_interactive", grant_types=["client_credentials"])
        )
        await create_client_grant(
            runtime,
            s,
            ClientGrantCreate(
                client_id=row.client_id, scope=list(scopes), audience=runtime.settings.management_audience
            ),
        )
    runtime.catalog.invalidate()
    r = await client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": row.client_id,
            "client_secret": secret,
            "audience": runtime.settings.management_audience,
        },
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def make_user(runtime: Runtime, email: str, **kwargs: Any) -> str:
    async with runtime.db.transaction() as s:
        row, _ = await create_user(
            runtime,
            s,
            connection="Username-Password-Authentication",
            email=email,
            password="correct horse battery",
            **kwargs,
        )
    return row.user_id


async def make_third_party_client(runtime: Runtime, name: str = "Partner") -> str:
    async with runtime.db.transaction() as s:
        row, _ = await create_client(
            runtime,
            s,
            ClientCreate(
                name=name, is_first_party=False, app_type="regular_web", callbacks=["https://partner.example.com/cb"]
            ),
        )
    runtime.catalog.invalidate()
    return row.client_id


async def make_refresh_token(
    runtime: Runtime, *, user_id: str, client_id: str, grant_id: str | None, audience: str | None = None
) -> str:
    now = runtime.clock.now()
    row_id = ids.hex_id()
    async with runtime.db.transaction() as s:
        s.add(
            RefreshToken(
                id=row_id,
                token_hash=ids.digest(ids.secret()),
                family_id=ids.hex_id(),
                client_id=client_id,
                user_id=user_id,
                audience=audience,
                scope=["offline_access"],
                grant_id=grant_id,
                auth_time=now,
                created_at=now,
                expires_at=now + 3600,
            )
        )
    return row_id


async def refresh_token_revoked(runtime: Runtime, token_id: str) -> bool | None:
    """``None`` when the row is gone, else whether it is revoked."""
    async with runtime.db.read() as s:
        row = await s.get(RefreshToken, token_id)
        return None if row is None else row.revoked_at is not None
