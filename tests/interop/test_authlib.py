"""authlib ``OAuth2Session`` (requests) as a confidential OIDC relying party (issue item 7.1).

A first-party regular web app with ``client_secret_basic``: code + PKCE S256 + nonce through the real
login page in Chromium, the ID token verified with ``CodeIDToken`` against the JWKS and the exact
issuer, userinfo, a rotating refresh (the old refresh token then fails), and client_credentials.
"""

from __future__ import annotations

import secrets
import warnings
from typing import Any

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken

with warnings.catch_warnings():  # authlib.jose points at joserfc; CodeIDToken still needs authlib.jose
    warnings.simplefilter("ignore")
    from authlib.jose import JsonWebKey, JsonWebToken

from tests.interop.harness import Admin, AppServer, LiveServer, authorize_in_browser

pytestmark = pytest.mark.interop


@pytest.fixture
def web_app(admin: Admin, app_server: AppServer) -> dict[str, Any]:
    api = admin.api(["read:things", "write:things"])
    callback = app_server.url("/callback")
    app = admin.app("regular_web", [callback], token_endpoint_auth_method="client_secret_basic")
    admin.client_grant(app["client_id"], api["identifier"], ["read:things"])
    return {"api": api["identifier"], "callback": callback, **app}


def decode_id_token(live: LiveServer, id_token: str, nonce: str, client_id: str) -> Any:
    jwks = httpx.get(live.url(".well-known/jwks.json"), timeout=10).json()
    claims = JsonWebToken(["RS256"]).decode(
        id_token,
        JsonWebKey.import_key_set(jwks),
        claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": live.issuer}},
        claims_params={"nonce": nonce, "client_id": client_id},
    )
    claims.validate(leeway=5)
    return claims


async def test_authlib_code_pkce_nonce_userinfo_refresh_client_credentials(
    live: LiveServer, admin: Admin, web_app: dict[str, Any], browser_context: Any
) -> None:
    user = admin.user()
    meta = httpx.get(live.url(".well-known/openid-configuration"), timeout=10).json()
    assert meta["issuer"] == live.issuer
    sess = OAuth2Session(
        web_app["client_id"],
        web_app["client_secret"],
        redirect_uri=web_app["callback"],
        scope="openid profile email offline_access read:things",
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    verifier, nonce = generate_token(64), secrets.token_urlsafe(16)
    url, state = sess.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce, audience=web_app["api"]
    )
    callback_url = await authorize_in_browser(browser_context, url, web_app["callback"], live.issuer, user["email"])

    token = sess.fetch_token(meta["token_endpoint"], authorization_response=callback_url, code_verifier=verifier)
    assert f"iss={live.issuer}".replace(":", "%3A").replace("/", "%2F") in callback_url
    assert token["token_type"] == "Bearer" and isinstance(token["expires_in"], int)
    assert token["scope"].split() == ["openid", "profile", "email", "offline_access", "read:things"]
    claims = decode_id_token(live, token["id_token"], nonce, web_app["client_id"])
    assert claims["sub"] == user["user_id"] and claims["email"] == user["email"]

    info = sess.get(meta["userinfo_endpoint"], timeout=10)
    assert info.status_code == 200, info.text
    assert info.json()["sub"] == claims["sub"] and info.json()["email"] == user["email"]

    old_refresh = token["refresh_token"]
    refreshed = sess.refresh_token(meta["token_endpoint"], refresh_token=old_refresh)
    assert refreshed["refresh_token"] != old_refresh and refreshed["access_token"] != token["access_token"]
    jwks = JsonWebKey.import_key_set(httpx.get(live.url(".well-known/jwks.json"), timeout=10).json())
    again = JsonWebToken(["RS256"]).decode(refreshed["id_token"], jwks)
    assert (again["iss"], again["aud"], again["sub"]) == (live.issuer, web_app["client_id"], claims["sub"])
    with pytest.raises(OAuthError) as reuse:
        sess.refresh_token(meta["token_endpoint"], refresh_token=old_refresh)
    assert reuse.value.error == "invalid_grant"
    # reuse detection revoked the whole family, the newest token included
    with pytest.raises(OAuthError) as family:
        sess.refresh_token(meta["token_endpoint"], refresh_token=refreshed["refresh_token"])
    assert family.value.error == "invalid_grant"

    m2m = OAuth2Session(
        web_app["client_id"], web_app["client_secret"], token_endpoint_auth_method="client_secret_basic"
    )
    cc = m2m.fetch_token(meta["token_endpoint"], grant_type="client_credentials", audience=web_app["api"])
    assert cc["token_type"] == "Bearer" and cc["scope"] == "read:things" and "refresh_token" not in cc
