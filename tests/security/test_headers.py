"""Security headers on every page and on every answer that carries a secret.

Pages: ``nosniff``, ``Referrer-Policy: no-referrer``, ``Cache-Control: no-store``, a CSP with
``default-src 'none'`` and ``frame-ancestors 'none'`` plus ``X-Frame-Options: DENY`` (the ``web_message``
response instead names the client's web origins in ``frame-ancestors``). JSON answers: ``nosniff`` everywhere
and ``no-store`` wherever a token, a secret or personal data is returned.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.security.conftest import SQLITE_ONLY, World, get_tokens, login_as, params
from tests.support.flow import authorize, follow, hidden, pkce_pair

pytestmark = [pytest.mark.attack, SQLITE_ONLY]

Fetch = Callable[[httpx.AsyncClient, World, dict[str, Any]], Awaitable[httpx.Response]]


async def _consent_page(client: httpx.AsyncClient, world: World, _: dict[str, Any]) -> httpx.Response:
    step = await authorize(client, params(world.spa, pkce_pair()[1]))
    return (
        await follow(
            client,
            await client.post(
                "/u/login",
                data={
                    "state": hidden(step.page, "state"),
                    "csrf": hidden(step.page, "csrf"),
                    "username": "alice@example.com",
                    "password": "correct horse battery",
                },
            ),
        )
    ).response


async def _signed_in(client: httpx.AsyncClient, path: str, admin: bool, world: World) -> httpx.Response:
    if admin:
        from sqlalchemy import update

        from consentry.storage.models import User

        async with world.rt.db.transaction() as s:
            await s.execute(update(User).where(User.user_id == world.alice).values(is_admin=True))
    await login_as(client)
    r = await client.get(path)
    if r.status_code == 404:
        pytest.fail(f"{path} is not mounted")
    return r


PAGES: list[Any] = [
    pytest.param(lambda c, w, _: c.get("/u/login"), id="login_page"),
    pytest.param(_consent_page, id="consent_page"),
    pytest.param(lambda c, w, _: c.get("/authorize", params={"client_id": "nope"}), id="authorize_error_page"),
    pytest.param(lambda c, w, _: c.get("/u/no-such-page"), id="not_found_page"),
    pytest.param(lambda c, w, _: c.get("/authorize/resume", params={"state": "expired"}), id="expired_request_page"),
    pytest.param(lambda c, w, _: c.get("/v2/logout"), id="logged_out_page"),
    pytest.param(
        lambda c, w, _: c.get("/v2/logout", params={"returnTo": "https://evil.example"}), id="logout_refused_page"
    ),
    pytest.param(lambda c, w, _: c.post("/u/login", data={"state": "x", "csrf": "y"}), id="login_post_error_page"),
    pytest.param(lambda c, w, _: _signed_in(c, "/u/apps", False, w), id="connected_apps_page"),
    pytest.param(lambda c, w, _: _signed_in(c, "/admin", True, w), id="admin_dashboard"),
    pytest.param(lambda c, w, _: _signed_in(c, "/admin", False, w), id="admin_forbidden_page"),
    pytest.param(
        lambda c, w, _: c.get("/authorize", params={**params(w.tp_open), "response_mode": "form_post"}),
        id="form_post_response",
    ),
    pytest.param(
        lambda c, w, _: c.get("/authorize", params={**params(w.tp_open), "response_mode": "web_message"}),
        id="web_message_response",
    ),
]


@pytest.mark.parametrize("fetch", PAGES)
async def test_page_headers(client: httpx.AsyncClient, world: World, fetch: Fetch) -> None:
    r = await fetch(client, world, {})
    assert r.headers["content-type"].startswith("text/html"), r.status_code
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "no-store" in r.headers["cache-control"]
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    if "postMessage" in r.text:  # web_message: framed by the app's registered origins only
        assert "frame-ancestors https://partner.example.com" in csp and "*" not in csp
    else:
        assert "frame-ancestors 'none'" in csp and r.headers["x-frame-options"] == "DENY"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


async def _token(client: httpx.AsyncClient, world: World, _: dict[str, Any]) -> httpx.Response:
    from tests.security.conftest import get_code
    from tests.support.flow import exchange

    verifier, challenge = pkce_pair()
    code = await get_code(client, world.spa, challenge)
    return await exchange(client, code, world.spa.client_id, world.spa.callback, verifier)


async def _with_token(client: httpx.AsyncClient, world: World, method: str, path: str, **kw: Any) -> httpx.Response:
    tokens = await get_tokens(client, world.web, scope="openid read:posts offline_access")
    if path == "/userinfo":
        return await client.get(path, headers={"Authorization": f"Bearer {tokens['access_token']}"})
    return await client.request(
        method, path, auth=(world.web.client_id, world.web.secret or ""), data={"token": tokens["access_token"]}
    )


async def _mgmt(client: httpx.AsyncClient, world: World, request: dict[str, Any]) -> httpx.Response:
    return await client.request(
        request["method"],
        request["path"],
        json=request.get("json"),
        headers={"Authorization": f"Bearer {request['token']}"},
    )


SECRET_JSON: list[Any] = [
    pytest.param(_token, None, id="token_response"),
    pytest.param(
        lambda c, w, _: c.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": "x"}),
        None,
        id="token_error",
    ),
    pytest.param(lambda c, w, _: _with_token(c, w, "GET", "/userinfo"), None, id="userinfo"),
    pytest.param(lambda c, w, _: _with_token(c, w, "POST", "/oauth/introspect"), None, id="introspection"),
    pytest.param(
        _mgmt, {"method": "POST", "path": "/api/v2/clients", "json": {"name": "x"}}, id="management_client_with_secret"
    ),
    pytest.param(_mgmt, {"method": "GET", "path": "/api/v2/users"}, id="management_user_list"),
    pytest.param(
        _mgmt,
        {"method": "POST", "path": "/api/v2/dcr/initial-access-tokens", "json": {}},
        id="management_initial_access_token",
    ),
    pytest.param(_mgmt, {"method": "GET", "path": "/api/v2/nothing"}, id="management_error"),
    pytest.param(
        lambda c, w, _: c.post("/oidc/register", json={"redirect_uris": ["https://a.example/cb"]}),
        None,
        id="dynamic_registration_answer",
    ),
]


@pytest.mark.parametrize(("fetch", "request_"), SECRET_JSON)
async def test_secret_bearing_json_is_not_stored(
    client: httpx.AsyncClient, world: World, mgmt_token: str, fetch: Fetch, request_: dict[str, Any] | None
) -> None:
    r = await fetch(client, world, {**(request_ or {}), "token": mgmt_token})
    assert r.headers["content-type"].startswith("application/json"), r.text[:200]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "no-store" in r.headers.get("cache-control", ""), f"{r.status_code} {dict(r.headers)}"


PUBLIC = [
    pytest.param("/.well-known/openid-configuration", id="discovery"),
    pytest.param("/.well-known/jwks.json", id="jwks"),
    pytest.param("/static/consentry.css", id="stylesheet"),
]


@pytest.mark.parametrize("path", PUBLIC)
async def test_public_documents_are_not_sniffed(client: httpx.AsyncClient, world: World, path: str) -> None:
    r = await client.get(path)
    assert r.status_code == 200 and r.headers["x-content-type-options"] == "nosniff"
