"""Time-boxed grants (issue 21, item 1): the user picks how long access lasts; nothing outlives the choice.

The clock is injected and moved (no sleeps). Each test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from consentry.clock import FrozenClock, iso
from consentry.commands.resource_servers import ScopeIn
from consentry.runtime import Runtime
from consentry.storage.models import RefreshToken, UserGrant
from tests.integration.flows.conftest import API, PASSWORD, grant, make_api, make_app
from tests.support.flow import Step, authorize, consent, exchange, login, pkce_pair

HOUR = 3600


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"authorization_code_lifetime": 600}  # a code outlives the shortest grant (60 s) in one test


@pytest.fixture
def clock(social: Runtime) -> FrozenClock:
    frozen = FrozenClock()
    social.clock = frozen
    return frozen


def _params(app_id: str, callback: str, challenge: str, scope: str = "read:posts offline_access", **extra: str) -> dict:
    return {
        "client_id": app_id,
        "redirect_uri": callback,
        "response_type": "code",
        "scope": scope,
        "audience": API,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "xyz",
        **extra,
    }


async def _to_consent(client: httpx.AsyncClient, params: dict) -> Step:
    step = await authorize(client, params)
    if step.on_login:
        step = await login(client, step, "alice@example.com", PASSWORD)
    assert step.on_consent, step.page[:300]
    return step


async def _tokens(
    client: httpx.AsyncClient,
    app: Any,
    scope: str = "read:posts offline_access",
    duration: int | None = HOUR,
    **extra: str,
) -> dict:
    verifier, challenge = pkce_pair()
    step = await consent(
        client,
        await _to_consent(client, _params(app.client_id, app.callback, challenge, scope, **extra)),
        duration=duration,
    )
    r = await exchange(client, step.params["code"], app.client_id, app.callback, verifier)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _refresh(client: httpx.AsyncClient, app: Any, token: str) -> httpx.Response:
    return await client.post(
        "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": token, "client_id": app.client_id}
    )


async def _grant_rows(rt: Runtime, client_id: str) -> list[UserGrant]:
    async with rt.db.read() as s:
        return list((await s.scalars(select(UserGrant).where(UserGrant.client_id == client_id))).all())


async def test_one_hour_then_refresh_fails_and_authorize_asks_again(
    client: httpx.AsyncClient, social: Runtime, clock: FrozenClock
) -> None:
    """The acceptance: "1 hour" -> authorization_expires_in <= 3600; after it, invalid_grant and a consent screen."""
    app = await make_app(social, third_party=True)
    await grant(social, default=True)
    tokens = await _tokens(client, app, duration=HOUR)
    assert 3590 <= tokens["authorization_expires_in"] <= HOUR
    clock.advance(HOUR - 600)
    r = await _refresh(client, app, tokens["refresh_token"])
    assert r.status_code == 200, r.text
    assert 590 <= r.json()["authorization_expires_in"] <= 600
    async with social.db.read() as s:
        query = select(RefreshToken.family_expires_at).where(RefreshToken.client_id == app.client_id)
        ends = list((await s.scalars(query)).all())
    grant_end = (await _grant_rows(social, app.client_id))[0].expires_at
    assert grant_end is not None and len(ends) == 2 and all(e is not None and e <= grant_end for e in ends)
    clock.advance(601)
    r = await _refresh(client, app, r.json()["refresh_token"])
    assert r.status_code == 403 and r.json()["error"] == "invalid_grant", r.text
    _, challenge = pkce_pair()
    step = await authorize(client, _params(app.client_id, app.callback, challenge))
    assert step.on_consent and "Already allowed" not in step.text
    apps = await client.get("/u/apps")
    assert apps.status_code == 200 and "Access expired" in apps.text and "the app must ask you again" in apps.text


async def test_expired_grant_refuses_refresh_from_a_family_minted_before_the_expiry_was_set(
    client: httpx.AsyncClient, social: Runtime, clock: FrozenClock
) -> None:
    """A family minted "until revoked" has no end of its own; the grant's later 1-hour choice still stops it."""
    app = await make_app(social, third_party=True)
    await grant(social, default=True)
    first = await _tokens(client, app, duration=0)
    assert "authorization_expires_in" not in first
    again = await _tokens(client, app, duration=HOUR, prompt="consent")
    assert again["authorization_expires_in"] <= HOUR
    clock.advance(HOUR + 1)
    r = await _refresh(client, app, first["refresh_token"])
    assert r.status_code == 403 and r.json()["error"] == "invalid_grant"
    assert "expired" in r.json()["error_description"]


