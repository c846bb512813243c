"""auth0-python's Authentication API clients against a live Consentry (issue item 7.2).

``GetToken(domain, client_id, client_secret, protocol="http")`` posts JSON bodies (with ``null`` for
unset fields) to ``{protocol}://{domain}/oauth/token``: ``authorization_code`` (confidential, no PKCE),
``authorization_code_pkce`` (public SPA), ``client_credentials``, ``login`` (password-realm) and
``refresh_token``. ID tokens are checked with ``TokenVerifier`` + ``AsymmetricSignatureVerifier``:
both take any URL and issuer, so they work over http (only ``ManagementClient`` and
``create_client_assertion_jwt`` hard-code https; they are not used here).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from auth0.authentication import GetToken, RevokeToken, Users
from auth0.authentication.exceptions import Auth0Error
from auth0.authentication.token_verifier import AsymmetricSignatureVerifier, TokenVerifier

from tests.interop.harness import PASSWORD, Admin, AppServer, LiveServer, authorize_in_browser

pytestmark = pytest.mark.interop
REALM = "Username-Password-Authentication"
PASSWORD_REALM = "http://auth0.com/oauth/grant-type/password-realm"


def domain(live: LiveServer) -> str:
    return urlsplit(live.issuer).netloc


def verifier_for(live: LiveServer, client_id: str) -> TokenVerifier:
    return TokenVerifier(
        signature_verifier=AsymmetricSignatureVerifier(live.url(".well-known/jwks.json")),
        issuer=live.issuer,
        audience=client_id,
    )


def authorize_url(live: LiveServer, **params: str) -> str:
    return live.url("authorize") + "?" + urlencode({"response_type": "code", **params})


def code_of(callback_url: str, live: LiveServer, state: str) -> str:
    q = {k: v[0] for k, v in parse_qs(urlsplit(callback_url).query).items()}
    assert q["iss"] == live.issuer and q["state"] == state, q
    return q["code"]


async def test_auth0_python_get_token_grants_and_token_verifier(
    live: LiveServer, admin: Admin, app_server: AppServer, browser_context: Any
) -> None:
    api = admin.api(["read:things"])["identifier"]
    callback = app_server.url("/callback")
    grants = ["authorization_code", "refresh_token", "client_credentials", PASSWORD_REALM]
    web = admin.app("regular_web", [callback], token_endpoint_auth_method="client_secret_post", grant_types=grants)
    admin.client_grant(web["client_id"], api, ["read:things"])
    user = admin.user()
    get_token = GetToken(domain(live), web["client_id"], client_secret=web["client_secret"], protocol="http")

    # authorization_code: a confidential first-party app (client_secret_post in the JSON body), no PKCE
    state, nonce = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    url = authorize_url(
        live,
        client_id=web["client_id"],
        redirect_uri=callback,
        state=state,
        nonce=nonce,
        scope="openid profile email offline_access read:things",
        audience=api,
    )
    code = code_of(await authorize_in_browser(browser_context, url, callback, live.issuer, user["email"]), live, state)
    tokens = get_token.authorization_code(code=code, redirect_uri=callback)
    assert tokens["token_type"] == "Bearer" and tokens["scope"] == "openid profile email offline_access read:things"
    claims = verifier_for(live, web["client_id"]).verify(tokens["id_token"], nonce=nonce)
    assert claims["sub"] == user["user_id"] and claims["iss"] == live.issuer
    assert Users(domain(live), protocol="http").userinfo(tokens["access_token"])["sub"] == user["user_id"]

    # refresh_token (rotating; auth0-python sends scope="" which means "keep the scope")
    refreshed = get_token.refresh_token(tokens["refresh_token"])
    assert refreshed["refresh_token"] != tokens["refresh_token"] and refreshed["scope"] == tokens["scope"]
    assert verifier_for(live, web["client_id"]).verify(refreshed["id_token"])["sub"] == user["user_id"]
    with pytest.raises(Auth0Error) as reuse:
        get_token.refresh_token(tokens["refresh_token"])
    assert (reuse.value.status_code, reuse.value.error_code) == (403, "invalid_grant")
    # reuse revoked the family: the newest refresh token is dead too
    with pytest.raises(Auth0Error) as family:
        get_token.refresh_token(refreshed["refresh_token"])
    assert family.value.error_code == "invalid_grant"
    # the code is single-use
    with pytest.raises(Auth0Error) as replay:
        get_token.authorization_code(code=code, redirect_uri=callback)
    assert (replay.value.status_code, replay.value.error_code) == (403, "invalid_grant")

    # login (password-realm grant) for a first-party app that has it, then revoke its refresh token
    login = get_token.login(
        user["email"], PASSWORD, realm=REALM, scope="openid offline_access read:things", audience=api
    )
    assert login["scope"] == "openid offline_access read:things"
    assert verifier_for(live, web["client_id"]).verify(login["id_token"])["sub"] == user["user_id"]
    with pytest.raises(Auth0Error) as wrong:
        get_token.login(user["email"], "not the password", realm=REALM)
    assert (wrong.value.status_code, wrong.value.error_code) == (403, "invalid_grant")
    revoke = RevokeToken(domain(live), web["client_id"], client_secret=web["client_secret"], protocol="http")
    revoke.revoke_refresh_token(login["refresh_token"])
    with pytest.raises(Auth0Error) as revoked:
        get_token.refresh_token(login["refresh_token"])
    assert revoked.value.error_code == "invalid_grant"

    # client_credentials for the API the app has a client grant for
    cc = get_token.client_credentials(audience=api)
    assert cc["token_type"] == "Bearer" and cc["scope"] == "read:things" and isinstance(cc["expires_in"], int)
    with pytest.raises(Auth0Error) as no_grant:
        get_token.client_credentials(audience=live.url("api/v2/"))
    assert no_grant.value.status_code == 403 and no_grant.value.error_code == "access_denied"


async def test_auth0_python_authorization_code_pkce_public_client(
    live: LiveServer, admin: Admin, app_server: AppServer, browser_context: Any
) -> None:
    callback = app_server.url("/spa")
    spa = admin.app("spa", [callback], web_origins=[app_server.origin])
    assert "client_secret" not in spa and spa["token_endpoint_auth_method"] == "none"
    user = admin.user()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state, nonce = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    url = authorize_url(
        live,
        client_id=spa["client_id"],
        redirect_uri=callback,
        state=state,
        nonce=nonce,
        scope="openid email",
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    code = code_of(await authorize_in_browser(browser_context, url, callback, live.issuer, user["email"]), live, state)
    get_token = GetToken(domain(live), spa["client_id"], protocol="http")
    tokens = get_token.authorization_code_pkce(verifier, code, callback)
    claims = verifier_for(live, spa["client_id"]).verify(tokens["id_token"], nonce=nonce)
    assert claims["sub"] == user["user_id"] and "refresh_token" not in tokens
