"""Every flow completes with ONE pooled database connection per process.

The PostgreSQL pool opens no burst connections (storage/db.py): a request that held a pooled connection
while asking the same pool for another would wait for itself until the pool timeout, and under load a
handful of such requests would stall a whole worker. With a pool of one, any such nesting hangs here.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from consentry.runtime import Runtime
from tests.integration.flows.conftest import API, PASSWORD, grant, make_app
from tests.support.flow import authorize, consent, exchange, login, pkce_pair

LIMIT = 20.0  # seconds; the pool waits 30 s before giving up, so a nested checkout fails this first


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"database_pool_size": 1}


async def test_third_party_flow_refresh_revoke_and_management_with_one_connection(
    client: httpx.AsyncClient, social: Runtime, mgmt_token: str
) -> None:
    async with asyncio.timeout(LIMIT):
        app = await make_app(social, third_party=True, app_type="regular_web")
        await grant(social, client_id=app.client_id)
        verifier, challenge = pkce_pair()
        step = await authorize(
            client,
            {
                "client_id": app.client_id,
                "redirect_uri": app.callback,
                "response_type": "code",
                "audience": API,
                "scope": "openid read:posts offline_access",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "state": "s1",
                "nonce": "n1",
            },
        )
        step = await consent(client, await login(client, step, "alice@example.com", PASSWORD))
        r = await exchange(client, step.params["code"], app.client_id, app.callback, verifier, app.secret)
        assert r.status_code == 200, r.text
        tokens = r.json()

        client_auth = {"client_id": app.client_id, "client_secret": app.secret}
        refresh = {"grant_type": "refresh_token", **client_auth}
        r = await client.post("/oauth/token", data={**refresh, "refresh_token": tokens["refresh_token"]})
        assert r.status_code == 200, r.text
        rotated = r.json()
        assert rotated["access_token"] and rotated["refresh_token"] != tokens["refresh_token"]

        r = await client.post("/oauth/revoke", data={"token": rotated["refresh_token"], **client_auth})
        assert r.status_code == 200, r.text
        r = await client.post("/oauth/token", data={**refresh, "refresh_token": rotated["refresh_token"]})
        assert r.json()["error"] == "invalid_grant"  # with 403, as Auth0 answers a dead refresh token

        auth = {"Authorization": f"Bearer {mgmt_token}"}
        users = (await client.get("/api/v2/users", headers=auth)).json()
        user_id = users[0]["user_id"]
        grants = (await client.get("/api/v2/grants", params={"user_id": user_id}, headers=auth)).json()
        assert [g["clientID"] for g in grants] == [app.client_id]
        r = await client.delete(f"/api/v2/grants/{grants[0]['id']}", headers=auth)
        assert r.status_code == 204, r.text
        assert (await client.get("/api/v2/grants", params={"user_id": user_id}, headers=auth)).json() == []


async def test_more_concurrent_requests_than_connections_wait_and_succeed(
    client: httpx.AsyncClient, social: Runtime, mgmt_token: str
) -> None:
    auth = {"Authorization": f"Bearer {mgmt_token}"}
    async with asyncio.timeout(LIMIT):
        replies = await asyncio.gather(*(client.get("/api/v2/users", headers=auth) for _ in range(12)))
    assert [r.status_code for r in replies] == [200] * 12
    assert all(r.json()[0]["email"] == "alice@example.com" for r in replies)
