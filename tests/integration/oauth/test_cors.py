"""CORS on the browser endpoints: exact allowed origins (web_origins, allowed_origins, callback origins),
``*`` on public metadata, preflights that echo spa-js's ``Auth0-Client`` header, never credentials."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import delete

from consentry.oauth.cors_origins import origin_of, request_origin_ok
from consentry.runtime import Runtime
from consentry.storage.models import Client
from tests.integration.flows.conftest import App, make_app, social  # noqa: F401
from tests.integration.oauth.test_userinfo import bearer, spa, user_tokens

WEB_ORIGIN = "https://spa.example.com"
ALLOWED_ORIGIN = "https://other.example.com:8443"
CALLBACK_ORIGIN = "https://app.example.com"  # from the SPA's callback https://app.example.com/callback
DENIED = [
    "https://evil.example.com",
    "null",
    "https://spa.example.com.evil.com",
    "https://spa.example.com/",
    "https://spa.example.com/path",
    "http://spa.example.com",
    "https://spa.example.com:444",
    "https://SPA.example.com",
    "https://user@spa.example.com",
    "https://other.example.com",
]


@pytest.fixture
async def browser_app(social: Runtime) -> App:  # noqa: F811
    return await spa(social, web_origins=[WEB_ORIGIN + "/"], allowed_origins=[ALLOWED_ORIGIN])


def preflight_headers(origin: str, method: str = "POST", headers: str | None = "auth0-client, content-type") -> dict:
    values = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers is not None:
        values["Access-Control-Request-Headers"] = headers
    return values


@pytest.mark.parametrize("path", ["/oauth/token", "/userinfo", "/oauth/revoke"])
async def test_preflight_for_allowed_origins(client: httpx.AsyncClient, browser_app: App, path: str) -> None:
    for origin in (WEB_ORIGIN, ALLOWED_ORIGIN, CALLBACK_ORIGIN):
        r = await client.options(path, headers=preflight_headers(origin))
        assert r.status_code == 204, (origin, r.text)
        assert r.headers["access-control-allow-origin"] == origin
        assert r.headers["access-control-allow-headers"] == "auth0-client, content-type"
        assert r.headers["access-control-allow-methods"] == "GET, POST, OPTIONS"
        assert r.headers["access-control-max-age"] == "600"
        assert "Origin" in r.headers["vary"]
        assert "access-control-allow-credentials" not in r.headers
        assert r.content == b""


async def test_preflight_echoes_authorization_for_userinfo(client: httpx.AsyncClient, browser_app: App) -> None:
    r = await client.options("/userinfo", headers=preflight_headers(WEB_ORIGIN, "GET", "authorization"))
    assert r.status_code == 204 and r.headers["access-control-allow-headers"] == "authorization"
    r = await client.options("/userinfo", headers=preflight_headers(WEB_ORIGIN, "GET", None))
    assert r.status_code == 204 and "access-control-allow-headers" not in r.headers
    r = await client.options("/userinfo", headers=preflight_headers(WEB_ORIGIN, "GET", "x-a\r\nset-cookie: a=b"))
    assert r.status_code == 204 and "access-control-allow-headers" not in r.headers


@pytest.mark.parametrize("origin", DENIED)
async def test_preflight_for_denied_origins(client: httpx.AsyncClient, browser_app: App, origin: str) -> None:
    r = await client.options("/oauth/token", headers=preflight_headers(origin))
    assert r.status_code == 403
    assert r.json()["error"] == "access_denied"
    assert not any(h.startswith("access-control-") for h in r.headers)


async def test_actual_responses_carry_the_origin(client: httpx.AsyncClient, social: Runtime,  # noqa: F811
                                                 browser_app: App) -> None:  # fmt: skip
    r = await client.post("/oauth/token", data={"grant_type": "refresh_token", "client_id": browser_app.client_id,
                                                "refresh_token": "nope"}, headers={"Origin": WEB_ORIGIN})  # fmt: skip
    assert r.status_code == 403 and r.json()["error"] == "invalid_grant"  # errors are readable by the app too
    assert r.headers["access-control-allow-origin"] == WEB_ORIGIN
    assert r.headers["vary"] == "Origin"
    assert "access-control-allow-credentials" not in r.headers
    r = await client.get("/userinfo", headers={"Origin": CALLBACK_ORIGIN})
    assert r.status_code == 401
    assert r.headers["access-control-allow-origin"] == CALLBACK_ORIGIN
    assert r.headers["access-control-expose-headers"] == "WWW-Authenticate"
    tokens = await user_tokens(client, browser_app)
    r = await client.get("/userinfo", headers={"Origin": WEB_ORIGIN, **bearer(tokens["access_token"])})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == WEB_ORIGIN
    r = await client.post("/oauth/revoke", data={"client_id": browser_app.client_id, "token": tokens["refresh_token"]},
                          headers={"Origin": ALLOWED_ORIGIN})  # fmt: skip
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == ALLOWED_ORIGIN


async def test_actual_responses_for_denied_origins(client: httpx.AsyncClient, browser_app: App) -> None:
    r = await client.get("/userinfo", headers={"Origin": "https://evil.example.com"})
    assert r.status_code == 401
    assert "access-control-allow-origin" not in r.headers and r.headers["vary"] == "Origin"


async def test_well_known_is_public(client: httpx.AsyncClient, runtime: Runtime) -> None:
    for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server",
                 "/.well-known/jwks.json"):  # fmt: skip
        r = await client.get(path, headers={"Origin": "https://anyone.example"})
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in r.headers
        r = await client.options(path, headers=preflight_headers("https://anyone.example", "GET", "x-requested-with"))
        assert r.status_code == 204 and r.headers["access-control-allow-origin"] == "*"
        assert r.headers["access-control-allow-headers"] == "x-requested-with"


async def test_other_paths_and_same_origin_requests_are_untouched(client: httpx.AsyncClient, browser_app: App) -> None:
    r = await client.options("/oauth/introspect", headers=preflight_headers(WEB_ORIGIN))
    assert r.status_code == 405 and "access-control-allow-origin" not in r.headers
    r = await client.options("/api/v2/clients", headers=preflight_headers(WEB_ORIGIN))
    assert "access-control-allow-origin" not in r.headers
    r = await client.get("/.well-known/jwks.json")
    assert "access-control-allow-origin" not in r.headers


async def test_new_and_removed_origins_are_seen(client: httpx.AsyncClient, social: Runtime) -> None:  # noqa: F811
    origin = "https://late.example.com"
    assert (await client.options("/oauth/token", headers=preflight_headers(origin))).status_code == 403
    late = await make_app(social, third_party=False, app_type="spa", callback=f"{origin}/cb")
    assert (await client.options("/oauth/token", headers=preflight_headers(origin))).status_code == 204
    async with social.db.transaction() as s:
        await s.execute(delete(Client).where(Client.client_id == late.client_id))
    assert (await client.options("/oauth/token", headers=preflight_headers(origin))).status_code == 403


@pytest.mark.parametrize(
    ("value", "origin"),
    [
        ("https://App.Example.com/", "https://app.example.com"),
        ("https://app.example.com:443/cb?x=1", "https://app.example.com"),
        ("http://localhost:3000/callback", "http://localhost:3000"),
        ("http://[::1]:8080/cb", "http://[::1]:8080"),
        ("https://app.example.com:8443", "https://app.example.com:8443"),
        ("com.example.app:/callback", None),
        ("https://user:pw@app.example.com/", None),
        ("https://app.example.com:99999/", None),
        ("not a url", None),
        ("", None),
    ],
)
def test_origin_of(value: str, origin: str | None) -> None:
    assert origin_of(value) == origin


def test_request_origin_must_be_serialized() -> None:
    assert request_origin_ok("https://app.example.com")
    assert not request_origin_ok("https://app.example.com/")
    assert not request_origin_ok("null")
    assert not request_origin_ok("HTTPS://app.example.com")
