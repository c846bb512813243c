"""``/v2/logout`` (Auth0) and ``/oidc/logout`` (RP-Initiated Logout 1.0): the session really ends, and
the only redirects go to exactly registered logout URLs (never an open redirect)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from consentry.login.sessions import COOKIE
from consentry.runtime import Runtime
from tests.integration.flows.conftest import App, social  # noqa: F401
from tests.integration.oauth.test_userinfo import (
    SCOPE,
    resigned,
    set_tenant,
    spa,
    unknown_kid,
    unverified,
    user_tokens,
)
from tests.support.flow import authorize, pkce_pair

LOGGED_OUT = "https://app.example.com/logged-out"
SECOND = "https://app.example.com/bye?from=consentry"
ALLOWED = [LOGGED_OUT, SECOND]

HOSTILE = [
    "https://evil.example.com/",
    "https://app.example.com.evil.com/logged-out",
    "https://app.example.com@evil.com/logged-out",
    "https://good.example@evil.com",
    "//evil.com",
    "//app.example.com/logged-out",
    "/\\evil.com",
    "https:evil.com",
    "https://app.example.com/logged-out/../../evil",
    "https://app.example.com/logged-out?next=https://evil.com",
    "https://app.example.com/logged-out#@evil.com",
    "https://app.example.com/logged-out%2F%2E%2E%2F",
    "https%3A%2F%2Fapp.example.com%2Flogged-out",
    "https://app.example.com%2F@evil.com/logged-out",
    "https://app.example.com%40evil.com/logged-out",
    "HTTPS://APP.EXAMPLE.COM/logged-out",
    "https://app.example.com/logged-out ",
    " https://app.example.com/logged-out",
    "https://app.example.com/logged-out\u202e",
    "https://app.example.com/Logged-Out",
    "http://app.example.com/logged-out",
    "https://app.example.com:443/logged-out",
    "javascript:alert(document.domain)//https://app.example.com/logged-out",
    "data:text/html,<script>alert(1)</script>",
]


@pytest.fixture
async def spa_app(social: Runtime) -> App:  # noqa: F811
    return await spa(social, allowed_logout_urls=ALLOWED)


async def logged_in(client: httpx.AsyncClient, app: App) -> dict[str, Any]:
    tokens = await user_tokens(client, app)
    assert client.cookies.get(COOKIE)
    return tokens


async def silent(client: httpx.AsyncClient, app: App) -> dict[str, str]:
    """spa-js silent authentication: prompt=none."""
    _, challenge = pkce_pair()
    step = await authorize(
        client,
        {
            "client_id": app.client_id,
            "redirect_uri": app.callback,
            "response_type": "code",
            "scope": SCOPE,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "prompt": "none",
            "state": "silent",
        },
    )
    return step.params


def assert_page_not_redirect(r: httpx.Response, status: int = 400) -> None:
    assert r.status_code == status, r.text[:300]
    assert "location" not in r.headers
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-store"


def assert_cookie_cleared(r: httpx.Response) -> None:
    cookie = r.headers.get("set-cookie", "")
    assert cookie.startswith(f"{COOKIE}=") and "Max-Age=0" in cookie


async def test_logout_ends_the_session_server_side(client: httpx.AsyncClient, spa_app: App) -> None:
    await logged_in(client, spa_app)
    assert "code" in await silent(client, spa_app)
    stolen = client.cookies.get(COOKIE)
    r = await client.get("/v2/logout", params={"client_id": spa_app.client_id, "returnTo": LOGGED_OUT})
    assert r.status_code == 302 and r.headers["location"] == LOGGED_OUT
    assert r.headers["cache-control"] == "no-store"
    assert_cookie_cleared(r)
    assert client.cookies.get(COOKIE) is None
    params = await silent(client, spa_app)
    assert params["error"] == "login_required" and params["state"] == "silent"
    client.cookies.set(COOKIE, stolen or "")  # the old cookie is dead on the server too
    assert (await silent(client, spa_app))["error"] == "login_required"


async def test_missing_return_to_goes_to_the_first_allowed_url(client: httpx.AsyncClient, spa_app: App) -> None:
    await logged_in(client, spa_app)
    r = await client.get("/v2/logout", params={"client_id": spa_app.client_id, "federated": ""})
    assert r.status_code == 302 and r.headers["location"] == LOGGED_OUT
    r = await client.get("/v2/logout", params={"client_id": spa_app.client_id, "returnTo": SECOND})
    assert r.status_code == 302 and r.headers["location"] == SECOND


async def test_no_allowed_urls_and_no_client_show_the_logged_out_page(
    client: httpx.AsyncClient,
    social: Runtime,  # noqa: F811
    spa_app: App,
) -> None:
    bare = await spa(social)
    await logged_in(client, bare)
    r = await client.get("/v2/logout", params={"client_id": bare.client_id})
    assert_page_not_redirect(r, 200)
    assert "You are logged out" in r.text and "Our App" in r.text
    assert_cookie_cleared(r)
    assert (await silent(client, bare))["error"] == "login_required"
    r = await client.get("/v2/logout")
    assert_page_not_redirect(r, 200)
    assert "You are logged out" in r.text


@pytest.mark.parametrize("return_to", HOSTILE)
async def test_hostile_return_to_is_an_error_page(client: httpx.AsyncClient, spa_app: App, return_to: str) -> None:
    r = await client.get("/v2/logout", params={"client_id": spa_app.client_id, "returnTo": return_to})
    assert_page_not_redirect(r)
    assert "Allowed Logout URLs" in r.text
    r = await client.get("/v2/logout", params={"returnTo": return_to})  # tenant list (empty)
    assert_page_not_redirect(r)


async def test_hostile_return_to_still_logs_out(client: httpx.AsyncClient, spa_app: App) -> None:
    await logged_in(client, spa_app)
    r = await client.get("/v2/logout", params={"client_id": spa_app.client_id, "returnTo": "https://evil.example.com/"})
    assert_page_not_redirect(r)
    assert_cookie_cleared(r)
    assert (await silent(client, spa_app))["error"] == "login_required"


async def test_raw_encoded_query_is_not_decoded_into_a_match(client: httpx.AsyncClient, spa_app: App) -> None:
    # returnTo=https%3A%2F%2Fapp.example.com%2Flogged-out is a legitimate encoding of the allowed URL
    encoded = "https%3A%2F%2Fapp.example.com%2Flogged-out"
    r = await client.get(f"/v2/logout?client_id={spa_app.client_id}&returnTo={encoded}")
    assert r.status_code == 302 and r.headers["location"] == LOGGED_OUT
    # a double-encoded one is not
    r = await client.get(f"/v2/logout?client_id={spa_app.client_id}&returnTo=https%253A%252F%252Fapp.example.com")
    assert_page_not_redirect(r)
    # nor a repeated parameter
    r = await client.get(f"/v2/logout?client_id={spa_app.client_id}&returnTo={LOGGED_OUT}&returnTo=https://evil.com")
    assert_page_not_redirect(r)


async def test_unknown_client_is_an_error_page(client: httpx.AsyncClient, spa_app: App) -> None:
    await logged_in(client, spa_app)
    r = await client.get("/v2/logout", params={"client_id": "nope", "returnTo": LOGGED_OUT})
    assert_page_not_redirect(r)
    assert (await silent(client, spa_app))["error"] == "login_required"


async def test_without_client_id_the_tenant_list_applies(
    client: httpx.AsyncClient,
    social: Runtime,  # noqa: F811
    spa_app: App,
) -> None:
    await set_tenant(social, allowed_logout_urls=["https://www.example.com/"])
    r = await client.get("/v2/logout", params={"returnTo": "https://www.example.com/"})
    assert r.status_code == 302 and r.headers["location"] == "https://www.example.com/"
    assert_page_not_redirect(await client.get("/v2/logout", params={"returnTo": LOGGED_OUT}))
    # and the tenant list does not widen a client's
    r = await client.get("/v2/logout", params={"client_id": spa_app.client_id, "returnTo": "https://www.example.com/"})
    assert_page_not_redirect(r)


# --- /oidc/logout ------------------------------------------------------------------------------------------------


async def test_rp_initiated_logout_with_id_token_hint_and_state(client: httpx.AsyncClient, spa_app: App) -> None:
    tokens = await logged_in(client, spa_app)
    params = {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": SECOND, "state": "a b&c"}
    r = await client.get("/oidc/logout", params=params)
    assert r.status_code == 302 and r.headers["location"] == SECOND + "&state=a+b%26c"
    assert_cookie_cleared(r)
    assert (await silent(client, spa_app))["error"] == "login_required"


async def test_expired_id_token_hint_is_fine(client: httpx.AsyncClient, social: Runtime, spa_app: App) -> None:  # noqa: F811
    tokens = await logged_in(client, spa_app)
    now = int(time.time())
    hint = await resigned(social, tokens["id_token"], "JWT", iat=now - 90000, exp=now - 50000)
    r = await client.get(
        "/oidc/logout", params={"id_token_hint": hint, "post_logout_redirect_uri": LOGGED_OUT, "state": "xyz"}
    )
    assert r.status_code == 302 and r.headers["location"] == LOGGED_OUT + "?state=xyz"


async def test_client_id_alone_and_post_form(client: httpx.AsyncClient, spa_app: App) -> None:
    await logged_in(client, spa_app)
    r = await client.post("/oidc/logout", data={"client_id": spa_app.client_id, "post_logout_redirect_uri": LOGGED_OUT})
    assert r.status_code == 302 and r.headers["location"] == LOGGED_OUT
    assert (await silent(client, spa_app))["error"] == "login_required"


async def test_no_redirect_uri_shows_the_page(client: httpx.AsyncClient, spa_app: App) -> None:
    tokens = await logged_in(client, spa_app)
    r = await client.get("/oidc/logout", params={"id_token_hint": tokens["id_token"]})
    assert_page_not_redirect(r, 200)
    assert "You are logged out" in r.text
    assert_page_not_redirect(await client.get("/oidc/logout"), 200)


async def test_rp_logout_refusals(client: httpx.AsyncClient, social: Runtime, spa_app: App) -> None:  # noqa: F811
    tokens = await logged_in(client, spa_app)
    other = await spa(social, allowed_logout_urls=["https://other.example.com/"])
    hint = tokens["id_token"]
    cases: list[dict[str, str]] = [
        {"post_logout_redirect_uri": LOGGED_OUT},  # no way to know the client
        {"id_token_hint": hint, "post_logout_redirect_uri": "https://evil.example.com/"},
        {"id_token_hint": hint, "post_logout_redirect_uri": "https://other.example.com/"},  # another client's URL
        {"id_token_hint": hint, "client_id": other.client_id, "post_logout_redirect_uri": LOGGED_OUT},
        {"id_token_hint": unknown_kid(hint), "post_logout_redirect_uri": LOGGED_OUT},
        {
            "id_token_hint": await resigned(social, hint, "JWT", iss="https://evil.example.com/"),
            "post_logout_redirect_uri": LOGGED_OUT,
        },
        {"id_token_hint": tokens["access_token"], "post_logout_redirect_uri": LOGGED_OUT},
        {"id_token_hint": "garbage", "post_logout_redirect_uri": LOGGED_OUT},
        {"client_id": "nope", "post_logout_redirect_uri": LOGGED_OUT},
        *({"client_id": spa_app.client_id, "post_logout_redirect_uri": bad} for bad in HOSTILE[:8]),
    ]
    for params in cases:
        assert_page_not_redirect(await client.get("/oidc/logout", params=params))
    assert unverified(hint)["aud"] == spa_app.client_id
    r = await client.post("/oidc/logout", json={"client_id": spa_app.client_id})
    assert_page_not_redirect(r)
