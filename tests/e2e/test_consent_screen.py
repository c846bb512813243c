"""The consent screen in a real browser (SPEC C5, C6, C7, C10): what a user sees and what each button does.

Runs the real server (one per session, from tests/interop) and Debian's Chromium through Playwright.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx
import pytest

from tests.interop.conftest import admin, app_server, browser_context, chromium, live  # noqa: F401 - fixtures
from tests.interop.harness import PASSWORD, Admin, AppServer, LiveServer, on_page

pytestmark = pytest.mark.e2e


def _challenge() -> str:
    verifier = secrets.token_urlsafe(48)
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _third_party_setup(admin: Admin, callback: str, **client: Any) -> tuple[str, str]:
    """The seeds' setup: an API with read/write posts, a default grant, a domain-level connection, an app."""
    api = admin.api(["read:posts", "write:posts"])["identifier"]
    admin._post(
        "/api/v2/client-grants",
        {
            "default_for": "third_party_clients",
            "audience": api,
            "scope": ["read:posts", "write:posts"],
            "subject_type": "user",
        },
    )
    conns = admin.http.get("/api/v2/connections", params={"name": "Username-Password-Authentication"}).json()
    conn = conns[0] if isinstance(conns, list) else conns["connections"][0]
    assert admin.http.patch(f"/api/v2/connections/{conn['id']}", json={"is_domain_connection": True}).status_code == 200
    app = admin._post(
        "/api/v2/clients",
        {"name": "Partner Widget", "app_type": "spa", "is_first_party": False, "callbacks": [callback], **client},
    )
    return app["client_id"], api


def _authorize_url(live: LiveServer, client_id: str, callback: str, audience: str, **extra: str) -> str:
    params = {
        "client_id": client_id,
        "redirect_uri": callback,
        "response_type": "code",
        "scope": "read:posts write:posts",
        "audience": audience,
        "code_challenge": _challenge(),
        "code_challenge_method": "S256",
        "state": "STATE_VALUE",
        **extra,
    }
    return live.url("authorize") + "?" + urlencode(params)


async def _login(page: Any, live: LiveServer, email: str) -> None:
    await page.wait_for_selector("#username")
    await page.fill("#username", email)
    await page.fill("#password", PASSWORD)
    async with page.expect_navigation():
        await page.click("#submit")


async def _sign_in_to_third_party(
    live: LiveServer, admin: Admin, app_server: AppServer, browser_context: Any, **client: Any
) -> tuple[Any, str, str, str]:
    """A third-party app and a user; the user opens its authorization request and signs in.

    Returns the page (now past the login form), the app's callback, its client id and the API.
    """
    callback = app_server.url("/cb")
    client_id, api = _third_party_setup(admin, callback, **client)
    user = admin.user()
    page = await browser_context.new_page()
    await page.goto(_authorize_url(live, client_id, callback, api))
    await _login(page, live, user["email"])
    return page, callback, client_id, api


async def test_C5_C6_grouped_text_then_deny_shows_an_error_page_without_redirect(
    live: LiveServer, admin: Admin, app_server: AppServer, browser_context: Any
) -> None:
    page, *_ = await _sign_in_to_third_party(live, admin, app_server, browser_context)
    assert on_page(page.url, live.issuer, "u/consent")
    text = await page.inner_text("main")
    assert "Posts: read and write your posts" in text
    assert "Third-party application" in text and "127.0.0.1" in text
    async with page.expect_navigation():
        await page.click("#deny")
    assert on_page(page.url, live.issuer, "u/consent"), "open_redirect_protection: the user stays with us"
    assert "User did not authorize the request" in await page.inner_text("main")
    assert not any(path.startswith("/cb") for path in app_server.seen)


async def test_C6_deny_with_allow_always_returns_access_denied_to_the_app(
    live: LiveServer, admin: Admin, app_server: AppServer, browser_context: Any
) -> None:
    page, callback, *_ = await _sign_in_to_third_party(
        live, admin, app_server, browser_context, redirection_policy="allow_always"
    )
    async with page.expect_navigation():
        await page.click("#deny")
    assert page.url.startswith(callback)
    params = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
    assert params["error"] == "access_denied" and params["state"] == "STATE_VALUE" and params["iss"] == live.issuer


