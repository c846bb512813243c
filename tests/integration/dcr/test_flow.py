"""A DCR client end to end: register like an MCP client, authorize with PKCE, consent, exchange, then prune."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from consentry.runtime import Runtime
from consentry.services import dcr_prune
from tests.integration.dcr.conftest import NATIVE, STORED_AT_ONCE, count_clients, register, set_flag, set_times
from tests.integration.flows.conftest import API, PASSWORD, grant, make_api, make_user, promote_default_connection
from tests.support.flow import authorize, consent, exchange, login, pkce_pair


@pytest.fixture
async def platform(runtime: Runtime) -> Runtime:
    await make_api(runtime)
    await make_user(runtime)
    await promote_default_connection(runtime)
    await grant(runtime, default=True, scope=["read:posts"])
    await set_flag(runtime, "enable_dynamic_client_registration", True)
    return runtime


def _params(reg: dict[str, Any], challenge: str) -> dict[str, str]:
    return {
        "client_id": reg["client_id"],
        "redirect_uri": reg["redirect_uris"][0],
        "response_type": "code",
        "scope": "read:posts write:posts offline_access",
        "resource": API,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "s1",
    }


async def test_registered_client_completes_the_flow_and_is_kept(client: httpx.AsyncClient, platform: Runtime) -> None:
    reg = (await register(client, NATIVE)).json()
    verifier, challenge = pkce_pair()
    step = await authorize(client, _params(reg, challenge))
    step = await login(client, step, "alice@example.com", PASSWORD)
    assert step.on_consent and "Claude Code" in step.text
    step = await consent(client, step)
    r = await exchange(client, step.params["code"], reg["client_id"], reg["redirect_uris"][0], verifier)
    assert r.status_code == 200, r.text
    assert r.json()["scope"].split() == ["read:posts", "offline_access"]  # the default grant is the ceiling
    assert "refresh_token" in r.json()
    # Used: even far in the future the live grant and refresh token keep it.
    now = platform.clock.now()
    await set_times(platform, reg["client_id"], created_at=now - 400 * 86400, last_used_at=now - 300 * 86400)
    assert await dcr_prune.prune(platform, dry_run=True) == []
    assert await count_clients(platform, client_id=reg["client_id"]) == 1


@pytest.mark.parametrize("settings_overrides", [{**STORED_AT_ONCE, "dcr_require_approval": True}])
async def test_pending_client_cannot_authorize_until_approved(
    client: httpx.AsyncClient, platform: Runtime, mgmt: httpx.AsyncClient
) -> None:
    reg = (await register(client, NATIVE)).json()
    verifier, challenge = pkce_pair()
    step = await authorize(client, _params(reg, challenge))
    assert step.callback is None and step.response.status_code in (400, 401, 403)
    assert not step.on_login
    assert (await mgmt.post(f"/api/v2/clients/{reg['client_id']}/approve")).status_code == 200
    del client.headers["Authorization"]
    step = await authorize(client, _params(reg, challenge))
    assert step.on_login