async def test_expired_grant_refuses_the_code_exchange(
    client: httpx.AsyncClient, social: Runtime, clock: FrozenClock
) -> None:
    await make_api(
        social, identifier="https://short.example.com", consent_durations=[60, 0], default_consent_duration=60
    )
    app = await make_app(social, third_party=True)
    await grant(social, default=True, audience="https://short.example.com")
    verifier, challenge = pkce_pair()
    params = {**_params(app.client_id, app.callback, challenge, "read:posts"), "audience": "https://short.example.com"}
    step = await consent(client, await _to_consent(client, params))  # the API's default: 60 seconds
    clock.advance(61)
    r = await exchange(client, step.params["code"], app.client_id, app.callback, verifier)
    assert r.status_code == 403 and r.json()["error"] == "invalid_grant"
    assert "expired" in r.json()["error_description"]


async def test_expired_grant_asks_again_listing_only_what_is_asked(
    client: httpx.AsyncClient, social: Runtime, clock: FrozenClock
) -> None:
    app = await make_app(social, third_party=True)
    await grant(social, default=True)
    await _tokens(client, app, "read:posts write:posts", duration=HOUR)
    clock.advance(HOUR)
    _, challenge = pkce_pair()
    step = await authorize(client, _params(app.client_id, app.callback, challenge, "read:posts"))
    assert step.on_consent
    assert "Posts: read your posts" in step.text and "write" not in step.text and "Already allowed" not in step.text
    step = await consent(client, step, duration=86400)
    assert "code" in step.params
    [row] = await _grant_rows(social, app.client_id)
    assert row.scope == ["read:posts"] and row.expires_at == pytest.approx(clock.now() + 86400)


async def test_until_revoked_keeps_the_grant_open_ended(
    client: httpx.AsyncClient, social: Runtime, mgmt: httpx.AsyncClient, clock: FrozenClock
) -> None:
    app = await make_app(social, third_party=True)
    await grant(social, default=True)
    tokens = await _tokens(client, app, duration=None)  # no choice sent: the default (until revoked)
    assert "authorization_expires_in" not in tokens
    clock.advance(365 * 86400)
    [row] = await _grant_rows(social, app.client_id)
    assert row.expires_at is None
    listed = (await mgmt.get("/api/v2/grants", params={"client_id": app.client_id})).json()
    assert listed[0]["expires_at"] is None


async def test_duration_not_offered_is_refused_and_grants_nothing(client: httpx.AsyncClient, social: Runtime) -> None:
    app = await make_app(social, third_party=True)
    await grant(social, default=True)
    _, challenge = pkce_pair()
    step = await consent(
        client, await _to_consent(client, _params(app.client_id, app.callback, challenge)), duration=7200
    )
    assert step.response.status_code == 400 and "Choose one of the offered durations" in step.page
    assert await _grant_rows(social, app.client_id) == []


async def test_agents_default_to_a_bounded_duration_with_optional_scopes_unticked(
    client: httpx.AsyncClient, social: Runtime
) -> None:
    await make_api(
        social,
        identifier="https://tools.example.com",
        scopes=[ScopeIn(value="read:files"), ScopeIn(value="delete:files", optional=True)],
    )
    agent = await make_app(social, third_party=True, is_agent=True)
    person = await make_app(social, third_party=True)
    for app in (agent, person):
        await grant(
            social, client_id=app.client_id, audience="https://tools.example.com", scope=["read:files", "delete:files"]
        )
    pages = {}
    for app in (agent, person):
        _, challenge = pkce_pair()
        params = {
            **_params(app.client_id, app.callback, challenge, "read:files delete:files"),
            "audience": "https://tools.example.com",
        }
        pages[app.client_id] = (await _to_consent(client, params)).page
    assert 'id="duration-86400" checked' in pages[agent.client_id]
    assert 'id="duration-0" checked' in pages[person.client_id]
    assert 'name="optional" value="delete:files">' in pages[agent.client_id]
    assert 'name="optional" value="delete:files" checked>' in pages[person.client_id]


