"""DCR response details (issue 18, item 9): secrets only for confidential clients, grant types filtered to
what a third-party app may have, ``post_logout_redirect_uris`` registered and honoured by RP-initiated logout."""

from __future__ import annotations

import httpx
import pytest

from consentry.runtime import Runtime
from tests.integration.dcr.conftest import NATIVE, WEB, register

BYE = "https://partner.example.com/bye"


async def test_public_client_gets_no_secret(client: httpx.AsyncClient, dcr: Runtime) -> None:
    r = await register(client, NATIVE)
    assert r.status_code == 201, r.text
    assert "client_secret" not in r.json() and "client_secret_expires_at" not in r.json()
    assert r.json()["token_endpoint_auth_method"] == "none"


@pytest.mark.parametrize(
    ("requested", "kept"),
    [
        (["authorization_code", "client_credentials"], ["authorization_code"]),
        (["implicit", "authorization_code", "password", "refresh_token"], ["authorization_code", "refresh_token"]),
        (["authorization_code", "urn:ietf:params:oauth:grant-type:device_code"], ["authorization_code"]),
    ],
)
async def test_requested_grant_types_are_filtered_and_the_response_says_what_was_kept(
    client: httpx.AsyncClient, dcr: Runtime, requested: list[str], kept: list[str]
) -> None:
    r = await register(client, {**WEB, "grant_types": requested})
    assert r.status_code == 201, r.text
    assert r.json()["grant_types"] == kept
    got = await client.get(
        r.json()["registration_client_uri"],
        headers={"Authorization": f"Bearer {r.json()['registration_access_token']}"},
    )
    assert got.json()["grant_types"] == kept


async def test_filtered_client_credentials_is_not_usable(client: httpx.AsyncClient, dcr: Runtime) -> None:
    r = await register(
        client,
        {
            **WEB,
            "grant_types": ["authorization_code", "client_credentials"],
            "token_endpoint_auth_method": "client_secret_post",
        },
    )
    body = r.json()
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


async def test_post_logout_redirect_uris_are_registered_and_honoured(client: httpx.AsyncClient, dcr: Runtime) -> None:
    r = await register(client, {**WEB, "token_endpoint_auth_method": "none", "post_logout_redirect_uris": [BYE]})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["post_logout_redirect_uris"] == [BYE]
    out = await client.get(
        "/oidc/logout", params={"client_id": body["client_id"], "post_logout_redirect_uri": BYE, "state": "s"}
    )
    assert out.status_code == 302 and out.headers["location"] == BYE + "?state=s"
    other = await client.get(
        "/oidc/logout", params={"client_id": body["client_id"], "post_logout_redirect_uri": "https://evil.example/"}
    )
    assert other.status_code == 400 and "location" not in other.headers


async def test_post_logout_redirect_uris_follow_rfc7592_updates(client: httpx.AsyncClient, dcr: Runtime) -> None:
    reg = (await register(client, {**WEB, "post_logout_redirect_uris": [BYE]})).json()
    auth = {"Authorization": f"Bearer {reg['registration_access_token']}"}
    r = await client.put(reg["registration_client_uri"], json={**WEB, "client_id": reg["client_id"]}, headers=auth)
    assert r.status_code == 200 and "post_logout_redirect_uris" not in r.json()
    out = await client.get("/oidc/logout", params={"client_id": reg["client_id"], "post_logout_redirect_uri": BYE})
    assert out.status_code == 400
