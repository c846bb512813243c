"""Acceptance with node-oidc-provider (npm ``oidc-provider``) as the upstream identity provider: a user signs in
to a third-party app through a domain-level OIDC connection and consents; a non-domain-level connection to the
same provider is not offered to the app."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest

from consentry.commands.connections import ConnectionCreate
from consentry.runtime import Runtime
from consentry.services.connections import create_connection
from tests.integration.federation.conftest import choose, to_login_page
from tests.integration.flows.conftest import grant, make_api, make_app
from tests.interop.node_client import NodeScript
from tests.support.flow import consent, exchange, follow
from tests.support.form_driver import drive
from tests.support.live_server import free_port

pytestmark = pytest.mark.interop
CALLBACK = "http://testserver/login/callback"
CLIENT = {"CLIENT_ID": "consentry-downstream", "CLIENT_SECRET": "node-provider-secret-0123456789"}


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"connections_allow_private_addresses": True, "connections_fetch_timeout": 5.0}


async def _connection(rt: Runtime, name: str, issuer: str, domain_level: bool) -> None:
    options = {
        "type": "back_channel",
        "issuer": issuer,
        "client_id": CLIENT["CLIENT_ID"],
        "client_secret": CLIENT["CLIENT_SECRET"],
        "scope": "openid profile email",
    }
    async with rt.db.transaction() as s:
        await create_connection(
            rt,
            s,
            ConnectionCreate(name=name, strategy="oidc", options=options, is_domain_connection=domain_level),
            actor=None,
        )
    rt.catalog.invalidate()


async def test_node_oidc_provider_as_the_upstream_of_a_domain_level_connection(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    port = free_port()
    async with NodeScript("oidc_provider.mjs", {"PORT": str(port), "REDIRECT_URI": CALLBACK, **CLIENT}) as node:
        issuer = (await node.read())["issuer"]
        await make_api(runtime)
        app = await make_app(runtime, third_party=True)
        await grant(runtime, client_id=app.client_id, scope=["read:posts"])
        await _connection(runtime, "node", issuer, True)
        await _connection(runtime, "node-private", issuer, False)
        step, verifier = await to_login_page(client, app)
        assert 'data-connection="node-private"' not in step.page
        r = await choose(client, step, "node")
        async with httpx.AsyncClient(timeout=10) as at_node:
            back = await drive(at_node, r.headers["location"], CALLBACK, {"login": "dana", "password": "any"})
        step = await follow(client, await client.get(back.replace("http://testserver", "")))
        assert step.on_consent, step.page[:600]
        step = await consent(client, step)
        token = await exchange(client, step.params["code"], app.client_id, app.callback, verifier)
        assert token.status_code == 200, token.text
        claims = jwt.decode(token.json()["access_token"], options={"verify_signature": False})
        assert claims["sub"] == "oidc|node|dana" and claims["scope"] == "read:posts"
        if node.proc and node.proc.stdin:
            node.proc.stdin.close()
