"""First-party apps end to end on a live server, and the negative table of the code flow (issue item 7.5).

Browser part (Chromium via Playwright): a first-party SPA and a regular web app, created through the
Management API, complete code + PKCE through the real login and consent pages; their ID and access
tokens verify against the JWKS with the exact issuer; then refresh, /userinfo, revocation and logout.

Negative part (httpx against the same live server; the login form is posted over HTTP): wrong and
missing PKCE verifier, replayed code (its refresh token then dies), reused refresh token (the family
dies), wrong redirect URI, wrong client secret (401 + WWW-Authenticate), ``prompt=none`` without a
session, unsupported ``response_type``, and open-redirect attempts on both logout endpoints. Code
expiry is checked in-process with a ``FrozenClock`` (no sleeping).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin

import httpx
import jwt
import pytest

from consentry.clock import FrozenClock
from consentry.runtime import Runtime
from tests.conftest import ISSUER as TEST_ISSUER
from tests.integration.flows.conftest import CALLBACK, make_app, make_user
from tests.integration.flows.conftest import PASSWORD as TEST_PASSWORD
from tests.interop.fixtures import live_browser_fixtures
from tests.interop.harness import (
    PASSWORD,
    Admin,
    AppServer,
    LiveServer,
    authorize_in_browser,
    same_origin,
    sign_in,
)
from tests.support.flow import authorize, exchange, hidden, login, query

e2e = pytest.mark.e2e
APP = "https://app.example.com"
APP_CALLBACK = f"{APP}/callback"
LOGGED_OUT = f"{APP}/logged-out"
EVIL = "https://evil.example.com"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


# --- fixtures: one server for this module, its admin, one Chromium ---------------------------------


live, admin, chromium, browser_context = live_browser_fixtures("module", "e2e-first-party")


@pytest.fixture
async def http(live: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping user agent that does not follow redirects (each hop is checked)."""
    async with httpx.AsyncClient(timeout=10, follow_redirects=False) as c:
        yield c


# --- token checks -------------------------------------------------------------------------------


def verify(live: LiveServer, token: str, audience: str, typ: str) -> dict[str, Any]:
    """Signature against the JWKS (by ``kid``), exact ``iss``, ``aud``, ``exp``/``iat``, and the JOSE ``typ``."""
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256" and header["typ"] == typ and header["kid"]
    key = jwt.PyJWKClient(live.url(".well-known/jwks.json"), cache_keys=False).get_signing_key(header["kid"])
    claims: dict[str, Any] = jwt.decode(
        token,
        key.key,
        algorithms=["RS256"],
        audience=audience,
        issuer=live.issuer,
        options={"require": ["iss", "sub", "aud", "exp", "iat"]},
    )
    return claims


async def token(http: httpx.AsyncClient, live: LiveServer, app: dict[str, Any], **data: str) -> httpx.Response:
    """POST /oauth/token as the app: HTTP Basic for a confidential app, ``client_id`` alone for a public one."""
    if "client_secret" in app:
        return await http.post(live.url("oauth/token"), data=data, auth=(app["client_id"], app["client_secret"]))
    return await http.post(live.url("oauth/token"), data={"client_id": app["client_id"], **data})


# --- 1. the browser flows -----------------------------------------------------------------------


