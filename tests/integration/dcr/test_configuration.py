"""RFC 7592 client configuration endpoint: read, replace and delete with the registration access token."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from consentry.runtime import Runtime
from tests.integration.dcr.conftest import NATIVE, WEB, audit_types, count_clients, register


async def _registered(client: httpx.AsyncClient, body: dict[str, Any] = WEB) -> dict[str, Any]:
    r = await register(client, body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_read_with_the_registration_access_token(client: httpx.AsyncClient, dcr: Runtime) -> None:
    reg = await _registered(client)
    r = await client.get(reg["registration_client_uri"], headers=_bearer(reg["registration_access_token"]))
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    expected = {k: v for k, v in reg.items() if k != "client_secret"}  # stored hashed: never shown again
    assert body == expected


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_missing_or_wrong_token_is_401_invalid_token(
    client: httpx.AsyncClient, dcr: Runtime, method: str
) -> None:
    reg = await _registered(client)
    other = await _registered(client, NATIVE)
    uri = reg["registration_client_uri"]
    attempts = [
        {},
        {"Authorization": "Basic Zm9vOmJhcg=="},
        {"Authorization": "Bearer "},
        _bearer("not-the-token"),
        _bearer(other["registration_access_token"]),  # another client's token
        _bearer(reg["client_secret"]),
    ]
    for headers in attempts:
        r = await client.request(method, uri, headers=headers, json={**WEB, "client_id": reg["client_id"]})
        assert r.status_code == 401, (headers, r.text)
        assert r.json()["error"] == "invalid_token"
        assert r.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    unknown = uri.rsplit("/", 1)[0] + "/tpc_doesnotexist"
    r = await client.request(method, unknown, headers=_bearer(reg["registration_access_token"]))
    assert r.status_code == 401
    r = await client.request(method, uri.rsplit("/", 1)[0] + "/" + "x" * 300, headers=_bearer("t"))
    assert r.status_code == 401
    assert await count_clients(dcr) == 2


async def test_admin_created_clients_have_no_configuration_endpoint(
    client: httpx.AsyncClient, dcr: Runtime, mgmt: httpx.AsyncClient
) -> None:
    c = (await mgmt.post("/api/v2/clients", json={"name": "admin app", "is_first_party": False})).json()
    r = await client.get(f"/oidc/register/{c['client_id']}", headers=_bearer(c["client_secret"]))
    assert r.status_code == 401


async def test_update_replaces_the_metadata(client: httpx.AsyncClient, dcr: Runtime, mgmt: httpx.AsyncClient) -> None:
    reg = await _registered(client, {**WEB, "client_uri": "https://partner.example.com", "scope": "read:posts"})
    token = reg["registration_access_token"]
    body = {
        "client_id": reg["client_id"],
        "client_secret": reg["client_secret"],
        "client_name": "Partner v2",
        "redirect_uris": ["https://partner.example.com/v2/cb"],
        "token_endpoint_auth_method": "client_secret_post",
        "grant_types": ["authorization_code"],
        "registration_access_token": token,
        "client_id_issued_at": 1,
        "tos_uri": "https://partner.example.com/tos",
    }
    r = await client.put(reg["registration_client_uri"], json=body, headers=_bearer(token))
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["client_name"] == "Partner v2"
    assert got["redirect_uris"] == ["https://partner.example.com/v2/cb"]
    assert got["grant_types"] == ["authorization_code"]
    assert got["token_endpoint_auth_method"] == "client_secret_post"
    assert got["tos_uri"] == "https://partner.example.com/tos"
    assert "client_uri" not in got and "scope" not in got  # omitted fields are removed (RFC 7592 §2.2)
    assert got["client_id_issued_at"] == reg["client_id_issued_at"]
    assert got["registration_access_token"] == token and "client_secret" not in got
    app = (await mgmt.get(f"/api/v2/clients/{reg['client_id']}")).json()
    assert app["name"] == "Partner v2" and app["callbacks"] == ["https://partner.example.com/v2/cb"]
    assert app["is_first_party"] is False and app["third_party_security_mode"] == "strict"
    assert "client.updated" in await audit_types(dcr)
    # The old secret still authenticates.
    form = {
        "grant_type": "client_credentials",
        "audience": "https://api.example.com/",
        "client_id": reg["client_id"],
        "client_secret": reg["client_secret"],
    }
    r = await client.post("/oauth/token", data=form)
    assert r.status_code == 403 and r.json()["error"] == "unauthorized_client"


@pytest.mark.parametrize(
    ("change", "error", "fragment"),
    [
        ({"client_id": None}, "invalid_client_metadata", "client_id must be present"),
        ({"client_id": "tpc_other"}, "invalid_client_metadata", "client_id must be present"),
        ({"client_secret": "wrong"}, "invalid_client_metadata", "client_secret does not match"),
        ({"token_endpoint_auth_method": "none"}, "invalid_client_metadata", "public and confidential"),
        ({"redirect_uris": ["http://partner.example.com/cb"]}, "invalid_redirect_uri", "must use https"),
        ({"redirect_uris": ["javascript:alert(1)"]}, "invalid_redirect_uri", "javascript"),
        ({"grant_types": ["password"]}, "invalid_client_metadata", "must include authorization_code"),
    ],
)
async def test_invalid_updates_change_nothing(
    client: httpx.AsyncClient, dcr: Runtime, mgmt: httpx.AsyncClient, change: dict[str, Any], error: str, fragment: str
) -> None:
    reg = await _registered(client)
    token = reg["registration_access_token"]
    body = {**WEB, "client_id": reg["client_id"], **change}
    r = await client.put(reg["registration_client_uri"], json=body, headers=_bearer(token))
    assert r.status_code == 400, r.text
    assert r.json()["error"] == error and fragment in r.json()["error_description"]
    again = (await client.get(reg["registration_client_uri"], headers=_bearer(token))).json()
    assert again == {k: v for k, v in reg.items() if k != "client_secret"}
    assert "client.updated" not in await audit_types(dcr)


async def test_malformed_update_body(client: httpx.AsyncClient, dcr: Runtime) -> None:
    reg = await _registered(client)
    r = await client.put(
        reg["registration_client_uri"],
        content=b"{oops",
        headers={**_bearer(reg["registration_access_token"]), "content-type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_client_metadata"


async def test_delete_removes_the_client(client: httpx.AsyncClient, dcr: Runtime, mgmt: httpx.AsyncClient) -> None:
    reg = await _registered(client, NATIVE)
    token = reg["registration_access_token"]
    r = await client.delete(reg["registration_client_uri"], headers=_bearer(token))
    assert r.status_code == 204 and r.content == b""
    assert (await client.get(reg["registration_client_uri"], headers=_bearer(token))).status_code == 401
    assert (await client.delete(reg["registration_client_uri"], headers=_bearer(token))).status_code == 401
    assert (await mgmt.get(f"/api/v2/clients/{reg['client_id']}")).status_code == 404
    assert "client.deleted" in await audit_types(dcr)


async def test_configuration_endpoint_keeps_working_when_dcr_is_turned_off(
    client: httpx.AsyncClient, dcr: Runtime
) -> None:
    from tests.integration.dcr.conftest import set_flag

    reg = await _registered(client)
    await set_flag(dcr, "enable_dynamic_client_registration", False)
    assert (await register(client, WEB)).status_code == 403
    r = await client.delete(reg["registration_client_uri"], headers=_bearer(reg["registration_access_token"]))
    assert r.status_code == 204
