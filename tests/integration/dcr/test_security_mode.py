"""The tenant's ``dynamic_client_registration_security_mode`` (issue 18, item 6): ``strict`` by default;
``permissive`` changes the id only, every third-party control still applies."""

from __future__ import annotations

import httpx

from consentry.runtime import Runtime
from tests.integration.dcr.conftest import NATIVE, WEB, register


async def _mode(mgmt: httpx.AsyncClient, value: str) -> None:
    r = await mgmt.patch("/api/v2/tenants/settings", json={"dynamic_client_registration_security_mode": value})
    assert r.status_code == 200, r.text


async def test_default_is_strict(client: httpx.AsyncClient, dcr: Runtime, mgmt: httpx.AsyncClient) -> None:
    settings = (await mgmt.get("/api/v2/tenants/settings")).json()
    assert settings["dynamic_client_registration_security_mode"] == "strict"
    body = (await register(client, NATIVE)).json()
    assert body["client_id"].startswith("tpc_")
    assert (await mgmt.get(f"/api/v2/clients/{body['client_id']}")).json()["third_party_security_mode"] == "strict"


async def test_permissive_mode_is_recorded_but_controls_stay(
    client: httpx.AsyncClient, dcr: Runtime, mgmt: httpx.AsyncClient
) -> None:
    await _mode(mgmt, "permissive")
    r = await register(
        client,
        {
            **WEB,
            "grant_types": ["authorization_code", "client_credentials"],
            "token_endpoint_auth_method": "client_secret_post",
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert not body["client_id"].startswith("tpc_") and body["grant_types"] == ["authorization_code"]
    app = (await mgmt.get(f"/api/v2/clients/{body['client_id']}")).json()
    assert app["third_party_security_mode"] == "permissive" and app["is_first_party"] is False
    t = await client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": body["client_id"],
            "client_secret": body["client_secret"],
            "audience": "https://api.example.com/",
        },
    )
    assert t.status_code == 403 and t.json()["error"] == "unauthorized_client"
    page = await client.get(
        "/authorize",
        params={
            "client_id": body["client_id"],
            "response_type": "code",
            "redirect_uri": WEB["redirect_uris"][0],
            "scope": "read:posts",
            "audience": "https://api.example.com/",
        },
    )
    assert page.status_code == 400 and "code_challenge is required" in page.text


async def test_unknown_mode_is_refused(dcr: Runtime, mgmt: httpx.AsyncClient) -> None:
    r = await mgmt.patch("/api/v2/tenants/settings", json={"dynamic_client_registration_security_mode": "lax"})
    assert r.status_code == 400