@e2e
@pytest.mark.parametrize("app_type", ["spa", "regular_web"])
async def test_first_party_app_code_pkce_tokens_refresh_userinfo_revoke_logout(
    live: LiveServer, admin: Admin, browser_context: Any, http: httpx.AsyncClient, app_type: str
) -> None:
    with AppServer() as rp:
        api = admin.api(["read:things", "write:things"])["identifier"]
        callback, logged_out = rp.url("/callback"), rp.url("/logged-out")
        fields: dict[str, Any] = {"allowed_logout_urls": [logged_out], "web_origins": [rp.origin]}
        if app_type == "regular_web":
            fields["token_endpoint_auth_method"] = "client_secret_basic"
        app = admin.app(app_type, [callback], **fields)
        assert ("client_secret" in app) is (app_type == "regular_web")
        user = admin.user()

        verifier, challenge = pkce()
        state, nonce = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
        params = {
            "response_type": "code",
            "client_id": app["client_id"],
            "redirect_uri": callback,
            "state": state,
            "nonce": nonce,
            "scope": "openid profile email offline_access read:things",
            "audience": api,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        url = live.url("authorize") + "?" + urlencode(params)
        cb = query(await authorize_in_browser(browser_context, url, callback, live.issuer, user["email"]))
        assert cb["state"] == state and cb["iss"] == live.issuer and set(cb) == {"code", "state", "iss"}

        r = await token(
            http,
            live,
            app,
            grant_type="authorization_code",
            code=cb["code"],
            redirect_uri=callback,
            code_verifier=verifier,
        )
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"] == "no-store"
        tokens = r.json()
        assert tokens["token_type"] == "Bearer" and isinstance(tokens["expires_in"], int)
        assert tokens["scope"] == "openid profile email offline_access read:things"
        idt = verify(live, tokens["id_token"], app["client_id"], "JWT")
        assert idt["sub"] == user["user_id"] and idt["nonce"] == nonce and idt["email"] == user["email"]
        assert isinstance(idt["auth_time"], int) and idt["sid"]
        at = verify(live, tokens["access_token"], api, "at+jwt")
        assert at["aud"] == [api, live.url("userinfo")] and at["client_id"] == app["client_id"]
        assert at["sub"] == user["user_id"] and at["scope"] == tokens["scope"] and at["jti"]

        info = await http.get(live.url("userinfo"), headers={"Authorization": f"Bearer {tokens['access_token']}"})
        assert info.status_code == 200 and info.json()["sub"] == user["user_id"], info.text

        r = await token(http, live, app, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
        assert r.status_code == 200, r.text
        refreshed = r.json()
        assert refreshed["refresh_token"] != tokens["refresh_token"]
        assert verify(live, refreshed["id_token"], app["client_id"], "JWT")["sub"] == user["user_id"]
        assert verify(live, refreshed["access_token"], api, "at+jwt")["jti"] != at["jti"]

        revoke = {"token": refreshed["refresh_token"], "token_type_hint": "refresh_token"}
        if "client_secret" in app:
            r = await http.post(live.url("oauth/revoke"), data=revoke, auth=(app["client_id"], app["client_secret"]))
        else:
            r = await http.post(live.url("oauth/revoke"), data={"client_id": app["client_id"], **revoke})
        assert (r.status_code, r.content) == (200, b"")
        r = await token(http, live, app, grant_type="refresh_token", refresh_token=refreshed["refresh_token"])
        assert (r.status_code, r.json()["error"]) == (403, "invalid_grant")

        # logout in the browser ends the SSO session: a silent authorization then needs a login
        page = await browser_context.new_page()
        await page.goto(
            live.url("v2/logout") + "?" + urlencode({"client_id": app["client_id"], "returnTo": logged_out})
        )
        assert page.url == logged_out
        await page.goto(live.url("authorize") + "?" + urlencode({**params, "prompt": "none"}))
        assert page.url.startswith(callback + "?")
        after = query(page.url)
        assert after == {
            "error": "login_required",
            "error_description": after["error_description"],
            "state": state,
            "iss": live.issuer,
        }


@e2e
async def test_form_post_response_mode_auto_submits_in_a_real_browser(
    live: LiveServer, admin: Admin, browser_context: Any, http: httpx.AsyncClient
) -> None:
    """The form_post page runs its script under a hash-based CSP: only a real browser shows that it submits."""
    with AppServer() as rp:
        callback = rp.url("/callback")
        app = admin.app("regular_web", [callback], token_endpoint_auth_method="client_secret_basic")
        user = admin.user()
        verifier, challenge = pkce()
        params = {
            "response_type": "code",
            "response_mode": "form_post",
            "client_id": app["client_id"],
            "redirect_uri": callback,
            "state": "fp",
            "nonce": "n1",
            "scope": "openid",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        page = await browser_context.new_page()
        console: list[str] = []
        page.on("console", lambda m: console.append(m.text))
        await page.goto(live.url("authorize") + "?" + urlencode(params))
        await sign_in(page, live.issuer, user["email"], PASSWORD, lambda url: url.startswith(callback))
        [(path, body)] = rp.posts
        form = {k: v[0] for k, v in parse_qs(body).items()}
        assert path == "/callback" and set(form) == {"code", "state", "iss"}, form
        assert (form["state"], form["iss"]) == ("fp", live.issuer)
        assert not [m for m in console if "Content Security Policy" in m], console
        r = await token(
            http,
            live,
            app,
            grant_type="authorization_code",
            code=form["code"],
            redirect_uri=callback,
            code_verifier=verifier,
        )
        assert r.status_code == 200, r.text
        assert verify(live, r.json()["id_token"], app["client_id"], "JWT")["nonce"] == "n1"


# --- 2. the negative table over HTTP --------------------------------------------------------------


@pytest.fixture(scope="module")
def apps(admin: Admin) -> dict[str, dict[str, Any]]:
    """A confidential web app and a public SPA with a verifiable https callback (no confirmation prompt)."""
    urls = {"allowed_logout_urls": [LOGGED_OUT], "web_origins": [APP]}
    return {
        "web": admin.app("regular_web", [APP_CALLBACK], token_endpoint_auth_method="client_secret_basic", **urls),
        "spa": admin.app("spa", [APP_CALLBACK], **urls),
    }


@pytest.fixture(scope="module")
def person(admin: Admin) -> dict[str, Any]:
    return admin.user()


async def follow(http: httpx.AsyncClient, live: LiveServer, r: httpx.Response) -> httpx.Response:
    """Follow redirects while they stay on the server; stop at a page or at a redirect that leaves it."""
    for _ in range(10):
        if r.status_code not in (302, 303):
            return r
        target = urljoin(str(r.url), r.headers["location"])
        if not same_origin(target, live.issuer):
            return r
        r = await http.get(target)
    raise AssertionError("redirect loop")


async def code_flow(
    http: httpx.AsyncClient, live: LiveServer, app: dict[str, Any], person: dict[str, Any], **extra: str
) -> tuple[dict[str, str], str]:
    """Authorize with PKCE, post the login form; returns (callback parameters, code_verifier)."""
    verifier, challenge = pkce()
    params = {
        "response_type": "code",
        "client_id": app["client_id"],
        "redirect_uri": APP_CALLBACK,
        "scope": "openid offline_access",
        "state": "xyz",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    r = await follow(http, live, await http.get(live.url("authorize"), params=params))
    if r.status_code == 200 and 'name="password"' in r.text:
        form = {
            "state": hidden(r.text, "state"),
            "csrf": hidden(r.text, "csrf"),
            "username": person["email"],
            "password": PASSWORD,
        }
        r = await follow(http, live, await http.post(live.url("u/login"), data=form))
    assert r.status_code == 302, (r.status_code, r.text[:500])
    assert r.headers["location"].startswith(APP_CALLBACK + "?"), r.headers["location"]
    return query(r.headers["location"]), verifier


async def tokens_for(
    http: httpx.AsyncClient, live: LiveServer, app: dict[str, Any], person: dict[str, Any]
) -> dict[str, Any]:
    cb, verifier = await code_flow(http, live, app, person)
    r = await token(
        http,
        live,
        app,
        grant_type="authorization_code",
        code=cb["code"],
        redirect_uri=APP_CALLBACK,
        code_verifier=verifier,
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def assert_error(r: httpx.Response, status: int, error: str) -> None:
    assert (r.status_code, r.json()["error"]) == (status, error), r.text
    assert r.json()["error_description"]


@e2e
@pytest.mark.parametrize("kind", ["web", "spa"])
@pytest.mark.parametrize(
    ("case", "status", "error"),
    [
        ("wrong_verifier", 403, "invalid_grant"),
        ("missing_verifier", 400, "invalid_request"),
        ("verifier_too_short", 403, "invalid_grant"),
        ("wrong_redirect_uri", 403, "invalid_grant"),
        ("missing_redirect_uri_is_fine", 200, ""),
        ("code_of_another_client", 403, "invalid_grant"),
        ("unknown_code", 403, "invalid_grant"),
    ],
)
async def test_code_exchange_refusals(
    live: LiveServer,
    apps: dict[str, dict[str, Any]],
    person: dict[str, Any],
    http: httpx.AsyncClient,
    kind: str,
    case: str,
    status: int,
    error: str,
) -> None:
    app = apps[kind]
    cb, verifier = await code_flow(http, live, app, person)
    data = {
        "grant_type": "authorization_code",
        "code": cb["code"],
        "redirect_uri": APP_CALLBACK,
        "code_verifier": verifier,
    }
    if case == "wrong_verifier":
        data["code_verifier"] = pkce()[0]
    elif case == "missing_verifier":
        del data["code_verifier"]
    elif case == "verifier_too_short":
        data["code_verifier"] = verifier[:42]
    elif case == "wrong_redirect_uri":
        data["redirect_uri"] = APP + "/other"
    elif case == "missing_redirect_uri_is_fine":
        del data["redirect_uri"]
    elif case == "code_of_another_client":
        app = apps["spa" if kind == "web" else "web"]
    elif case == "unknown_code":
        data["code"] = secrets.token_urlsafe(32)
    r = await token(http, live, app, **data)
    if status == 200:
        assert r.status_code == 200, r.text
    else:
        assert_error(r, status, error)


@e2e
@pytest.mark.parametrize("kind", ["web", "spa"])
async def test_replayed_code_is_refused_and_revokes_its_refresh_token(
    live: LiveServer, apps: dict[str, dict[str, Any]], person: dict[str, Any], http: httpx.AsyncClient, kind: str
) -> None:
    app = apps[kind]
    cb, verifier = await code_flow(http, live, app, person)
    data = {
        "grant_type": "authorization_code",
        "code": cb["code"],
        "redirect_uri": APP_CALLBACK,
        "code_verifier": verifier,
    }
    first = await token(http, live, app, **data)
    assert first.status_code == 200, first.text
    assert_error(await token(http, live, app, **data), 403, "invalid_grant")
    r = await token(http, live, app, grant_type="refresh_token", refresh_token=first.json()["refresh_token"])
    assert_error(r, 403, "invalid_grant")


@e2e
@pytest.mark.parametrize("kind", ["web", "spa"])
async def test_reused_refresh_token_kills_the_family(
    live: LiveServer, apps: dict[str, dict[str, Any]], person: dict[str, Any], http: httpx.AsyncClient, kind: str
) -> None:
    app = apps[kind]
    rt1 = (await tokens_for(http, live, app, person))["refresh_token"]
    r = await token(http, live, app, grant_type="refresh_token", refresh_token=rt1)
    assert r.status_code == 200, r.text
    rt2 = r.json()["refresh_token"]
    assert rt2 != rt1
    assert_error(await token(http, live, app, grant_type="refresh_token", refresh_token=rt1), 403, "invalid_grant")
    assert_error(await token(http, live, app, grant_type="refresh_token", refresh_token=rt2), 403, "invalid_grant")
    # another login starts a new, healthy family
    rt3 = (await tokens_for(http, live, app, person))["refresh_token"]
    r = await token(http, live, app, grant_type="refresh_token", refresh_token=rt3)
    assert r.status_code == 200, r.text


@e2e
async def test_wrong_client_secret_gets_401_with_a_challenge(
    live: LiveServer, apps: dict[str, dict[str, Any]], person: dict[str, Any], http: httpx.AsyncClient
) -> None:
    app = apps["web"]
    cb, verifier = await code_flow(http, live, app, person)
    data = {
        "grant_type": "authorization_code",
        "code": cb["code"],
        "redirect_uri": APP_CALLBACK,
        "code_verifier": verifier,
    }
    r = await http.post(live.url("oauth/token"), data=data, auth=(app["client_id"], "not-the-secret"))
    assert_error(r, 401, "invalid_client")
    assert r.headers["www-authenticate"].lower().startswith("basic")
    r = await http.post(
        live.url("oauth/token"), data={**data, "client_id": app["client_id"], "client_secret": "not-the-secret"}
    )
    assert_error(r, 401, "invalid_client")
    r = await http.post(live.url("oauth/token"), data=data)  # no client authentication at all
    assert_error(r, 401, "invalid_client")
    # the failed attempts did not consume the code
    r = await token(http, live, app, **data)
    assert r.status_code == 200, r.text


@e2e
async def test_prompt_none_without_a_session_redirects_login_required_with_iss(
    live: LiveServer, apps: dict[str, dict[str, Any]], http: httpx.AsyncClient
) -> None:
    _, challenge = pkce()
    r = await http.get(
        live.url("authorize"),
        params={
            "response_type": "code",
            "client_id": apps["spa"]["client_id"],
            "redirect_uri": APP_CALLBACK,
            "scope": "openid",
            "state": "s1",
            "prompt": "none",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert r.status_code == 302 and r.headers["location"].startswith(APP_CALLBACK + "?")
    cb = query(r.headers["location"])
    assert (cb["error"], cb["state"], cb["iss"]) == ("login_required", "s1", live.issuer)


@e2e
@pytest.mark.parametrize("extra", [{"prompt": "login"}, {"max_age": "0"}])
async def test_prompt_login_and_max_age_0_ask_for_the_password_again(
    live: LiveServer,
    apps: dict[str, dict[str, Any]],
    person: dict[str, Any],
    http: httpx.AsyncClient,
    extra: dict[str, str],
) -> None:
    app = apps["web"]
    await code_flow(http, live, app, person)  # a session now exists
    _, challenge = pkce()
    params = {
        "response_type": "code",
        "client_id": app["client_id"],
        "redirect_uri": APP_CALLBACK,
        "scope": "openid",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    r = await follow(http, live, await http.get(live.url("authorize"), params=params))
    assert r.status_code == 200 and 'name="password"' in r.text
    # with the session and no prompt, no page at all
    r = await http.get(live.url("authorize"), params={k: v for k, v in params.items() if k not in extra})
    assert r.status_code == 302 and r.headers["location"].startswith(APP_CALLBACK + "?code=")


@e2e
@pytest.mark.parametrize("response_type", ["token", "id_token", "code id_token", "code token", "none"])
async def test_unsupported_response_type_is_redirected_with_iss(
    live: LiveServer, apps: dict[str, dict[str, Any]], http: httpx.AsyncClient, response_type: str
) -> None:
    r = await http.get(
        live.url("authorize"),
        params={
            "response_type": response_type,
            "client_id": apps["web"]["client_id"],
            "redirect_uri": APP_CALLBACK,
            "scope": "openid",
            "state": "s2",
            "nonce": "n",
        },
    )
    assert r.status_code == 302 and r.headers["location"].startswith(APP_CALLBACK + "?"), r.text[:300]
    assert "#" not in r.headers["location"]  # nothing in a fragment: no implicit or hybrid response
    cb = query(r.headers["location"])
    assert (cb["error"], cb["state"], cb["iss"]) == ("unsupported_response_type", "s2", live.issuer)


@e2e
@pytest.mark.parametrize(
    "redirect_uri",
    [
        EVIL + "/callback",
        APP_CALLBACK + "/extra",
        APP_CALLBACK + "?x=1",
        APP + ".evil.example.com/callback",
        "https://app.example.com@evil.example.com/callback",
        "//evil.example.com/callback",
        "javascript:alert(1)",
        APP_CALLBACK.upper(),
    ],
)
async def test_authorize_never_redirects_to_an_unregistered_uri(
    live: LiveServer, apps: dict[str, dict[str, Any]], http: httpx.AsyncClient, redirect_uri: str
) -> None:
    r = await http.get(
        live.url("authorize"),
        params={
            "response_type": "token",
            "client_id": apps["web"]["client_id"],
            "redirect_uri": redirect_uri,
            "scope": "openid",
            "state": "s3",
        },
    )
    assert r.status_code == 400 and "location" not in r.headers
    assert r.headers["content-type"].startswith("text/html")


LOGOUT_ATTACKS = [
    EVIL + "/",
    APP + ".evil.example.com/logged-out",
    "https://app.example.com@evil.example.com/logged-out",
    "//evil.example.com/logged-out",
    "/\\evil.example.com",
    LOGGED_OUT + "/../../evil",
    LOGGED_OUT + "?next=" + EVIL,
    LOGGED_OUT + "#" + EVIL,
    "https://APP.example.com/logged-out",
    "http://app.example.com/logged-out",
    "javascript:alert(document.domain)",
    "data:text/html,<script>alert(1)</script>",
    " " + LOGGED_OUT,
    LOGGED_OUT + "\r\nLocation: " + EVIL,
]


@e2e
@pytest.mark.parametrize("return_to", LOGOUT_ATTACKS)
async def test_v2_logout_never_redirects_to_an_unlisted_url(
    live: LiveServer, apps: dict[str, dict[str, Any]], http: httpx.AsyncClient, return_to: str
) -> None:
    for params in ({"client_id": apps["web"]["client_id"], "returnTo": return_to}, {"returnTo": return_to}):
        r = await http.get(live.url("v2/logout"), params=params)
        assert r.status_code == 400 and "location" not in r.headers, (params, r.status_code, r.headers)


@e2e
@pytest.mark.parametrize("redirect", LOGOUT_ATTACKS)
async def test_oidc_logout_never_redirects_to_an_unlisted_url(
    live: LiveServer, apps: dict[str, dict[str, Any]], http: httpx.AsyncClient, redirect: str
) -> None:
    for params in (
        {"client_id": apps["web"]["client_id"], "post_logout_redirect_uri": redirect},
        {"post_logout_redirect_uri": redirect},
    ):
        r = await http.get(live.url("oidc/logout"), params=params)
        assert r.status_code == 400 and "location" not in r.headers, (params, r.status_code, r.headers)


@e2e
async def test_logout_redirects_to_an_allowed_url_and_ends_the_session(
    live: LiveServer, apps: dict[str, dict[str, Any]], person: dict[str, Any], http: httpx.AsyncClient
) -> None:
    app = apps["web"]
    await code_flow(http, live, app, person)  # logs in: the session cookie is set
    cb, _ = await code_flow(http, live, app, person, prompt="none")
    assert "code" in cb
    r = await http.get(live.url("v2/logout"), params={"client_id": app["client_id"], "returnTo": LOGGED_OUT})
    assert (r.status_code, r.headers["location"]) == (302, LOGGED_OUT)
    cb, _ = await code_flow(http, live, app, person, prompt="none")
    assert cb["error"] == "login_required"
    # OIDC RP-initiated logout with the ID token as a hint, state passed back
    tokens = await tokens_for(http, live, app, person)
    hint = {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": LOGGED_OUT, "state": "bye"}
    r = await http.get(live.url("oidc/logout"), params=hint)
    assert (r.status_code, r.headers["location"]) == (302, LOGGED_OUT + "?state=bye")
    cb, _ = await code_flow(http, live, app, person, prompt="none")
    assert cb["error"] == "login_required"


# --- 3. code expiry, in-process with a frozen clock ---------------------------------------------------


@pytest.fixture
def frozen(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    clock = FrozenClock()
    monkeypatch.setattr(runtime, "clock", clock)
    return clock


async def test_expired_code_is_refused_at_the_lifetime_boundary(
    client: httpx.AsyncClient, runtime: Runtime, frozen: FrozenClock
) -> None:
    """A code lives ``authorization_code_lifetime`` seconds (60 by default): usable just before, refused at it."""
    app = await make_app(runtime, third_party=False, app_type="spa")
    await make_user(runtime)
    lifetime = runtime.settings.authorization_code_lifetime
    codes = []
    for _ in range(2):
        verifier, challenge = pkce()
        step = await authorize(
            client,
            {
                "client_id": app.client_id,
                "redirect_uri": CALLBACK,
                "response_type": "code",
                "scope": "openid offline_access",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "state": "st",
            },
        )
        if step.on_login:
            step = await login(client, step, "alice@example.com", TEST_PASSWORD)
        assert step.params["iss"] == TEST_ISSUER
        codes.append((step.params["code"], verifier))
    frozen.advance(lifetime - 1)
    r = await exchange(client, codes[0][0], app.client_id, CALLBACK, codes[0][1])
    assert r.status_code == 200, r.text
    frozen.advance(1)
    r = await exchange(client, codes[1][0], app.client_id, CALLBACK, codes[1][1])
    assert (r.status_code, r.json()["error"]) == (403, "invalid_grant"), r.text
    assert "expired" in r.json()["error_description"]
