"""``/oauth/introspect`` (RFC 7662): confidential callers only; JWTs answered without the database."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, update

from consentry.runtime import Runtime
from consentry.storage.models import Client, User
from tests.conftest import ISSUER
from tests.integration.flows.conftest import API, App, social  # noqa: F401
from tests.integration.oauth.test_revocation import refresh
from tests.integration.oauth.test_userinfo import (
    alg_none,
    hs256_with_public_key,
    public_pem,
    resigned,
    spa,
    unknown_kid,
    unverified,
    user_tokens,
    web_app,
)


async def introspect(client: httpx.AsyncClient, app: App, token: str, **extra: str) -> httpx.Response:
    assert app.secret
    return await client.post(
        "/oauth/introspect", data={"client_id": app.client_id, "client_secret": app.secret, "token": token, **extra}
    )


def assert_inactive(r: httpx.Response) -> None:
    assert r.status_code == 200, r.text
    assert r.json() == {"active": False}
    assert r.headers["cache-control"] == "no-store"


@pytest.fixture
async def web(social: Runtime) -> App:  # noqa: F811
    return await web_app(social)


async def test_active_access_token(client: httpx.AsyncClient, web: App) -> None:
    tokens = await user_tokens(client, web)
    r = await introspect(client, web, tokens["access_token"], token_type_hint="access_token")
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    claims = unverified(tokens["access_token"])
    assert r.json() == {
        "active": True,
        "scope": "openid profile email offline_access read:posts",
        "client_id": web.client_id,
        "sub": claims["sub"],
        "aud": [API, f"{ISSUER}userinfo"],
        "iss": ISSUER,
        "exp": claims["exp"],
        "iat": claims["iat"],
        "token_type": "Bearer",
        "jti": claims["jti"],
    }


async def test_a_resource_server_introspects_another_clients_token(
    client: httpx.AsyncClient,
    social: Runtime,
    m2m_credentials: dict[str, str],  # noqa: F811
) -> None:
    tokens = await user_tokens(client, await spa(social))
    rs = App(m2m_credentials["client_id"], m2m_credentials["client_secret"], "")
    r = await introspect(client, rs, tokens["access_token"])
    assert r.json()["active"] is True and r.json()["sub"] == unverified(tokens["access_token"])["sub"]
    # and an M2M token
    m2m = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "audience": social.settings.management_audience, **m2m_credentials},
    )
    body = (await introspect(client, rs, m2m.json()["access_token"])).json()
    assert body["active"] is True and body["sub"] == f"{rs.client_id}@clients"
    assert body["aud"] == social.settings.management_audience


async def test_refresh_token_active_for_its_client_only(
    client: httpx.AsyncClient,
    social: Runtime,
    web: App,
    m2m_credentials: dict[str, str],  # noqa: F811
) -> None:
    tokens = await user_tokens(client, web)
    r = await introspect(client, web, tokens["refresh_token"], token_type_hint="refresh_token")
    body = r.json()
    assert body["active"] is True and body["token_type"] == "refresh_token"
    assert body["client_id"] == web.client_id and body["aud"] == API and body["iss"] == ISSUER
    assert body["sub"] == unverified(tokens["access_token"])["sub"]
    assert body["scope"] == "openid profile email offline_access read:posts"
    assert body["exp"] > body["iat"] >= int(time.time()) - 60
    other = App(m2m_credentials["client_id"], m2m_credentials["client_secret"], "")
    assert_inactive(await introspect(client, other, tokens["refresh_token"]))


async def test_rotated_revoked_and_blocked_refresh_tokens_are_inactive(
    client: httpx.AsyncClient,
    social: Runtime,
    web: App,  # noqa: F811
) -> None:
    first = (await user_tokens(client, web))["refresh_token"]
    second = (await refresh(client, web, first)).json()["refresh_token"]
    assert_inactive(await introspect(client, web, first))
    assert (await introspect(client, web, second)).json()["active"] is True
    sub = unverified((await user_tokens(client, web))["access_token"])["sub"]
    async with social.db.transaction() as s:
        await s.execute(update(User).where(User.user_id == sub).values(blocked=True))
    assert_inactive(await introspect(client, web, second))
    async with social.db.transaction() as s:
        await s.execute(update(User).where(User.user_id == sub).values(blocked=False))
    assert (
        await client.post(
            "/oauth/revoke", data={"client_id": web.client_id, "client_secret": web.secret or "", "token": second}
        )
    ).status_code == 200
    assert_inactive(await introspect(client, web, second))


async def test_bad_access_tokens_are_inactive(client: httpx.AsyncClient, social: Runtime, web: App) -> None:  # noqa: F811
    tokens = await user_tokens(client, web)
    at = tokens["access_token"]
    now = int(time.time())
    pem = await public_pem(client, at)
    for token in (
        await resigned(social, at, iat=now - 7200, exp=now - 3600),
        await resigned(social, at, exp=now - 5),  # within the verifier's leeway, yet expired
        await resigned(social, at, iss="https://evil.example.com/"),
        hs256_with_public_key(at, pem),
        alg_none(at),
        unknown_kid(at),
        tokens["id_token"],
        "a.b.c",
        "garbage",
        "x" * 4000,
    ):
        assert_inactive(await introspect(client, web, token))


async def test_tokens_of_a_deleted_application_are_inactive(client: httpx.AsyncClient, social: Runtime) -> None:  # noqa: F811
    gone, caller = await spa(social), await web_app(social)
    at = (await user_tokens(client, gone))["access_token"]
    assert (await introspect(client, caller, at)).json()["active"] is True
    async with social.db.transaction() as s:
        await s.execute(delete(Client).where(Client.client_id == gone.client_id))
    social.catalog.invalidate()
    assert_inactive(await introspect(client, caller, at))


async def test_caller_must_be_an_authenticated_confidential_client(
    client: httpx.AsyncClient,
    social: Runtime,
    web: App,  # noqa: F811
) -> None:
    at = (await user_tokens(client, web))["access_token"]
    r = await client.post("/oauth/introspect", data={"token": at})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = await client.post("/oauth/introspect", data={"token": at, "client_id": web.client_id, "client_secret": "no"})
    assert r.status_code == 401
    assert r.json() == {"error": "invalid_client", "error_description": "Client authentication failed."}
    basic = base64.b64encode(f"{web.client_id}:no".encode()).decode()
    r = await client.post("/oauth/introspect", data={"token": at}, headers={"Authorization": f"Basic {basic}"})
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Basic ")
    public = await spa(social)
    r = await client.post("/oauth/introspect", data={"token": at, "client_id": public.client_id})
    assert r.status_code == 401
    description = "Only confidential clients may use the introspection endpoint."
    assert r.json() == {"error": "invalid_client", "error_description": description}
    r = await client.post("/oauth/introspect", data={"client_id": web.client_id, "client_secret": web.secret or ""})
    assert r.status_code == 400
    assert r.json() == {"error": "invalid_request", "error_description": "Missing required parameter: token"}
    basic = base64.b64encode(f"{web.client_id}:{web.secret}".encode()).decode()
    r = await client.post("/oauth/introspect", json={"token": at}, headers={"Authorization": f"Basic {basic}"})
    assert r.json()["active"] is True  # JSON body and client_secret_basic


@asynccontextmanager
async def no_database(rt: Runtime) -> AsyncIterator[None]:
    """Any database use inside the block fails the test."""

    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("the database was used")

    read, transaction = rt.db.read, rt.db.transaction
    rt.db.read = refuse  # type: ignore[method-assign]
    rt.db.transaction = refuse  # type: ignore[method-assign]
    try:
        yield
    finally:
        rt.db.read, rt.db.transaction = read, transaction  # type: ignore[method-assign]


class TestHotPath:
    """With warm caches (the production cache TTL), a JWT is introspected without touching the database."""

    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"cache_ttl": 60.0}

    async def test_jwt_introspection_reads_no_database(
        self,
        client: httpx.AsyncClient,
        social: Runtime,  # noqa: F811
        web: App,
    ) -> None:
        at = (await user_tokens(client, web))["access_token"]
        assert (await introspect(client, web, at)).json()["active"] is True  # warms the client cache
        async with no_database(social):
            for _ in range(3):
                assert (await introspect(client, web, at)).json()["active"] is True
            assert_inactive(await introspect(client, web, at[:-4] + "AAAA"))
