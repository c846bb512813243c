"""RFC 8693 delegation at ``/oauth/token``: the user's access token and an actor's own token, exchanged for a token
naming the actor in ``act``. A chain of four actors works and the fifth is refused; introspection shows ``act``;
``may_act`` is honoured; every refusal has its error; the user and the admin see who acted for whom."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest

from consentry.oauth.client_rules import TOKEN_EXCHANGE
from consentry.oauth.exchange_rules import ACCESS_TOKEN
from consentry.runtime import Runtime
from consentry.tokens.jwt import issue_access_token
from tests.integration.flows.conftest import API, PASSWORD, App, grant, make_api, make_app
from tests.integration.ui.conftest import ADMIN_EMAIL, make_person, sign_in, text_of

EMAIL = "alice@example.com"


@dataclass
class Actor:
    app: App
    token: str  # its own access token (client credentials) for the API


async def make_actor(
    rt: Runtime, client: httpx.AsyncClient, *, user_grant: bool = True, third_party: bool = False
) -> Actor:
    app = await make_app(
        rt, third_party=third_party, app_type="non_interactive", grant_types=["client_credentials", TOKEN_EXCHANGE]
    )
    await grant(rt, client_id=app.client_id, scope=["read:posts", "write:posts"], subject_type="client")
    if user_grant:
        await grant(rt, client_id=app.client_id, scope=["read:posts", "write:posts"], subject_type="user")
    r = await client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "audience": API,
            "client_id": app.client_id,
            "client_secret": app.secret or "",
        },
    )
    assert r.status_code == 200, r.text
    return Actor(app, r.json()["access_token"])


@pytest.fixture
async def user_id(runtime: Runtime) -> str:
    await make_api(runtime)
    from tests.integration.flows.conftest import promote_default_connection

    uid = await make_person(runtime, EMAIL)
    await promote_default_connection(runtime)
    return uid


@pytest.fixture
async def subject(client: httpx.AsyncClient, runtime: Runtime, user_id: str) -> str:
    """The user's access token for the API, held by a first-party app (password grant for brevity)."""
    app = await make_app(runtime, third_party=False, app_type="regular_web", grant_types=["password"])
    r = await client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": EMAIL,
            "password": PASSWORD,
            "audience": API,
            "scope": "read:posts write:posts",
            "client_id": app.client_id,
            "client_secret": app.secret or "",
        },
    )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


async def delegate(client: httpx.AsyncClient, actor: Actor, subject_token: str, **extra: str | None) -> httpx.Response:
    data = {
        "grant_type": TOKEN_EXCHANGE,
        "subject_token": subject_token,
        "subject_token_type": ACCESS_TOKEN,
        "actor_token": actor.token,
        "actor_token_type": ACCESS_TOKEN,
        "client_id": actor.app.client_id,
        "client_secret": actor.app.secret or "",
        **extra,
    }
    return await client.post("/oauth/token", data={k: v for k, v in data.items() if v is not None})


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


async def test_a_chain_of_four_actors_works_and_the_fifth_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, subject: str
) -> None:
    actors = [await make_actor(runtime, client) for _ in range(5)]
    token = subject
    for n, actor in enumerate(actors[:4], start=1):
        r = await delegate(client, actor, token)
        assert r.status_code == 200, (n, r.text)
        body = r.json()
        assert body["issued_token_type"] == ACCESS_TOKEN and body["token_type"] == "Bearer"
        assert "refresh_token" not in body
        token = body["access_token"]
        claims = claims_of(token)
        assert claims["azp"] == claims["client_id"] == actor.app.client_id, "azp is the outermost actor"
        assert claims["act"]["client_id"] == actor.app.client_id
    chain, act = [], claims_of(token)["act"]
    while act:
        chain.append(act["client_id"])
        act = act.get("act")
    assert chain == [a.app.client_id for a in reversed(actors[:4])], "outermost first"
    assert claims_of(token)["sub"] == claims_of(subject)["sub"], "still the user"
    fifth = await delegate(client, actors[4], token)
    assert fifth.status_code == 403 and fifth.json()["error"] == "invalid_grant", fifth.text
    assert "at most 4 actors" in fifth.json()["error_description"]
    introspected = await client.post(
        "/oauth/introspect",
        data={"token": token, "client_id": actors[0].app.client_id, "client_secret": actors[0].app.secret or ""},
    )
    answer = introspected.json()
    assert answer["active"] is True and answer["act"] == claims_of(token)["act"]


async def test_scopes_narrow_and_never_grow(client: httpx.AsyncClient, runtime: Runtime, subject: str) -> None:
    actor = await make_actor(runtime, client)
    r = await delegate(client, actor, subject, scope="read:posts")
    assert r.status_code == 200 and r.json()["scope"] == "read:posts", r.text
    again = await delegate(client, actor, r.json()["access_token"], scope="write:posts")
    assert again.status_code == 400 and again.json()["error"] == "invalid_scope", again.text


async def _subject_with(runtime: Runtime, subject: str, **extra: Any) -> str:
    """The same user's token as ``subject``, minted with an extra claim (``may_act``) as an issuer would."""
    base = claims_of(subject)
    token, _ = await issue_access_token(
        runtime.keys,
        issuer=base["iss"],
        sub=base["sub"],
        audience=base["aud"],
        client_id=base["client_id"],
        scope=base["scope"],
        now=runtime.clock.now(),
        lifetime=600,
        extra=extra,
    )
    return token


