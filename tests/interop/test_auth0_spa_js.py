"""@auth0/auth0-spa-js 2.27.0 in headless Chromium against a live Consentry (issue item 7.4).

A tiny single-page app (served on another 127.0.0.1 port, so app and server are same-site) loads the
library's UMD bundle from node_modules with ``domain: "http://127.0.0.1:PORT"`` and no ``issuer``
option (spa-js then expects ``iss`` to be exactly ``domain + "/"``). Playwright drives it:
``loginWithRedirect`` → our login page → ``handleRedirectCallback`` → ``getUser``; then
``getTokenSilently({cacheMode: 'off'})`` through a hidden iframe (``prompt=none&response_mode=web_message``:
the SameSite=Lax session cookie is sent because the app is same-site); then, with ``useRefreshTokens``,
a refresh_token grant from the browser (CORS preflight on /oauth/token); then ``logout`` through
``/v2/logout?client_id&returnTo``, after which silent authentication answers ``login_required``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.interop.harness import PASSWORD, Admin, AppServer, LiveServer, sign_in
from tests.interop.node_client import node_modules

pytestmark = pytest.mark.interop

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>spa-js test app</title></head>
<body><pre id="out"></pre>
<script src="/auth0-spa-js.production.js"></script>
<script>
const CONFIG = %(config)s;
window.events = [];
window.ready = (async () => {
  const refresh = sessionStorage.getItem('mode') === 'refresh';
  window.spa = await auth0.createAuth0Client({
    domain: CONFIG.domain, clientId: CONFIG.clientId, cacheLocation: 'memory', useRefreshTokens: refresh,
    authorizeTimeoutInSeconds: 10,
    authorizationParams: { redirect_uri: location.origin + '/', audience: CONFIG.audience,
                           scope: 'openid profile email offline_access read:things' },
  });
  const q = new URLSearchParams(location.search);
  if (q.has('code') || q.has('error')) {
    try {
      await spa.handleRedirectCallback();
      window.events.push({ callback: 'ok', user: await spa.getUser(), claims: await spa.getIdTokenClaims() });
    } catch (e) {
      window.events.push({ callback: 'error', error: e.error || String(e), description: e.error_description });
    }
    history.replaceState({}, '', '/');
  }
  document.getElementById('out').textContent = JSON.stringify(window.events);
  return true;
})();
window.silent = async () => {
  try {
    const r = await spa.getTokenSilently({ cacheMode: 'off', detailedResponse: true });
    return { ok: true, access_token: r.access_token, id_token: r.id_token, scope: r.scope };
  } catch (e) {
    return { ok: false, error: e.error || String(e), description: e.error_description || e.message };
  }
};
</script></body></html>
"""


def spa_page(live: LiveServer, client_id: str, audience: str) -> bytes:
    config = {"domain": live.origin, "clientId": client_id, "audience": audience}
    return (PAGE % {"config": json.dumps(config)}).encode()


def requests_to(log: list[dict[str, Any]], live: LiveServer, path: str) -> list[dict[str, Any]]:
    return [r for r in log if r["url"].split("?")[0] == live.url(path)]


