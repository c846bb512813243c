"""What a tool that writes back what it read sends (the Auth0 Deploy CLI importing its own export): read-only fields
and echoed defaults are accepted and set nothing; ``GET /actions/actions`` answers an empty list."""

from __future__ import annotations

from typing import Any

import httpx

from consentry.runtime import Runtime
from tests.integration.management.helpers import assert_error, token_with

API = "https://written-back.example.com"


async def test_a_client_read_back_can_be_created_again(mgmt: httpx.AsyncClient) -> None:
    for third_party in (False, True):
        r = await mgmt.post(
            "/api/v2/clients",
            json={
                "name": f"source {third_party}",
                "app_type": "spa",
                "is_first_party": not third_party,
                "callbacks": ["https://app.example.com/cb"],
            },
        )
        assert r.status_code == 201, r.text
        read: dict[str, Any] = (await mgmt.get(f"/api/v2/clients/{r.json()['client_id']}")).json()
        assert read["registration_type"] == "admin" and read["created_at"] and read["sso_disabled"] is False
        copy = {k: v for k, v in read.items() if k not in ("client_id", "tenant", "global", "client_secret")}
        copy["name"] = f"copy {third_party}"
        r = await mgmt.post("/api/v2/clients", json=copy)
        assert r.status_code == 201, r.text
        again = (await mgmt.get(f"/api/v2/clients/{r.json()['client_id']}")).json()
        assert again["created_at"] != "1970-01-01T00:00:00.000Z" and again["registration_type"] == "admin"
        assert {k: v for k, v in again.items() if k not in ("client_id", "name", "created_at")} == {
            k: v for k, v in read.items() if k not in ("client_id", "name", "created_at")
        }


async def test_a_third_party_app_still_refuses_a_setting_that_is_not_the_echoed_default(
    mgmt: httpx.AsyncClient,
) -> None:
    body = {"name": "tp", "is_first_party": False, "callbacks": ["https://app.example.com/cb"]}
    assert (await mgmt.post("/api/v2/clients", json={**body, "sso_disabled": False})).status_code == 201
    r = await mgmt.post("/api/v2/clients", json={**body, "name": "tp2", "sso_disabled": True})
    assert_error(r, 400, "invalid_body")
    r = await mgmt.post("/api/v2/clients", json={**body, "name": "tp3", "registration_type": "nope"})
    assert r.status_code == 400


async def test_a_client_grant_accepts_is_system_false_only(mgmt: httpx.AsyncClient) -> None:
    r = await mgmt.post("/api/v2/resource-servers", json={"identifier": API, "scopes": [{"value": "read:x"}]})
    assert r.status_code == 201, r.text
    body = {"default_for": "third_party_clients", "audience": API, "scope": ["read:x"], "subject_type": "user"}
    assert (await mgmt.post("/api/v2/client-grants", json={**body, "is_system": True})).status_code == 400
    r = await mgmt.post("/api/v2/client-grants", json={**body, "is_system": False})
    assert r.status_code == 201 and r.json()["is_system"] is False, r.text


async def test_actions_are_an_empty_list(client: httpx.AsyncClient, runtime: Runtime) -> None:
    headers = await token_with(client, runtime, "read:actions")
    r = await client.get("/api/v2/actions/actions", params={"per_page": 20}, headers=headers)
    assert r.status_code == 200 and r.json() == {"actions": [], "total": 0, "page": 0, "per_page": 20}
    other = await token_with(client, runtime, "read:clients")
    assert_error(await client.get("/api/v2/actions/actions", headers=other), 403, "insufficient_scope")