async def test_grants_list_expires_at_and_the_admin_sets_the_choices(
    client: httpx.AsyncClient, social: Runtime, mgmt: httpx.AsyncClient, clock: FrozenClock
) -> None:
    apis = (await mgmt.get("/api/v2/resource-servers")).json()
    api_id = next(a["id"] for a in apis if a["identifier"] == API)
    r = await mgmt.patch(
        f"/api/v2/resource-servers/{api_id}",
        json={"consent_durations": [600, 7200, 0], "default_consent_duration": 7200},
    )
    assert r.status_code == 200, r.text
    assert r.json()["consent_durations"] == [600, 7200, 0] and r.json()["default_consent_duration"] == 7200
    for bad in (
        {"consent_durations": [30]},
        {"consent_durations": []},
        {"consent_durations": [600, 600]},
        {"consent_durations": [600], "default_consent_duration": 7200},
        {"default_consent_duration": "1h"},
        {"consent_durations": [600, 0]},
    ):  # the stored default (7200) would no longer be offered
        r = await mgmt.patch(f"/api/v2/resource-servers/{api_id}", json=bad)
        assert r.status_code == 400 and r.json()["errorCode"] == "invalid_body", (bad, r.text)
    social.catalog.invalidate()
    app = await make_app(social, third_party=True)
    await grant(social, default=True)
    _, challenge = pkce_pair()
    step = await _to_consent(client, _params(app.client_id, app.callback, challenge))
    assert "10 minutes" in step.text and "2 hours" in step.text and "Until I revoke it" in step.text
    assert 'id="duration-7200" checked' in step.page and "1 day" not in step.text
    await consent(client, step)
    listed = (await mgmt.get("/api/v2/grants", params={"client_id": app.client_id})).json()
    assert listed[0]["expires_at"] == iso(clock.now() + 7200)


async def test_tenant_sets_the_default_per_kind_of_app(
    client: httpx.AsyncClient, social: Runtime, mgmt: httpx.AsyncClient
) -> None:
    r = await mgmt.patch(
        "/api/v2/tenants/settings",
        json={"consent_durations": [3600, 86400, 0], "default_consent_durations": {"spa": 3600}},
    )
    assert r.status_code == 200, r.text
    r = await mgmt.patch("/api/v2/tenants/settings", json={"default_consent_durations": {"robot": 3600}})
    assert r.status_code == 400
    social.catalog.invalidate()
    app = await make_app(social, third_party=True, app_type="spa")
    await grant(social, default=True)
    _, challenge = pkce_pair()
    step = await _to_consent(client, _params(app.client_id, app.callback, challenge))
    assert 'id="duration-3600" checked' in step.page and "30 days" not in step.text


async def test_access_tokens_become_inactive_when_the_grant_expires(
    client: httpx.AsyncClient, social: Runtime, clock: FrozenClock, m2m_credentials: dict[str, str]
) -> None:
    await make_api(social, identifier="https://short.example.com", consent_durations=[60, 0])
    app = await make_app(social, third_party=True)
    await grant(social, default=True, audience="https://short.example.com")
    verifier, challenge = pkce_pair()
    params = {**_params(app.client_id, app.callback, challenge, "read:posts"), "audience": "https://short.example.com"}
    step = await consent(client, await _to_consent(client, params), duration=60)
    r = await exchange(client, step.params["code"], app.client_id, app.callback, verifier)
    access = r.json()["access_token"]

    async def active() -> bool:
        answer = await client.post("/oauth/introspect", data={"token": access, **m2m_credentials})
        assert answer.status_code == 200, answer.text
        return bool(answer.json()["active"])

    assert await active()
    clock.advance(61)  # the token's own lifetime (an hour) has not run out; the grant's has
    assert not await active()
