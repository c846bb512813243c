"""clients/{id}/connections (the connections an app signs in through, checkpoint paging) and clients?q=."""

from __future__ import annotations

from typing import Any

import httpx

from tests.integration.management.helpers import assert_error

DB = "Username-Password-Authentication"


async def _client(mgmt: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    r = await mgmt.post("/api/v2/clients", json={"app_type": "regular_web", **body})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def _connection(mgmt: httpx.AsyncClient, name: str, **body: Any) -> dict[str, Any]:
    r = await mgmt.post("/api/v2/connections", json={"name": name, "strategy": "auth0", **body})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_first_party_app_connections_with_paging(mgmt: httpx.AsyncClient) -> None:
    app = await _client(mgmt, name="Web")
    extra = [await _connection(mgmt, f"directory-{i}", enabled_clients=[app["client_id"]]) for i in range(2)]
    await _connection(mgmt, "not-enabled")
    r = await mgmt.get(f"/api/v2/clients/{app['client_id']}/connections")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"connections"}
    names = {c["name"] for c in body["connections"]}
    assert names == {DB, *(c["name"] for c in extra)}
    assert all("enabled_clients" not in c and c["strategy"] == "auth0" for c in body["connections"])
    first = (await mgmt.get(f"/api/v2/clients/{app['client_id']}/connections", params={"take": 2})).json()
    assert len(first["connections"]) == 2 and first["next"]
    rest = (
        await mgmt.get(f"/api/v2/clients/{app['client_id']}/connections", params={"take": 2, "from": first["next"]})
    ).json()
    assert len(rest["connections"]) == 1 and "next" not in rest
    assert {c["name"] for c in first["connections"] + rest["connections"]} == names
    only = await mgmt.get(
        f"/api/v2/clients/{app['client_id']}/connections", params={"strategy": "oidc", "fields": "name"}
    )
    assert only.json() == {"connections": []}
    picked = await mgmt.get(f"/api/v2/clients/{app['client_id']}/connections", params={"fields": "id,name"})
    assert all(set(c) == {"id", "name"} for c in picked.json()["connections"])


async def test_third_party_app_sees_domain_connections_only(mgmt: httpx.AsyncClient) -> None:
    partner = await _client(mgmt, name="Partner", is_first_party=False, callbacks=["https://p.example.com/cb"])
    assert (await mgmt.get(f"/api/v2/clients/{partner['client_id']}/connections")).json() == {"connections": []}
    await _connection(mgmt, "everyone", is_domain_connection=True)
    listed = (await mgmt.get(f"/api/v2/clients/{partner['client_id']}/connections")).json()["connections"]
    assert [c["name"] for c in listed] == ["everyone"]
    assert_error(await mgmt.get("/api/v2/clients/nope/connections"), 404, "inexistent_client")


async def test_clients_q_filters(mgmt: httpx.AsyncClient) -> None:
    web = await _client(mgmt, name="Acme Web")
    await _client(mgmt, name="Acme Batch", app_type="non_interactive")
    partner = await _client(mgmt, name="Partner", is_first_party=False, callbacks=["https://p.example.com/cb"])

    async def names(q: str) -> set[str]:
        r = await mgmt.get("/api/v2/clients", params={"q": q, "per_page": 100})
        assert r.status_code == 200, r.text
        return {c["name"] for c in r.json()}

    assert await names('name:"Acme Web"') == {"Acme Web"}
    assert await names("name:acme*") == {"Acme Web", "Acme Batch"}
    assert await names("acme") == {"Acme Web", "Acme Batch"}
    assert await names("app_type:non_interactive AND name:acme*") == {"Acme Batch"}
    assert await names(f"client_id:{web['client_id']} OR client_id:{partner['client_id']}") == {"Acme Web", "Partner"}
    assert await names("is_first_party:false") == {"Partner"}
    for q in ("client_grant.organization_id:org_1", "secret:x", "name:(a OR b)", "is_first_party:maybe"):
        r = await mgmt.get("/api/v2/clients", params={"q": q})
        assert_error(r, 400, "invalid_query_string")
