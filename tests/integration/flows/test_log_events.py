"""A token's life in ``GET /api/v2/logs`` with Auth0's event codes: login ``s``, code exchange ``seacft``, refresh
``sertft``, reuse ``ferrt``, revocation ``srrt``, code replay ``feacft``, password exchange ``sepft``, logout
``slo``; each names the caller's address, the application and the user (by id and by name)."""

from __future__ import annotations

from typing import Any

import httpx

from consentry.runtime import Runtime
from tests.integration.flows.conftest import PASSWORD, App, make_app
from tests.support.flow import authorize, login, pkce_pair

SCOPE = "openid profile offline_access"


async def logs(client: httpx.AsyncClient, mgmt_token: str, q: str) -> list[dict[str, Any]]:
    r = await client.get(
        "/api/v2/logs",
        params={"q": q, "per_page": 100, "sort": "date:1"},
        headers={"Authorization": f"Bearer {mgmt_token}"},
    )
    assert r.status_code == 200, r.text
    return list(r.json())


async def code_flow(client: httpx.AsyncClient, app: App) -> tuple[dict[str, str], dict[str, Any]]:
    """Sign in through the pages (unless the session is still there) and exchange the code; returns the exchange's
    form (to replay it) and the token response."""
    verifier, challenge = pkce_pair()
    step = await authorize(
        client,
        {
            "client_id": app.client_id,
            "redirect_uri": app.callback,
            "response_type": "code",
            "scope": SCOPE,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "s1",
        },
    )
    if step.on_login:
        step = await login(client, step, "alice@example.com", PASSWORD)
    form = {
        "grant_type": "authorization_code",
        "code": step.params["code"],
        "client_id": app.client_id,
        "redirect_uri": app.callback,
        "code_verifier": verifier,
    }
    r = await client.post("/oauth/token", data=form)
    assert r.status_code == 200, r.text
    return form, dict(r.json())


async def refresh(client: httpx.AsyncClient, app: App, token: str, **auth: str) -> httpx.Response:
    return await client.post(
        "/oauth/token", data={"grant_type": "refresh_token", "client_id": app.client_id, "refresh_token": token, **auth}
    )


async def test_a_tokens_life_in_auth0_codes(client: httpx.AsyncClient, social: Runtime, mgmt_token: str) -> None:
    app = await make_app(social, third_party=False, app_type="spa", callback="https://spa.example.com/cb")
    _, tokens = await code_flow(client, app)
    assert (await refresh(client, app, tokens["refresh_token"])).status_code == 200
    assert (await refresh(client, app, tokens["refresh_token"])).status_code == 403  # reuse: the family is revoked
    form, tokens = await code_flow(client, app)  # the session signs in again: a new family, revoked by the app
    revoke = await client.post("/oauth/revoke", data={"client_id": app.client_id, "token": tokens["refresh_token"]})
    assert revoke.status_code == 200, revoke.text
    assert (await client.post("/oauth/token", data=form)).status_code == 403  # the code again
    assert (await client.get("/v2/logout", params={"client_id": app.client_id})).status_code == 200

    created, *events = await logs(client, mgmt_token, f'client_id:"{app.client_id}"')
    assert created["type"] == "sapi" and created["details"]["event"] == "client.created"
    assert [e["type"] for e in events] == ["s", "seacft", "sertft", "ferrt", "seacft", "srrt", "feacft", "slo"]
    for e in events:
        assert e["ip"] == "127.0.0.1" and e["client_name"] == "Our App", e
        assert e["user_id"].startswith("auth0|") and e["user_name"] == "alice@example.com", e
    assert events[3]["details"]["event"] == "refresh_token.reused" and events[6]["details"]["event"] == "code.replayed"
    assert [e["log_id"] for e in await logs(client, mgmt_token, "type:slo")] == [events[-1]["log_id"]]
    assert [e["type"] for e in await logs(client, mgmt_token, f'type:f* AND client_id:"{app.client_id}"')] == [
        "ferrt",
        "feacft",
    ]


async def test_password_exchange_is_sepft(client: httpx.AsyncClient, social: Runtime, mgmt_token: str) -> None:
    app = await make_app(
        social,
        third_party=False,
        app_type="regular_web",
        callback="https://web.example.com/cb",
        grant_types=["password"],
        token_endpoint_auth_method="client_secret_post",
    )
    assert app.secret
    r = await client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "client_id": app.client_id,
            "client_secret": app.secret,
            "username": "alice@example.com",
            "password": PASSWORD,
            "scope": "openid",
        },
    )
    assert r.status_code == 200, r.text
    events = await logs(client, mgmt_token, f'client_id:"{app.client_id}" AND type:sepft')
    assert [(e["type"], e.get("user_name"), e["ip"]) for e in events] == [("sepft", "alice@example.com", "127.0.0.1")]


async def test_logout_without_a_session_logs_nothing(
    client: httpx.AsyncClient, social: Runtime, mgmt_token: str
) -> None:
    assert (await client.get("/v2/logout")).status_code == 200
    assert await logs(client, mgmt_token, "type:slo") == []