async def test_may_act_is_honoured(client: httpx.AsyncClient, runtime: Runtime, subject: str) -> None:
    named, other = await make_actor(runtime, client), await make_actor(runtime, client)
    token = await _subject_with(runtime, subject, may_act={"client_id": named.app.client_id})
    assert (await delegate(client, named, token)).status_code == 200
    r = await delegate(client, other, token)
    assert r.status_code == 403 and "may_act" in r.json()["error_description"], r.text


async def test_refusals(client: httpx.AsyncClient, runtime: Runtime, subject: str) -> None:
    actor, stranger = await make_actor(runtime, client), await make_actor(runtime, client)
    cases: list[tuple[str, httpx.Response, int, str, str]] = [
        (
            "no_actor",
            await delegate(client, actor, subject, actor_token=None, actor_token_type=None),
            400,
            "invalid_request",
            "impersonation",
        ),
        (
            "actor_of_another_app",
            await delegate(client, actor, subject, actor_token=stranger.token),
            403,
            "invalid_grant",
            "actor_token",
        ),
        ("garbage_subject", await delegate(client, actor, "a.b.c"), 403, "invalid_grant", "subject_token"),
        ("client_credentials_subject", await delegate(client, actor, stranger.token), 403, "invalid_grant", "user"),
        (
            "unknown_api",
            await delegate(client, actor, subject, resource="https://nowhere.example"),
            400,
            "invalid_target",
            "resource",
        ),
        (
            "garbage_actor",
            await delegate(client, actor, subject, actor_token="x.y.z"),
            403,
            "invalid_grant",
            "actor_token",
        ),
    ]
    for case, r, status, error, words in cases:
        assert r.status_code == status, (case, r.text)
        assert r.json()["error"] == error and words in r.json()["error_description"], (case, r.json())


async def test_an_actor_without_a_client_grant_for_users_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, subject: str
) -> None:
    """A third-party actor needs a client grant for users on the API (SPEC T7), as at every mint."""
    actor = await make_actor(runtime, client, user_grant=False, third_party=True)
    r = await delegate(client, actor, subject)
    assert r.status_code == 403 and "no client grant" in r.json()["error_description"], r.text
    granted = await make_actor(runtime, client, third_party=True)
    assert (await delegate(client, granted, subject)).status_code == 200


async def test_an_app_without_the_grant_type_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, subject: str
) -> None:
    actor = await make_actor(runtime, client)
    plain = await make_app(runtime, third_party=False, app_type="non_interactive", grant_types=["client_credentials"])
    r = await delegate(client, Actor(plain, actor.token), subject)
    assert r.status_code == 403 and r.json()["error"] == "unauthorized_client", r.text


async def test_the_user_and_the_admin_see_who_acted(
    client: httpx.AsyncClient, runtime: Runtime, subject: str, user_id: str, app: Any
) -> None:
    first, second = await make_actor(runtime, client), await make_actor(runtime, client)
    token = (await delegate(client, first, subject)).json()["access_token"]
    assert (await delegate(client, second, token)).status_code == 200
    assert (await delegate(client, second, token)).status_code == 200
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as user:
        await sign_in(user, EMAIL, "/u/apps")
        page = await user.get("/u/apps")
    assert page.status_code == 200 and 'id="acted-for"' in page.text
    text = text_of(page.text)
    assert "Agents that acted for you" in text and "2 times" in text and "1 time," in text
    await make_person(runtime, ADMIN_EMAIL, is_admin=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as admin:
        await sign_in(admin, ADMIN_EMAIL, "/admin")
        page = await admin.get(f"/admin/users/{user_id}/authorized-applications")
    assert page.status_code == 200 and 'id="delegations"' in page.text, page.text[:500]
    assert second.app.client_id in page.text and first.app.client_id in page.text


async def test_revoking_what_the_user_gave_the_first_app_ends_the_delegated_token(
    client: httpx.AsyncClient, runtime: Runtime, user_id: str
) -> None:
    """The delegated token names the first app's refresh-token family: revoking it (RFC 7009) reaches the token."""
    first = await make_app(
        runtime, third_party=False, app_type="regular_web", grant_types=["password", "refresh_token"]
    )
    creds = {"client_id": first.client_id, "client_secret": first.secret or ""}
    r = await client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": EMAIL,
            "password": PASSWORD,
            "audience": API,
            "scope": "read:posts offline_access",
            **creds,
        },
    )
    assert r.status_code == 200 and r.json().get("refresh_token"), r.text
    subject, refresh = r.json()["access_token"], r.json()["refresh_token"]
    actor = await make_actor(runtime, client)
    delegated = (await delegate(client, actor, subject)).json()["access_token"]
    assert claims_of(delegated)["exp"] <= claims_of(subject)["exp"], "never outlives the subject token"
    ask = {"token": delegated, "client_id": actor.app.client_id, "client_secret": actor.app.secret or ""}
    assert (await client.post("/oauth/introspect", data=ask)).json()["active"] is True
    assert (await client.post("/oauth/revoke", data={"token": refresh, **creds})).status_code == 200
    assert (await client.post("/oauth/introspect", data=ask)).json() == {"active": False}
    again = await delegate(client, actor, subject)
    assert again.status_code == 403 and "revoked" in again.json()["error_description"], again.text