async def test_auth0_spa_js_login_silent_auth_refresh_logout(
    live: LiveServer, admin: Admin, browser_context: Any
) -> None:
    bundle_dir = node_modules() / "@auth0" / "auth0-spa-js" / "dist"
    with AppServer(root=bundle_dir) as app_server:
        origin = app_server.origin
        api = admin.api(["read:things"], skip_consent_for_verifiable_first_party_clients=True)["identifier"]
        spa = admin.app(
            "spa",
            [origin + "/"],
            web_origins=[origin],
            allowed_origins=[origin],
            allowed_logout_urls=[origin + "/logged-out"],
            skip_non_verifiable_callback_uri_confirmation_prompt=True,
        )
        user = admin.user()
        app_server.files["/"] = spa_page(live, spa["client_id"], api)

        log: list[dict[str, Any]] = []
        cors: list[str | None] = []
        browser_context.on("request", lambda r: log.append({"method": r.method, "url": r.url, "body": r.post_data}))
        browser_context.on(
            "response",
            lambda r: (
                cors.append(r.headers.get("access-control-allow-origin")) if r.url == live.url("oauth/token") else None
            ),
        )
        page = await browser_context.new_page()
        await page.goto(origin + "/")
        await page.evaluate("window.ready")

        # 1. loginWithRedirect → our login page → back to the app → handleRedirectCallback
        await page.evaluate("spa.loginWithRedirect()")
        await page.wait_for_url(lambda url: url.startswith(live.issuer))
        await sign_in(page, live.issuer, user["email"], PASSWORD, lambda url: url.startswith(origin + "/"))
        await page.evaluate("window.ready")
        [event] = await page.evaluate("window.events")
        assert event["callback"] == "ok", event
        assert event["user"]["sub"] == user["user_id"] and event["user"]["email"] == user["email"]
        claims = event["claims"]
        assert claims["iss"] == live.issuer and claims["aud"] == spa["client_id"]
        [auth] = requests_to(log, live, "authorize")
        params = parse_qs(urlsplit(auth["url"]).query)
        assert params["code_challenge_method"] == ["S256"] and "auth0Client" in params and "nonce" in params
        [exchange] = [r for r in requests_to(log, live, "oauth/token") if r["method"] == "POST"]
        assert "grant_type=authorization_code" in exchange["body"] and "code_verifier=" in exchange["body"]
        # the token endpoint answered the browser with CORS for this origin (spa-js sends Auth0-Client: a preflight)
        assert cors and all(c == origin for c in cors), cors

        # 2. silent authentication in a hidden iframe (prompt=none, response_mode=web_message)
        silent = await page.evaluate("window.silent()")
        assert silent["ok"], silent
        silent_auth = requests_to(log, live, "authorize")[-1]
        silent_params = parse_qs(urlsplit(silent_auth["url"]).query)
        assert silent_params["prompt"] == ["none"] and silent_params["response_mode"] == ["web_message"]
        assert silent["scope"].split() == ["openid", "profile", "email", "offline_access", "read:things"]

        # 3. useRefreshTokens: a new login (SSO, no form) stores a refresh token; then a refresh_token grant
        await page.evaluate("sessionStorage.setItem('mode', 'refresh')")
        await page.goto(origin + "/")
        await page.evaluate("window.ready")
        await page.evaluate("spa.loginWithRedirect()")
        await page.wait_for_url(lambda url: url.startswith(origin + "/?") and "code=" in url)
        await page.evaluate("window.ready")
        [event] = await page.evaluate("window.events")
        assert event["callback"] == "ok", event
        before = len(log)
        refreshed = await page.evaluate("window.silent()")
        assert refreshed["ok"], refreshed
        grants = [r for r in log[before:] if r["url"] == live.url("oauth/token") and r["method"] == "POST"]
        assert len(grants) == 1 and "grant_type=refresh_token" in grants[0]["body"], grants
        assert not requests_to(log[before:], live, "authorize")  # no iframe this time

        # 4. logout: /v2/logout ends the session and returns to the app; silent auth now needs a login
        await page.evaluate(f"spa.logout({{ logoutParams: {{ returnTo: {json.dumps(origin + '/logged-out')} }} }})")
        await page.wait_for_url(origin + "/logged-out")
        [logout] = requests_to(log, live, "v2/logout")
        assert parse_qs(urlsplit(logout["url"]).query)["client_id"] == [spa["client_id"]]
        await page.evaluate("sessionStorage.removeItem('mode')")
        await page.goto(origin + "/")
        await page.evaluate("window.ready")
        after = await page.evaluate("window.silent()")
        assert after == {"ok": False, "error": "login_required", "description": after["description"]}, after
