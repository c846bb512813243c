"""Where a request claims to come from: CORS origins, a forged Host header, spoofed X-Forwarded-For; and the
replay of stolen refresh tokens.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.flows.conftest import PASSWORD
from tests.security.conftest import SQLITE_ONLY, WEB_ORIGIN, World, get_tokens, params
from tests.support.flow import hidden, pkce_pair

pytestmark = pytest.mark.attack
EVIL_ORIGIN = "https://evil.example"

# --- CORS: a foreign web origin never reads an answer --------------------------------------------------------------

CORS: list[Any] = [
    pytest.param("POST", "/oauth/token", EVIL_ORIGIN, id="token_from_foreign_origin"),
    pytest.param("OPTIONS", "/oauth/token", EVIL_ORIGIN, id="token_preflight_from_foreign_origin"),
    pytest.param("GET", "/userinfo", EVIL_ORIGIN, id="userinfo_from_foreign_origin"),
    pytest.param("POST", "/oauth/revoke", "null", id="revoke_from_null_origin"),
    pytest.param("POST", "/oauth/token", WEB_ORIGIN + ".evil.example", id="registered_origin_as_prefix"),
    pytest.param("POST", "/oauth/token", "http://partner.example.com", id="registered_origin_over_http"),
    pytest.param("GET", "/api/v2/clients", WEB_ORIGIN, id="management_api_from_registered_origin"),
    pytest.param("POST", "/oauth/introspect", WEB_ORIGIN, id="introspection_from_registered_origin"),
]


@SQLITE_ONLY
@pytest.mark.parametrize(("method", "path", "origin"), CORS)
async def test_cors(client: httpx.AsyncClient, world: World, method: str, path: str, origin: str) -> None:
    headers = {"Origin": origin}
    if method == "OPTIONS":
        headers["Access-Control-Request-Method"] = "POST"
    r = await client.request(method, path, headers=headers, data={"grant_type": "x"} if method == "POST" else None)
    assert "access-control-allow-origin" not in r.headers, dict(r.headers)
    assert "access-control-allow-credentials" not in r.headers


@SQLITE_ONLY
async def test_cors_control(client: httpx.AsyncClient, world: World) -> None:
    """The registered web origin of a client is answered with exactly that origin (and never credentials)."""
    r = await client.post("/oauth/token", headers={"Origin": WEB_ORIGIN}, data={"grant_type": "x"})
    assert (
        r.headers["access-control-allow-origin"] == WEB_ORIGIN and "access-control-allow-credentials" not in r.headers
    )


# --- CORS per client (issue 17): an origin registered only by app Y never reads app X's answers -------------------

Y_ORIGIN = "https://y-app.example.net"
CROSS_CLIENT = [
    pytest.param("token", id="token_response_of_another_app"),
    pytest.param("revoke", id="revocation_response_of_another_app"),
    pytest.param("userinfo", id="userinfo_response_of_another_apps_token"),
    pytest.param("userinfo_form", id="userinfo_form_post_of_another_apps_token"),
    pytest.param("token_json", id="token_json_body_of_another_app"),
]


@SQLITE_ONLY
@pytest.mark.parametrize("what", CROSS_CLIENT)
async def test_cors_per_client(client: httpx.AsyncClient, world: World, what: str) -> None:
    from tests.integration.flows.conftest import make_app

    await make_app(world.rt, third_party=False, app_type="spa", callback=f"{Y_ORIGIN}/cb", web_origins=[Y_ORIGIN])
    tokens = await get_tokens(client, world.fp_spa, scope="openid read:posts offline_access")
    x = world.fp_spa.client_id  # first-party SPA: its callback origin is WEB_ORIGIN
    for origin in (Y_ORIGIN, WEB_ORIGIN):  # Y's origin is refused; X's own (the control) is answered
        headers = {"Origin": origin}
        if what == "token":
            r = await client.post(
                "/oauth/token",
                headers=headers,
                data={"grant_type": "refresh_token", "client_id": x, "refresh_token": tokens["refresh_token"]},
            )
            tokens = r.json() if r.status_code == 200 else tokens
        elif what == "token_json":
            r = await client.post(
                "/oauth/token",
                headers=headers,
                json={"grant_type": "refresh_token", "client_id": x, "refresh_token": tokens["refresh_token"]},
            )
            tokens = r.json() if r.status_code == 200 else tokens
        elif what == "revoke":
            r = await client.post("/oauth/revoke", headers=headers, data={"client_id": x, "token": "nothing"})
        elif what == "userinfo":
            r = await client.get("/userinfo", headers={**headers, "Authorization": f"Bearer {tokens['access_token']}"})
        else:
            r = await client.post("/userinfo", headers=headers, data={"access_token": tokens["access_token"]})
        assert r.status_code == 200, r.text
        assert r.headers.get("access-control-allow-origin") == (origin if origin == WEB_ORIGIN else None), origin


# --- Host header: URLs come from the configured issuer, never from the request ------------------------------------

HOST: list[Any] = [
    pytest.param("authorize_login_redirect", id="authorize_redirect_to_login"),
    pytest.param("discovery", id="discovery_issuer"),
    pytest.param("login_form_action", id="login_form_action"),
    pytest.param("forwarded_host", id="x_forwarded_host_and_proto"),
]


@SQLITE_ONLY
@pytest.mark.parametrize("what", HOST)
async def test_host_header_injection(client: httpx.AsyncClient, world: World, what: str) -> None:
    headers = {"Host": "evil.example"}
    if what == "forwarded_host":
        headers = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https", "Forwarded": "host=evil.example"}
    if what in ("authorize_login_redirect", "forwarded_host"):
        r = await client.get("/authorize", params=params(world.spa, pkce_pair()[1]), headers=headers)
        assert r.status_code == 302 and r.headers["location"].startswith("http://testserver/u/login?")
    elif what == "discovery":
        r = await client.get("/.well-known/openid-configuration", headers=headers)
        assert "evil.example" not in r.text and r.json()["issuer"] == "http://testserver/"
    else:
        r = await client.get("/u/login", headers=headers)
        assert 'action="http://testserver/u/login"' in r.text and "evil.example" not in r.text


# --- spoofed X-Forwarded-For does not reset the login limit (no trusted proxy is configured) ----------------------


@SQLITE_ONLY
async def test_brute_force_with_rotating_x_forwarded_for(client: httpx.AsyncClient, world: World) -> None:
    limit = world.rt.settings.login_max_failures
    status = []
    for i in range(limit + 1):
        page = await client.get("/u/login")
        r = await client.post(
            "/u/login",
            headers={"X-Forwarded-For": f"203.0.113.{i}"},
            data={
                "state": hidden(page.text, "state"),
                "csrf": hidden(page.text, "csrf"),
                "username": "alice@example.com",
                "password": PASSWORD if i == limit else f"guess {i}",
            },
        )
        status.append(r.status_code)
    assert status == [401] * limit + [429]


# --- stolen refresh tokens ----------------------------------------------------------------------------------------

REPLAY = [
    pytest.param("reuse_after_rotation", id="refresh_token_reused_after_rotation"),
    pytest.param("revoked", id="refresh_token_after_revocation"),
    pytest.param("revoked_by_other_client", id="revocation_by_another_client_is_ignored"),
    pytest.param("grant_revoked", id="refresh_token_after_consent_revoked"),
]


@pytest.mark.parametrize("how", REPLAY)
async def test_refresh_token_replay(client: httpx.AsyncClient, world: World, mgmt_token: str, how: str) -> None:
    spa = world.spa
    stolen = (await get_tokens(client, spa))["refresh_token"]

    async def refresh(token: str) -> httpx.Response:
        return await client.post(
            "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": token, "client_id": spa.client_id}
        )

    if how == "reuse_after_rotation":
        legit = await refresh(stolen)
        assert legit.status_code == 200
        replay = await refresh(stolen)
        assert replay.status_code == 403 and replay.json()["error"] == "invalid_grant"
        after = await refresh(legit.json()["refresh_token"])
        assert after.status_code == 403, "reuse revokes the whole family, the rotated token included"
        return
    if how in ("revoked", "revoked_by_other_client"):
        other = world.other if how == "revoked_by_other_client" else None
        data = {"token": stolen, "client_id": spa.client_id}
        auth = None
        if other:
            data = {"token": stolen}
            auth = httpx.BasicAuth(other.client_id, other.secret or "")
        assert (await client.post("/oauth/revoke", data=data, auth=auth)).status_code == 200
        r = await refresh(stolen)
        assert r.status_code == (200 if other else 403), r.text
        return
    grants = (await client.get("/api/v2/grants", headers={"Authorization": f"Bearer {mgmt_token}"})).json()
    for g in grants:
        await client.delete(f"/api/v2/grants/{g['id']}", headers={"Authorization": f"Bearer {mgmt_token}"})
    r = await refresh(stolen)
    assert r.status_code == 403 and r.json()["error"] == "invalid_grant"
