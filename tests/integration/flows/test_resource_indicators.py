"""RFC 8707 resource indicators on /authorize, the code exchange and refresh (agents issue, item 1)."""

from __future__ import annotations

import httpx
import jwt

from consentry.runtime import Runtime
from tests.integration.flows.conftest import PASSWORD, grant, make_api, make_app
from tests.support.flow import authorize, consent, exchange, login, pkce_pair

MCP = "http://127.0.0.1:9300/mcp"


async def _mcp_tokens(client: httpx.AsyncClient, rt: Runtime, scope: str) -> tuple[dict, str, str]:
    await make_api(rt, MCP)
    app = await make_app(rt, third_party=True, app_type="native", callback="http://127.0.0.1:7777/callback")
    await grant(rt, default=True, audience=MCP)
    verifier, challenge = pkce_pair()
    params = {
        "client_id": app.client_id,
        "redirect_uri": app.callback,
        "response_type": "code",
        "scope": scope,
        "resource": MCP,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "s",
    }
    step = await login(client, await authorize(client, params), "alice@example.com", PASSWORD)
    step = await consent(client, step)
    r = await exchange(client, step.params["code"], app.client_id, app.callback, verifier, resource=MCP)
    assert r.status_code == 200, r.text
    return r.json(), app.client_id, app.callback


async def test_access_token_audience_is_exactly_the_resource(client: httpx.AsyncClient, social: Runtime) -> None:
    tokens, _, _ = await _mcp_tokens(client, social, "read:posts offline_access")
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["aud"] == MCP


async def test_refresh_keeps_the_resource_and_refuses_another(client: httpx.AsyncClient, social: Runtime) -> None:
    tokens, client_id, _ = await _mcp_tokens(client, social, "read:posts write:posts offline_access")
    other = await client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "client_id": client_id,
            "refresh_token": tokens["refresh_token"],
            "resource": "https://social.example.com",
        },
    )
    assert other.status_code == 400 and other.json()["error"] == "invalid_target"
    wider = await client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "client_id": client_id,
            "refresh_token": tokens["refresh_token"],
            "scope": "read:posts delete:everything",
        },
    )
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
    narrower = await client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "client_id": client_id,
            "refresh_token": tokens["refresh_token"],
            "resource": MCP,
            "scope": "read:posts",
        },
    )
    assert narrower.status_code == 200, narrower.text
    claims = jwt.decode(narrower.json()["access_token"], options={"verify_signature": False})
    assert claims["aud"] == MCP and claims["scope"] == "read:posts"


async def test_code_exchange_with_a_different_resource_is_refused(client: httpx.AsyncClient, social: Runtime) -> None:
    await make_api(social, MCP)
    app = await make_app(social, third_party=True, app_type="native", callback="http://127.0.0.1:7777/callback")
    await grant(social, default=True, audience=MCP)
    verifier, challenge = pkce_pair()
    params = {
        "client_id": app.client_id,
        "redirect_uri": app.callback,
        "response_type": "code",
        "scope": "read:posts",
        "resource": MCP,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    step = await consent(client, await login(client, await authorize(client, params), "alice@example.com", PASSWORD))
    r = await exchange(
        client, step.params["code"], app.client_id, app.callback, verifier, resource="https://social.example.com"
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_target"


async def test_audience_wins_over_resource(client: httpx.AsyncClient, social: Runtime) -> None:
    """Auth0's resource parameter compatibility profile: with both sent, the token is for ``audience``."""
    await make_api(social, MCP)
    app = await make_app(social, third_party=True)
    await grant(social, default=True)
    await grant(social, default=True, audience=MCP)
    verifier, challenge = pkce_pair()
    step = await authorize(
        client,
        {
            "client_id": app.client_id,
            "redirect_uri": app.callback,
            "response_type": "code",
            "audience": "https://social.example.com",
            "resource": MCP,
            "scope": "read:posts",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    step = await consent(client, await login(client, step, "alice@example.com", PASSWORD))
    r = await exchange(client, step.params["code"], app.client_id, app.callback, verifier)
    assert r.status_code == 200, r.text
    assert (
        jwt.decode(r.json()["access_token"], options={"verify_signature": False})["aud"] == "https://social.example.com"
    )


async def test_refresh_with_both_uses_audience(client: httpx.AsyncClient, social: Runtime) -> None:
    tokens, client_id, _ = await _mcp_tokens(client, social, "read:posts offline_access")
    r = await client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "client_id": client_id,
            "refresh_token": tokens["refresh_token"],
            "audience": MCP,
            "resource": "https://social.example.com",
        },
    )
    assert r.status_code == 200, r.text
    assert jwt.decode(r.json()["access_token"], options={"verify_signature": False})["aud"] == MCP
