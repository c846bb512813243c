"""The tenant's session lifetimes take effect (Auth0's ``session_lifetime`` and ``idle_session_lifetime``, in hours
or ``*_in_minutes``): an SSO session ends after its absolute lifetime, or after the idle lifetime without use."""

from __future__ import annotations

from typing import Any

import httpx

from consentry.clock import FrozenClock
from consentry.runtime import Runtime
from tests.integration.flows.conftest import PASSWORD, App, make_app
from tests.support.flow import Step, authorize, login, pkce_pair


async def set_tenant(client: httpx.AsyncClient, mgmt_token: str, **values: Any) -> None:
    r = await client.patch("/api/v2/tenants/settings", json=values, headers={"Authorization": f"Bearer {mgmt_token}"})
    assert r.status_code == 200, r.text


async def sso(client: httpx.AsyncClient, app: App) -> Step:
    _, challenge = pkce_pair()
    return await authorize(
        client,
        {
            "client_id": app.client_id,
            "redirect_uri": app.callback,
            "response_type": "code",
            "scope": "openid",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "s",
        },
    )


async def signed_in(client: httpx.AsyncClient, social: Runtime) -> App:
    app = await make_app(social, third_party=False, app_type="regular_web")
    step = await sso(client, app)
    assert step.on_login
    assert (await login(client, step, "alice@example.com", PASSWORD)).callback
    return app


async def test_idle_session_lifetime_ends_an_unused_session_and_use_extends_it(
    client: httpx.AsyncClient, social: Runtime, mgmt_token: str
) -> None:
    await set_tenant(client, mgmt_token, idle_session_lifetime_in_minutes=10)
    clock = FrozenClock()
    social.clock = clock
    app = await signed_in(client, social)
    for _ in range(3):  # used every 9 minutes: 27 minutes later still signed in
        clock.advance(9 * 60)
        assert (await sso(client, app)).callback, "used within the idle lifetime"
    clock.advance(10 * 60 + 1)
    assert (await sso(client, app)).on_login, "unused for longer than the idle lifetime"


async def test_absolute_session_lifetime_ends_a_session_in_use(
    client: httpx.AsyncClient, social: Runtime, mgmt_token: str
) -> None:
    await set_tenant(client, mgmt_token, session_lifetime=1, idle_session_lifetime=1)  # hours
    clock = FrozenClock()
    social.clock = clock
    app = await signed_in(client, social)
    for _ in range(5):  # 55 minutes of use, well within the idle lifetime
        clock.advance(11 * 60)
        assert (await sso(client, app)).callback
    clock.advance(6 * 60)
    assert (await sso(client, app)).on_login, "past the one-hour absolute lifetime although in use"
