"""CORS on the browser endpoints: exact allowed origins (web_origins, allowed_origins, callback origins),
``*`` on public metadata, preflights that echo spa-js's ``Auth0-Client`` header, never credentials."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import delete, update

from consentry.oauth.cors_origins import origin_of, request_origin_ok
from consentry.runtime import Runtime
from consentry.storage.models import Client
from tests.integration.dcr.conftest import set_flag
from tests.integration.flows.conftest import App, grant, make_app, social  # noqa: F401
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


async def test_actual_responses_carry_the_origin(
    client: httpx.AsyncClient,
    social: Runtime,  # noqa: F811
    browser_app: App,
) -> None:
    r = await client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "client_id": browser_app.client_id, "refresh_token": "nope"},
        headers={"Origin": WEB_ORIGIN},
    )
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
    r = await client.post(
        "/oauth/revoke",
        data={"client_id": browser_app.client_id, "token": tokens["refresh_token"]},
        headers={"Origin": ALLOWED_ORIGIN},
    )
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == ALLOWED_ORIGIN


async def test_actual_responses_for_denied_origins(client: httpx.AsyncClient, browser_app: App) -> None:
    r = await client.get("/userinfo", headers={"Origin": "https://evil.example.com"})
    assert r.status_code == 401
    assert "access-control-allow-origin" not in r.headers and r.headers["vary"] == "Origin"


async def test_well_known_is_public(client: httpx.AsyncClient, runtime: Runtime) -> None:
    for path in (
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
        "/.well-known/jwks.json",
    ):
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


# --- per client (issue 17): one app's origins never read another app's answers --------------------------------------

X_ORIGIN = WEB_ORIGIN  # listed by app X (browser_app) only
Y_ORIGIN = "https://y-app.example.net"  # listed by app Y only


@pytest.fixture
async def app_y(social: Runtime) -> App:  # noqa: F811
    return await make_app(social, third_party=False, app_type="spa", callback=f"{Y_ORIGIN}/cb", web_origins=[Y_ORIGIN])


def acao(r: httpx.Response) -> str | None:
    return r.headers.get("access-control-allow-origin")


async def _refresh(client: httpx.AsyncClient, app: App, token: str, origin: str) -> httpx.Response:
    return await client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "client_id": app.client_id, "refresh_token": token},
        headers={"Origin": origin},
    )


async def test_another_apps_origin_cannot_read_the_token_response(
    client: httpx.AsyncClient, browser_app: App, app_y: App
) -> None:
    tokens = await user_tokens(client, browser_app)
    r = await _refresh(client, browser_app, tokens["refresh_token"], Y_ORIGIN)
    assert r.status_code == 200 and "access_token" in r.json(), r.text  # the endpoint answered ...
    assert acao(r) is None and "Origin" in r.headers["vary"]  # ... but Y's page may not read it
    r = await _refresh(client, browser_app, r.json()["refresh_token"], X_ORIGIN)
    assert r.status_code == 200 and acao(r) == X_ORIGIN
    r = await _refresh(client, browser_app, "nope", Y_ORIGIN)  # an error about X's request: X's origins only
    assert r.status_code == 403 and acao(r) is None
    r = await _refresh(client, app_y, "nope", Y_ORIGIN)  # Y's own requests are Y's to read
    assert r.status_code == 403 and acao(r) == Y_ORIGIN


async def test_json_bodies_are_attributed_like_forms(client: httpx.AsyncClient, browser_app: App, app_y: App) -> None:
    body = {"grant_type": "refresh_token", "client_id": browser_app.client_id, "refresh_token": "nope"}
    r = await client.post("/oauth/token", json=body, headers={"Origin": Y_ORIGIN})
    assert r.status_code == 403 and acao(r) is None
    r = await client.post("/oauth/token", json=body, headers={"Origin": X_ORIGIN})
    assert r.status_code == 403 and acao(r) == X_ORIGIN


async def test_another_apps_origin_cannot_read_revocation(
    client: httpx.AsyncClient, browser_app: App, app_y: App
) -> None:
    tokens = await user_tokens(client, browser_app)
    data = {"client_id": browser_app.client_id, "token": tokens["refresh_token"]}
    r = await client.post("/oauth/revoke", data=data, headers={"Origin": Y_ORIGIN})
    assert r.status_code == 200 and acao(r) is None
    r = await client.post("/oauth/revoke", data=data, headers={"Origin": X_ORIGIN})
    assert r.status_code == 200 and acao(r) == X_ORIGIN


async def test_another_apps_origin_cannot_read_userinfo(
    client: httpx.AsyncClient, browser_app: App, app_y: App
) -> None:
    token = (await user_tokens(client, browser_app))["access_token"]
    r = await client.get("/userinfo", headers={"Origin": Y_ORIGIN, **bearer(token)})
    assert r.status_code == 200 and "sub" in r.json() and acao(r) is None
    r = await client.post("/userinfo", data={"access_token": token}, headers={"Origin": Y_ORIGIN})
    assert r.status_code == 200 and acao(r) is None
    r = await client.get("/userinfo", headers={"Origin": X_ORIGIN, **bearer(token)})
    assert r.status_code == 200 and acao(r) == X_ORIGIN
    r = await client.post("/userinfo", data={"access_token": token}, headers={"Origin": CALLBACK_ORIGIN})
    assert r.status_code == 200 and acao(r) == CALLBACK_ORIGIN


async def test_a_forged_client_id_claim_is_not_trusted(client: httpx.AsyncClient, browser_app: App, app_y: App) -> None:
    """A token that does not verify names nobody: its 401 is readable (an error), never its claims."""
    token = (await user_tokens(client, browser_app))["access_token"]
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    r = await client.get("/userinfo", headers={"Origin": Y_ORIGIN, **bearer(forged)})
    assert r.status_code == 401 and acao(r) == Y_ORIGIN and r.json()["error"] == "invalid_token"


async def test_basic_authentication_names_the_client(
    client: httpx.AsyncClient,
    social: Runtime,  # noqa: F811
    browser_app: App,
    app_y: App,
) -> None:
    web = await make_app(social, third_party=False, app_type="regular_web", callback=f"{X_ORIGIN}/cb")
    data = {"grant_type": "refresh_token", "refresh_token": "nope"}
    r = await client.post(
        "/oauth/token", data=data, auth=(web.client_id, web.secret or ""), headers={"Origin": Y_ORIGIN}
    )
    assert r.status_code == 403 and acao(r) is None
    r = await client.post(
        "/oauth/token", data=data, auth=(web.client_id, web.secret or ""), headers={"Origin": X_ORIGIN}
    )
    assert r.status_code == 403 and acao(r) == X_ORIGIN
    # naming Y in the body and X in the header: the origin must be listed by both
    r = await client.post(
        "/oauth/token",
        data={**data, "client_id": app_y.client_id},
        auth=(web.client_id, web.secret or ""),
        headers={"Origin": Y_ORIGIN},
    )
    assert r.status_code == 401 and acao(r) is None


async def test_preflight_is_answered_for_any_listed_origin(
    client: httpx.AsyncClient, browser_app: App, app_y: App
) -> None:
    """A preflight has no body and so no client: any origin some app lists gets its 204 (documented)."""
    for origin in (X_ORIGIN, Y_ORIGIN):
        for path in ("/oauth/token", "/oauth/revoke", "/userinfo"):
            r = await client.options(path, headers=preflight_headers(origin))
            assert r.status_code == 204 and acao(r) == origin
    r = await client.options("/oauth/token", headers=preflight_headers("https://nobody.example"))
    assert r.status_code == 403 and acao(r) is None


async def test_errors_naming_no_client_are_readable_by_listed_origins_only(
    client: httpx.AsyncClient, app_y: App
) -> None:
    r = await client.post(
        "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": "x"}, headers={"Origin": Y_ORIGIN}
    )
    assert r.status_code == 401 and acao(r) == Y_ORIGIN  # "client_id missing"
    r = await client.post("/oauth/token", content=b"x" * (1024 * 1024 + 1), headers={"Origin": Y_ORIGIN})
    assert r.status_code == 413 and acao(r) == Y_ORIGIN
    r = await client.post("/oauth/token", content=b"client_id=a&client_id=b", headers={"Origin": Y_ORIGIN})
    assert r.status_code == 400 and acao(r) == Y_ORIGIN  # a body that does not parse names nobody
    r = await client.post("/oauth/token", data={"grant_type": "x"}, headers={"Origin": "https://nobody.example"})
    assert acao(r) is None


async def test_a_deleted_or_pending_client_lets_no_origin_read(
    client: httpx.AsyncClient,
    social: Runtime,  # noqa: F811
    browser_app: App,
) -> None:
    tokens = await user_tokens(client, browser_app)
    async with social.db.transaction() as s:
        await s.execute(update(Client).where(Client.client_id == browser_app.client_id).values(status="pending"))
    social.catalog.invalidate()
    r = await client.get("/userinfo", headers={"Origin": X_ORIGIN, **bearer(tokens["access_token"])})
    assert acao(r) is None
    r = await _refresh(client, browser_app, tokens["refresh_token"], X_ORIGIN)
    assert r.status_code == 401 and acao(r) is None


@pytest.mark.parametrize("settings_overrides", [{"dcr_hold_until_consent": False}])  # a stored DCR client
async def test_a_dcr_app_cannot_widen_other_apps_origins(
    client: httpx.AsyncClient,
    social: Runtime,  # noqa: F811
    browser_app: App,
) -> None:
    evil = "https://dcr-registered.example.org"
    await set_flag(social, "enable_dynamic_client_registration", True)
    await grant(social, default=True)
    r = await client.post(
        "/oidc/register",
        json={"client_name": "Mine", "redirect_uris": [f"{evil}/callback"], "token_endpoint_auth_method": "none"},
    )
    assert r.status_code == 201, r.text
    registered = r.json()["client_id"]
    assert (await client.options("/oauth/token", headers=preflight_headers(evil))).status_code == 204
    tokens = await user_tokens(client, browser_app)
    r = await _refresh(client, browser_app, tokens["refresh_token"], evil)
    assert r.status_code == 200 and acao(r) is None
    r = await client.get("/userinfo", headers={"Origin": evil, **bearer(r.json()["access_token"])})
    assert r.status_code == 200 and acao(r) is None
    r = await client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "client_id": registered, "refresh_token": "nope"},
        headers={"Origin": evil},
    )
    assert acao(r) == evil  # its own answers are its own


async def test_a_held_registration_has_no_origins_before_its_first_consent(
    client: httpx.AsyncClient,
    social: Runtime,  # noqa: F811
) -> None:
    """A registration no user has approved is not a client yet: its origin passes no preflight (no token request
    could succeed before the consent that stores it)."""
    evil = "https://dcr-registered.example.org"
    await set_flag(social, "enable_dynamic_client_registration", True)
    await grant(social, default=True)
    r = await client.post(
        "/oidc/register",
        json={"client_name": "Mine", "redirect_uris": [f"{evil}/callback"], "token_endpoint_auth_method": "none"},
    )
    assert r.status_code == 201, r.text
    assert (await client.options("/oauth/token", headers=preflight_headers(evil))).status_code == 403
    r = await client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "client_id": r.json()["client_id"], "refresh_token": "nope"},
        headers={"Origin": evil},
    )
    assert acao(r) is None
