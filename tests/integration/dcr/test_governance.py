"""DCR governance: initial access tokens, redirect policy, per-IP quota, admin approval, review listing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from consentry.runtime import Runtime
from consentry.services.initial_access_tokens import create_token
from consentry.storage.dcr_models import InitialAccessToken
from tests.integration.dcr.conftest import NATIVE, STORED_AT_ONCE, WEB, audit_types, count_clients, register

IAT = pytest.mark.parametrize("settings_overrides", [{**STORED_AT_ONCE, "dcr_require_initial_access_token": True}])
APPROVAL = pytest.mark.parametrize("settings_overrides", [{**STORED_AT_ONCE, "dcr_require_approval": True}])


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _uses_left(rt: Runtime, token_id: str) -> int:
    async with rt.db.read() as s:
        return int(await s.scalar(select(InitialAccessToken.uses_left).where(InitialAccessToken.id == token_id)) or 0)


@IAT
async def test_initial_access_token_is_required_and_used_up(client: httpx.AsyncClient, dcr: Runtime) -> None:
    for headers in ({}, _bearer("bogus"), {"Authorization": "Basic eDp5"}):
        r = await register(client, WEB, headers=headers)
        assert r.status_code == 401, r.text
        assert r.json()["error"] == "invalid_token"
        assert r.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    token = await create_token(dcr, uses=2, expires_in=600)
    assert token["id"].startswith("iat_") and token["uses_left"] == 2
    # A refused registration gives the use back (one transaction).
    r = await register(client, {**WEB, "redirect_uris": ["javascript:alert(1)"]}, headers=_bearer(token["token"]))
    assert r.status_code == 400 and await _uses_left(dcr, token["id"]) == 2
    assert (await register(client, WEB, headers=_bearer(token["token"]))).status_code == 201
    assert (await register(client, NATIVE, headers=_bearer(token["token"]))).status_code == 201
    r = await register(client, WEB, headers=_bearer(token["token"]))
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"
    assert await count_clients(dcr) == 2


@IAT
async def test_expired_initial_access_token_is_refused(client: httpx.AsyncClient, dcr: Runtime) -> None:
    token = await create_token(dcr, uses=5, expires_in=600)
    async with dcr.db.transaction() as s:
        await s.execute(update(InitialAccessToken).values(expires_at=dcr.clock.now() - 1))
    r = await register(client, WEB, headers=_bearer(token["token"]))
    assert r.status_code == 401 and await count_clients(dcr) == 0
    forever = await create_token(dcr, uses=1, expires_in=0)
    assert forever["expires_at"] is None
    assert (await register(client, WEB, headers=_bearer(forever["token"]))).status_code == 201


@IAT
async def test_initial_access_tokens_through_the_management_api(
    client: httpx.AsyncClient, dcr: Runtime, mgmt: httpx.AsyncClient
) -> None:
    r = await mgmt.post("/api/v2/dcr/initial-access-tokens", json={"uses": 1, "expires_in": 3600})
    assert r.status_code == 201, r.text
    created = r.json()
    assert set(created) == {"id", "token", "uses_left", "expires_at", "created_at"}
    assert r.headers["cache-control"] == "no-store"
    listed = (await mgmt.get("/api/v2/dcr/initial-access-tokens", params={"include_totals": "true"})).json()
    assert listed["total"] == 1 and "token" not in listed["initial_access_tokens"][0]
    assert (await register(client, WEB, headers={"Authorization": f"Bearer {created['token']}"})).status_code == 201
    listed = (await mgmt.get("/api/v2/dcr/initial-access-tokens")).json()
    assert listed[0]["uses_left"] == 0
    second = (await mgmt.post("/api/v2/dcr/initial-access-tokens", json={})).json()
    assert second["uses_left"] == 1
    assert (await mgmt.delete(f"/api/v2/dcr/initial-access-tokens/{second['id']}")).status_code == 204
    r = await mgmt.delete(f"/api/v2/dcr/initial-access-tokens/{second['id']}")
    assert r.status_code == 404 and r.json()["errorCode"] == "inexistent_initial_access_token"
    del mgmt.headers["Authorization"]
    assert (await register(mgmt, WEB, headers={"Authorization": f"Bearer {second['token']}"})).status_code == 401
    for body in ({"uses": 0}, {"uses": "x"}, {"expires_in": -1}, {"extra": 1}):
        r = await client.post("/api/v2/dcr/initial-access-tokens", json=body, headers=_bearer(created["token"]))
        assert r.status_code == 401  # a registration token is not a Management API token


async def test_management_token_body_validation(mgmt: httpx.AsyncClient) -> None:
    for body in ({"uses": 0}, {"uses": "x"}, {"expires_in": -1}, {"extra": 1}):
        r = await mgmt.post("/api/v2/dcr/initial-access-tokens", json=body)
        assert r.status_code == 400 and r.json()["errorCode"] == "invalid_body", body


async def test_open_registration_ignores_a_bearer_header(client: httpx.AsyncClient, dcr: Runtime) -> None:
    assert (await register(client, WEB, headers=_bearer("anything"))).status_code == 201


@pytest.mark.parametrize("settings_overrides", [{**STORED_AT_ONCE, "dcr_allowed_redirect_schemes": ["https"]}])
async def test_policy_can_restrict_redirect_schemes(client: httpx.AsyncClient, dcr: Runtime) -> None:
    for uri in ("http://127.0.0.1:4000/cb", "com.example.app:/cb"):
        r = await register(client, {**NATIVE, "redirect_uris": [uri]})
        assert r.status_code == 400 and r.json()["error"] == "invalid_redirect_uri"
        assert "registration policy" in r.json()["error_description"]
    assert (await register(client, {**NATIVE, "redirect_uris": ["https://app.example.com/cb"]})).status_code == 201


@pytest.mark.parametrize(
    "settings_overrides",
    [{**STORED_AT_ONCE, "dcr_allowed_redirect_hosts": ["partner.example.com", "*.apps.example.org"]}],
)
async def test_policy_can_restrict_redirect_hosts(client: httpx.AsyncClient, dcr: Runtime) -> None:
    ok = ["https://partner.example.com/cb", "https://a.apps.example.org/cb", "https://B.Apps.Example.org/cb"]
    for uri in ok:
        assert (await register(client, {**WEB, "redirect_uris": [uri]})).status_code == 201, uri
    for uri in ("https://evil.example.com/cb", "https://apps.example.org/cb", "https://partner.example.com.evil.io/"):
        r = await register(client, {**WEB, "redirect_uris": [uri]})
        assert r.status_code == 400 and r.json()["error"] == "invalid_redirect_uri", uri
    # Native loopback callbacks are not remote hosts: the scheme policy governs them.
    assert (await register(client, NATIVE)).status_code == 201


@pytest.mark.parametrize("settings_overrides", [{**STORED_AT_ONCE, "dcr_max_clients_per_ip": 2}])
async def test_max_clients_per_source_ip(client: httpx.AsyncClient, dcr: Runtime) -> None:
    first = (await register(client, WEB)).json()
    assert (await register(client, NATIVE)).status_code == 201
    r = await register(client, WEB)
    assert r.status_code == 403 and r.json()["error"] == "access_denied"
    assert "maximum number of clients" in r.json()["error_description"]
    assert await count_clients(dcr) == 2
    # Deleting one frees a slot.
    await client.delete(first["registration_client_uri"], headers=_bearer(first["registration_access_token"]))
    assert (await register(client, WEB)).status_code == 201


async def _token_status(client: httpx.AsyncClient, reg: dict[str, Any]) -> tuple[int, str]:
    r = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "audience": "https://api.example.com/"},
        auth=(reg["client_id"], reg["client_secret"]),
    )
    return r.status_code, r.json()["error"]


@APPROVAL
async def test_pending_until_approved(client: httpx.AsyncClient, dcr: Runtime, mgmt: httpx.AsyncClient) -> None:
    reg = (await register(client, WEB)).json()
    cid = reg["client_id"]
    assert await count_clients(dcr, client_id=cid, status="pending") == 1
    assert (await mgmt.get(f"/api/v2/clients/{cid}")).json()["status"] == "pending"
    assert await _token_status(client, reg) == (401, "invalid_client")  # pending clients cannot authenticate
    pending = (await mgmt.get("/api/v2/dcr/registrations", params={"status": "pending"})).json()
    assert [c["client_id"] for c in pending] == [cid]
    assert pending[0]["status"] == "pending" and pending[0]["registration_ip"] == "127.0.0.1"

    r = await mgmt.post(f"/api/v2/clients/{cid}/approve")
    assert r.status_code == 200, r.text
    assert "status" not in r.json() and r.json()["approved_at"].endswith("Z")
    assert "client.approved" in await audit_types(dcr)
    assert await _token_status(client, reg) == (403, "unauthorized_client")  # authenticated; grant type refused
    assert (await mgmt.get("/api/v2/dcr/registrations", params={"status": "pending"})).json() == []
    assert (await mgmt.post(f"/api/v2/clients/{cid}/approve")).status_code == 200  # idempotent

    # Moving the callbacks needs a new approval; renaming alone does not.
    token = reg["registration_access_token"]
    r = await client.put(
        reg["registration_client_uri"], headers=_bearer(token), json={**WEB, "client_id": cid, "client_name": "Renamed"}
    )
    assert r.status_code == 200 and await count_clients(dcr, client_id=cid, status="active") == 1
    moved = {**WEB, "client_id": cid, "redirect_uris": ["https://partner.example.com/new"]}
    r = await client.put(reg["registration_client_uri"], headers=_bearer(token), json=moved)
    assert r.status_code == 200 and await count_clients(dcr, client_id=cid, status="pending") == 1


async def test_approve_errors(mgmt: httpx.AsyncClient, client: httpx.AsyncClient) -> None:
    r = await mgmt.post("/api/v2/clients/tpc_nope/approve")
    assert r.status_code == 404 and r.json()["errorCode"] == "inexistent_client"
    del mgmt.headers["Authorization"]
    r = await client.post("/api/v2/clients/tpc_nope/approve")
    assert r.status_code == 401 and r.json()["errorCode"] == "missing_authorization"
    assert (await client.get("/api/v2/dcr/registrations")).status_code == 401


async def test_registrations_listing(client: httpx.AsyncClient, dcr: Runtime, mgmt: httpx.AsyncClient) -> None:
    from tests.integration.dcr.conftest import set_times

    a = (await register(client, WEB)).json()
    b = (await register(client, NATIVE)).json()
    await mgmt.post("/api/v2/clients", json={"name": "admin app", "is_first_party": False})
    await set_times(dcr, b["client_id"], last_used_at=dcr.clock.now())
    everything = (await mgmt.get("/api/v2/dcr/registrations", params={"include_totals": "true"})).json()
    assert everything["total"] == 2 and [c["client_id"] for c in everything["registrations"]] == [
        a["client_id"],
        b["client_id"],
    ]
    assert everything["registrations"][1]["last_used_at"].endswith("Z")
    unused = (await mgmt.get("/api/v2/dcr/registrations", params={"status": "unused"})).json()
    assert [c["client_id"] for c in unused] == [a["client_id"]]
    page = (await mgmt.get("/api/v2/dcr/registrations", params={"per_page": 1, "page": 1})).json()
    assert [c["client_id"] for c in page] == [b["client_id"]]
    r = await mgmt.get("/api/v2/dcr/registrations", params={"status": "stale"})
    assert r.status_code == 400 and r.json()["errorCode"] == "invalid_query_string"