async def test_C3_C10_accept_then_silent_then_forced_consent_and_descriptions(
    live: LiveServer, admin: Admin, app_server: AppServer, browser_context: Any
) -> None:
    page, callback, client_id, api = await _sign_in_to_third_party(live, admin, app_server, browser_context)
    async with page.expect_navigation():
        await page.click("#accept")
    assert page.url.startswith(callback) and "code=" in page.url
    await page.goto(_authorize_url(live, client_id, callback, api))  # C3: granted, no screen
    assert page.url.startswith(callback) and "code=" in page.url
    r = admin.http.patch("/api/v2/tenants/settings", json={"flags": {"use_scope_descriptions_for_consent": True}})
    assert r.status_code == 200
    try:
        await page.goto(_authorize_url(live, client_id, callback, api, prompt="consent"))  # C10
        assert on_page(page.url, live.issuer, "u/consent")
        text = await page.inner_text("main")
        assert "Scope read:posts" in text and "Scope write:posts" in text  # the API's descriptions (C5 flag)
    finally:
        admin.http.patch("/api/v2/tenants/settings", json={"flags": {"use_scope_descriptions_for_consent": False}})


async def test_C7_loopback_first_party_app_gets_a_login_confirmation(
    live: LiveServer, admin: Admin, app_server: AppServer, browser_context: Any
) -> None:
    callback = app_server.url("/cb")  # http://127.0.0.1:PORT/cb: not verifiable
    api = admin.api(["read:posts"])["identifier"]
    app = admin.app("spa", [callback])
    user = admin.user()
    page = await browser_context.new_page()
    await page.goto(_authorize_url(live, app["client_id"], callback, api, scope="read:posts"))
    await _login(page, live, user["email"])
    assert on_page(page.url, live.issuer, "u/consent")
    text = await page.inner_text("main")
    assert "Continue only if you started this sign-in" in text and "First-party application" in text
    async with page.expect_navigation():
        await page.click("#accept")
    assert page.url.startswith(callback) and "code=" in page.url


async def test_issue21_user_picks_one_hour_and_the_token_response_says_so(
    live: LiveServer, admin: Admin, app_server: AppServer, browser_context: Any
) -> None:
    callback = app_server.url("/cb")
    client_id, api = _third_party_setup(admin, callback)
    user = admin.user()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    page = await browser_context.new_page()
    await page.goto(_authorize_url(live, client_id, callback, api, code_challenge=challenge))
    await _login(page, live, user["email"])
    assert on_page(page.url, live.issuer, "u/consent")
    assert await page.get_by_label("Until I revoke it").is_checked()  # a person's app: open-ended by default
    await page.get_by_label("1 hour").check()
    async with page.expect_navigation():
        await page.click("#accept")
    code = parse_qs(urlsplit(page.url).query)["code"][0]
    async with httpx.AsyncClient() as http:
        r = await http.post(
            live.url("oauth/token"),
            data={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": client_id,
                "redirect_uri": callback,
                "code_verifier": verifier,
            },
        )
    assert r.status_code == 200, r.text
    assert 0 < r.json()["authorization_expires_in"] <= 3600


async def test_rbac_a_scope_the_user_lacks_is_not_on_the_screen_nor_in_the_token(
    live: LiveServer, admin: Admin, app_server: AppServer, browser_context: Any
) -> None:
    """An API with RBAC on (``enforce_policies``): the user's role gives read:posts only, so the consent screen in
    Chromium asks for reading alone and the token the app redeems holds read:posts alone."""
    callback = app_server.url("/cb")
    client_id, api = _third_party_setup(admin, callback)
    r = admin.http.patch(
        f"/api/v2/resource-servers/{quote(api, safe='')}",
        json={"enforce_policies": True, "token_dialect": "access_token_authz"},
    )
    assert r.status_code == 200, r.text
    user = admin.user()
    role = admin.http.post("/api/v2/roles", json={"name": f"readers-{client_id[:8]}"}).json()
    body = {"permissions": [{"resource_server_identifier": api, "permission_name": "read:posts"}]}
    assert admin.http.post(f"/api/v2/roles/{role['id']}/permissions", json=body).status_code == 201
    assert admin.http.post(f"/api/v2/roles/{role['id']}/users", json={"users": [user["user_id"]]}).status_code == 200
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    page = await browser_context.new_page()
    await page.goto(_authorize_url(live, client_id, callback, api, code_challenge=challenge))
    await _login(page, live, user["email"])
    assert on_page(page.url, live.issuer, "u/consent")
    text = await page.inner_text("main")
    assert "Posts: read your posts" in text
    assert "write" not in text.lower() and "write:posts" not in await page.content()
    async with page.expect_navigation():
        await page.click("#accept")
    code = parse_qs(urlsplit(page.url).query)["code"][0]
    async with httpx.AsyncClient() as http:
        r = await http.post(
            live.url("oauth/token"),
            data={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": client_id,
                "redirect_uri": callback,
                "code_verifier": verifier,
            },
        )
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "read:posts"
