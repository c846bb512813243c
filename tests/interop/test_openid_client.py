"""openid-client v6 + oauth4webapi (npm), the strictest relying party checks (issue item 7.3).

The node script does discovery, builds the authorization URL (PKCE S256, nonce, state) and, once
Playwright has logged in through our pages, calls ``authorizationCodeGrant``: RFC 9207 ``iss``, state,
the token response shape and the ID token (exact ``iss``, ``aud``, nonce, signature through the JWKS
with ``enableNonRepudiationChecks``). Then ``validateJwtAccessToken`` (RFC 9068 ``at+jwt``), userinfo
with the expected ``sub``, a rotating refresh, reuse of the old refresh token, and revocation.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.interop.harness import Admin, AppServer, LiveServer, authorize_in_browser
from tests.interop.node_client import NodeScript

pytestmark = pytest.mark.interop


async def test_openid_client_code_flow_access_token_userinfo_refresh_revoke(
    live: LiveServer, admin: Admin, app_server: AppServer, browser_context: Any
) -> None:
    api = admin.api(["read:things"])["identifier"]
    callback = app_server.url("/cb")
    app = admin.app("regular_web", [callback], token_endpoint_auth_method="client_secret_basic")
    admin.client_grant(app["client_id"], api, ["read:things"])
    user = admin.user()
    env = {
        "ISSUER": live.issuer,
        "CLIENT_ID": app["client_id"],
        "CLIENT_SECRET": app["client_secret"],
        "REDIRECT_URI": callback,
        "AUDIENCE": api,
    }
    async with NodeScript("openid_client_flow.mjs", env) as rp:
        first = await rp.read()
        assert "authorization_url" in first, first
        callback_url = await authorize_in_browser(
            browser_context, first["authorization_url"], callback, live.issuer, user["email"]
        )
        await rp.send({"callback_url": callback_url})
        out = await rp.read(timeout=60)
    assert "result" in out, out
    result = out["result"]

    assert result["issuer"] == live.issuer and result["same_metadata_rfc8414"] is True
    idt = result["id_token_claims"]
    assert (idt["iss"], idt["aud"], idt["sub"]) == (live.issuer, app["client_id"], user["user_id"])
    assert isinstance(idt["auth_time"], int) and idt["sid"]
    at = result["access_token_claims"]
    assert at["iss"] == live.issuer and at["client_id"] == app["client_id"] and at["sub"] == user["user_id"]
    assert at["aud"] == [api, live.url("userinfo")]
    assert result["token_type"].lower() == "bearer" and result["expires_in"] > 0
    assert result["scope"].split() == ["openid", "profile", "email", "offline_access", "read:things"]
    assert result["userinfo"]["sub"] == user["user_id"] and result["userinfo"]["email"] == user["email"]
    assert result["refreshed"] == {"has_access_token": True, "rotated": True, "id_token_sub": user["user_id"]}
    # the old refresh token is refused (rotation with reuse detection), as is the revoked one
    assert result["reuse"]["code"] == "OAUTH_RESPONSE_BODY_ERROR", result["reuse"]
    assert result["reuse"]["cause"]["error"] == "invalid_grant"
    assert result["after_revoke"]["cause"]["error"] == "invalid_grant", result["after_revoke"]
    cc = result["client_credentials"]
    assert cc["scope"] == "read:things" and cc["has_refresh_token"] is False
    assert cc["claims"]["sub"] == f"{app['client_id']}@clients" and cc["claims"]["gty"] == "client-credentials"


async def test_openid_client_sees_iss_on_an_error_response_when_the_user_denies(
    live: LiveServer, admin: Admin, app_server: AppServer, browser_context: Any
) -> None:
    """RFC 9207 is advertised, so an error response without ``iss`` would be rejected as such."""
    api = admin.api(["read:things"])["identifier"]
    callback = app_server.url("/cb")
    app = admin.app("regular_web", [callback], token_endpoint_auth_method="client_secret_basic")
    user = admin.user()
    env = {
        "ISSUER": live.issuer,
        "CLIENT_ID": app["client_id"],
        "CLIENT_SECRET": app["client_secret"],
        "REDIRECT_URI": callback,
        "AUDIENCE": api,
        "MODE": "deny",
    }
    async with NodeScript("openid_client_flow.mjs", env) as rp:
        first = await rp.read()
        callback_url = await authorize_in_browser(
            browser_context, first["authorization_url"], callback, live.issuer, user["email"], action="deny"
        )
        await rp.send({"callback_url": callback_url})
        out = await rp.read(timeout=60)
    denied = out["result"]["denied"]
    assert denied["error"].startswith("AuthorizationResponseError"), denied
    assert denied["cause"]["error"] == "access_denied" and denied["cause"]["iss"] == live.issuer
