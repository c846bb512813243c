"""A malicious application's own metadata: what it may register about itself (Management API and DCR).

The name, logo and callbacks end up on the login, consent and connected-apps pages and in redirects, so
markup, script URLs, wildcards, fragments, first-party grants and look-alike names are refused at the door.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.security.conftest import SQLITE_ONLY, World

pytestmark = [pytest.mark.attack, SQLITE_ONLY]

BIDI_NAME = "Google \u202emoc.live"  # shows as "Google evil.com" reversed: a look-alike of another app's name

MANAGEMENT: list[Any] = [
    pytest.param({"logo_uri": "javascript:alert(document.cookie)"}, id="logo_javascript_url"),
    pytest.param({"logo_uri": "data:image/svg+xml,<svg onload=alert(1)>"}, id="logo_data_svg"),
    pytest.param({"logo_uri": "//evil.example/logo.png"}, id="logo_scheme_relative"),
    pytest.param({"name": "<img src=x onerror=alert(1)>"}, id="name_markup"),
    pytest.param({"name": "   "}, id="name_blank"),
    pytest.param({"name": BIDI_NAME}, id="name_bidi_override"),
    pytest.param({"callbacks": ["javascript:alert(1)//"]}, id="callback_javascript"),
    pytest.param({"callbacks": ["data:text/html,<script>alert(1)</script>"]}, id="callback_data"),
    pytest.param({"callbacks": ["https://partner.example.com/cb#x"]}, id="callback_fragment"),
    pytest.param({"callbacks": ["https://*.example.com/cb"]}, id="callback_wildcard"),
    pytest.param({"callbacks": ["https://user:pw@partner.example.com/cb"]}, id="callback_userinfo"),
    pytest.param({"callbacks": ["https://partner.example.com/cb\u202e"]}, id="callback_bidi"),
    pytest.param({"allowed_logout_urls": ["javascript:alert(1)"]}, id="logout_url_javascript"),
    pytest.param({"web_origins": ["*"]}, id="web_origin_wildcard"),
    pytest.param({"web_origins": ["https://partner.example.com/path"]}, id="web_origin_with_path"),
    pytest.param({"is_first_party": False, "grant_types": ["password"]}, id="third_party_password_grant"),
    pytest.param({"is_first_party": False, "grant_types": ["implicit"]}, id="third_party_implicit_grant"),
]


@pytest.mark.parametrize("fields", MANAGEMENT)
async def test_malicious_application_metadata(mgmt: httpx.AsyncClient, world: World, fields: dict[str, Any]) -> None:
    r = await mgmt.post("/api/v2/clients", json={"name": "Partner", **fields})
    assert r.status_code == 400, r.text
    assert r.json()["errorCode"] == "invalid_body"


DCR: list[Any] = [
    pytest.param({"logo_uri": "javascript:alert(1)"}, "invalid_client_metadata", id="dcr_logo_javascript"),
    pytest.param({"logo_uri": "http://evil.example/logo.png"}, "invalid_client_metadata", id="dcr_logo_plain_http"),
    pytest.param({"client_uri": "javascript:alert(1)"}, "invalid_client_metadata", id="dcr_client_uri_javascript"),
    pytest.param({"client_name": "<script>alert(1)</script>"}, "invalid_client_metadata", id="dcr_name_markup"),
    pytest.param({"client_name": BIDI_NAME}, "invalid_client_metadata", id="dcr_name_bidi_override"),
    pytest.param({"redirect_uris": ["javascript:alert(1)//"]}, "invalid_redirect_uri", id="dcr_redirect_javascript"),
    pytest.param(
        {"redirect_uris": ["http://partner.example.com/cb"]}, "invalid_redirect_uri", id="dcr_redirect_plain_http_web"
    ),
    pytest.param(
        {"redirect_uris": ["https://partner.example.com/cb#x"]}, "invalid_redirect_uri", id="dcr_redirect_fragment"
    ),
    pytest.param(
        {"redirect_uris": ["https://*.partner.example.com/cb"]}, "invalid_redirect_uri", id="dcr_redirect_wildcard"
    ),
    pytest.param(
        {"redirect_uris": ["myapp:/cb"], "application_type": "native"},
        "invalid_redirect_uri",
        id="dcr_custom_scheme_not_reverse_dns",
    ),
    pytest.param({"grant_types": ["password"]}, "invalid_client_metadata", id="dcr_password_grant"),
    pytest.param(
        {"grant_types": ["implicit"], "response_types": ["token"]}, "invalid_client_metadata", id="dcr_implicit_grant"
    ),
    pytest.param(
        {"token_endpoint_auth_method": "none", "grant_types": ["client_credentials"]},
        "invalid_client_metadata",
        id="dcr_public_client_credentials",
    ),
]


@pytest.mark.parametrize(("metadata", "error"), DCR)
async def test_malicious_dynamic_registration(
    mgmt: httpx.AsyncClient, world: World, metadata: dict[str, Any], error: str
) -> None:
    assert (
        await mgmt.patch("/api/v2/tenants/settings", json={"flags": {"enable_dynamic_client_registration": True}})
    ).status_code == 200
    body = {"client_name": "Agent", "redirect_uris": ["https://partner.example.com/cb"], **metadata}
    r = await mgmt.post("/oidc/register", json=body, headers={"Authorization": ""})
    assert r.status_code == 400, r.text
    assert r.json()["error"] == error


async def test_dcr_cannot_make_itself_first_party(mgmt: httpx.AsyncClient, world: World) -> None:
    """Management-only fields sent to DCR do not turn the registration into a first-party app."""
    await mgmt.patch("/api/v2/tenants/settings", json={"flags": {"enable_dynamic_client_registration": True}})
    r = await mgmt.post(
        "/oidc/register",
        headers={"Authorization": ""},
        json={
            "client_name": "Agent",
            "redirect_uris": ["https://partner.example.com/cb"],
            "is_first_party": True,
            "redirection_policy": "allow_always",
            "skip_non_verifiable_callback_uri_confirmation_prompt": True,
        },
    )
    assert r.status_code in (201, 400), r.text
    if r.status_code == 201:
        client_id = r.json()["client_id"]
        assert client_id.startswith("tpc_")
        # Held until a user approves it: the review listing shows what it will be stored as.
        held = (await mgmt.get("/api/v2/dcr/registrations", params={"status": "held"})).json()
        app = next(c for c in held if c["client_id"] == client_id)
        assert app["is_first_party"] is False and app["redirection_policy"] == "open_redirect_protection"
