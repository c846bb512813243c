"""/api/v2/connections: create/get/patch/delete, enabled clients, both paging styles, error paths (SPEC T6)."""

from __future__ import annotations

import httpx

from consentry.runtime import Runtime
from tests.integration.management.helpers import assert_error, make_third_party_client, make_user, token_with

C = "/api/v2/connections"
DB = "Username-Password-Authentication"


async def _create(mgmt: httpx.AsyncClient, name: str, **extra: object) -> dict[str, object]:
    r = await mgmt.post(C, json={"name": name, "strategy": "auth0", **extra})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_default_connection_shape(mgmt: httpx.AsyncClient, m2m_credentials: dict[str, str]) -> None:
    listed = (await mgmt.get(C)).json()
    assert [c["name"] for c in listed] == [DB]
    conn = listed[0]
    assert conn["id"].startswith("con_") and conn["strategy"] == "auth0" and conn["realms"] == [DB]
    assert conn["is_domain_connection"] is False and conn["enabled_clients"] == [m2m_credentials["client_id"]]
    assert (await mgmt.get(f"{C}/{conn['id']}")).json() == conn
    only = (await mgmt.get(f"{C}/{conn['id']}", params={"fields": "name,strategy"})).json()
    assert only == {"name": DB, "strategy": "auth0"}


async def test_create_patch_delete(mgmt: httpx.AsyncClient, runtime: Runtime) -> None:
    app = await make_third_party_client(runtime)
    conn = await _create(
        mgmt,
        "partners-db",
        display_name="Partners",
        enabled_clients=[app],
        options={"requires_username": True},
        metadata={"team": "a"},
    )
    assert conn["enabled_clients"] == [app] and conn["realms"] == ["partners-db"] and conn["display_name"] == "Partners"
    assert conn["options"] == {"requires_username": True} and conn["metadata"] == {"team": "a"}
    url = f"{C}/{conn['id']}"
    r = await mgmt.patch(
        url,
        json={
            "is_domain_connection": True,
            "options": {"disable_signup": True},
            "enabled_clients": [],
            "display_name": "P2",
        },
    )
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["is_domain_connection"] is True and got["options"] == {"disable_signup": True}  # options replace
    assert got["enabled_clients"] == [] and got["display_name"] == "P2" and got["metadata"] == {"team": "a"}
    assert (await mgmt.get(url)).json() == got
    await make_user(runtime, "ann@example.com")
    assert (await mgmt.delete(url)).status_code == 204
    assert_error(await mgmt.get(url), 404, "inexistent_connection")
    assert len((await mgmt.get("/api/v2/users")).json()) == 1  # the other connection's user is untouched


async def test_delete_removes_the_connections_users(mgmt: httpx.AsyncClient) -> None:
    conn = await _create(mgmt, "temp")
    r = await mgmt.post(
        "/api/v2/users", json={"connection": "temp", "email": "t@example.com", "password": "correct horse battery"}
    )
    assert r.status_code == 201
    assert (await mgmt.delete(f"{C}/{conn['id']}")).status_code == 204
    assert (await mgmt.get("/api/v2/users")).json() == []


async def test_create_errors_write_nothing(mgmt: httpx.AsyncClient) -> None:
    before = (await mgmt.get(C)).json()
    assert_error(await mgmt.post(C, json={"name": DB, "strategy": "auth0"}), 409, "already_exists")
    assert_error(
        await mgmt.post(C, json={"name": "x", "strategy": "auth0", "enabled_clients": ["nope"]}),
        404,
        "inexistent_client",
    )
    for body in (
        {"name": "google", "strategy": "google-oauth2"},
        {"name": "has space", "strategy": "auth0"},
        {"name": "-lead", "strategy": "auth0"},
        {"name": "a" * 129, "strategy": "auth0"},
        {"name": "under_score", "strategy": "auth0"},
        {"strategy": "auth0"},
        {"name": "x"},
        {"name": "x", "strategy": "auth0", "is_domain_connection": "true"},
        {"name": "x", "strategy": "auth0", "options": []},
        {"name": "x", "strategy": "auth0", "id": "con_1"},
        {"name": "x", "strategy": "auth0", "enabled_clients": "all"},
    ):
        assert_error(await mgmt.post(C, json=body), 400, "invalid_body")
    assert_error(await mgmt.post(C, content=b"{", headers={"content-type": "application/json"}), 400, "invalid_body")
    assert (await mgmt.get(C)).json() == before
    assert (await mgmt.post(C, json={"name": "a" * 128, "strategy": "auth0"})).status_code == 201


async def test_patch_errors_write_nothing(mgmt: httpx.AsyncClient) -> None:
    conn = await _create(mgmt, "mine", options={"a": 1})
    url = f"{C}/{conn['id']}"
    for body in (
        {"name": "renamed"},
        {"strategy": "auth0"},
        {"options": "x"},
        {"is_domain_connection": 1},
        {"realms": "mine"},
        {"unknown": True},
    ):
        assert_error(await mgmt.patch(url, json=body), 400, "invalid_body")
    assert_error(await mgmt.patch(url, json={"enabled_clients": ["nope"]}), 404, "inexistent_client")
    assert (await mgmt.get(url)).json() == conn
    for method in ("GET", "PATCH", "DELETE"):
        assert_error(
            await mgmt.request(method, f"{C}/con_nope", json={} if method == "PATCH" else None),
            404,
            "inexistent_connection",
        )
    assert_error(await mgmt.get(f"{C}/con_nope/clients"), 404, "inexistent_connection")
    assert_error(await mgmt.patch(f"{C}/con_nope/clients", json=[]), 404, "inexistent_connection")


async def test_enabled_clients_endpoints(mgmt: httpx.AsyncClient, runtime: Runtime) -> None:
    conn = await _create(mgmt, "apps")
    apps = sorted([await make_third_party_client(runtime, f"a{i}") for i in range(3)])
    url = f"{C}/{conn['id']}/clients"
    r = await mgmt.patch(url, json=[{"client_id": a, "status": True} for a in apps])
    assert r.status_code == 204 and r.content == b""
    first = (await mgmt.get(url, params={"take": 2})).json()
    assert first["clients"] == [{"client_id": apps[0]}, {"client_id": apps[1]}] and first["next"]
    rest = (await mgmt.get(url, params={"take": 2, "from": first["next"]})).json()
    assert rest == {"clients": [{"client_id": apps[2]}]}
    await mgmt.patch(url, json=[{"client_id": apps[1], "status": False}])
    assert (await mgmt.get(f"{C}/{conn['id']}")).json()["enabled_clients"] == [apps[0], apps[2]]
    # errors: unknown client, wrong types, over 50 entries; nothing is written
    assert_error(
        await mgmt.patch(url, json=[{"client_id": apps[1], "status": True}, {"client_id": "nope", "status": True}]),
        404,
        "inexistent_client",
    )
    for body in (
        [{"client_id": apps[1], "status": "yes"}],
        [{"client_id": apps[1]}],
        {"client_id": apps[1]},
        [{"client_id": apps[1], "status": True}] * 51,
    ):
        assert_error(await mgmt.patch(url, json=body), 400, "invalid_body")
    assert (await mgmt.get(url)).json() == {"clients": [{"client_id": apps[0]}, {"client_id": apps[2]}]}
    assert_error(await mgmt.get(url, params={"from": "bad"}), 400, "invalid_query_string")


async def test_new_clients_get_every_connection(mgmt: httpx.AsyncClient, runtime: Runtime) -> None:
    conn = await _create(mgmt, "second")
    app = await make_third_party_client(runtime)
    assert app in (await mgmt.get(f"{C}/{conn['id']}")).json()["enabled_clients"]


async def test_filters_and_both_paging_styles(mgmt: httpx.AsyncClient) -> None:
    for i in range(4):
        await _create(mgmt, f"db-{i}")
    assert [c["name"] for c in (await mgmt.get(C, params={"name": "db-2"})).json()] == ["db-2"]
    assert len((await mgmt.get(C, params={"strategy": "auth0"})).json()) == 5
    assert (await mgmt.get(C, params=[("strategy", "google-oauth2"), ("strategy", "samlp")])).json() == []
    names: list[str] = []
    params: dict[str, str | int] = {"take": 2, "include_totals": "true"}
    while True:
        page = (await mgmt.get(C, params=params)).json()
        names += [c["name"] for c in page["connections"]]
        if not page.get("next"):
            break
        params = {"take": 2, "from": page["next"]}
    assert names == [DB, "db-0", "db-1", "db-2", "db-3"]
    offset = (await mgmt.get(C, params={"page": 1, "per_page": 2, "include_totals": "true"})).json()
    assert offset["total"] == 5 and [c["name"] for c in offset["connections"]] == ["db-1", "db-2"]


async def test_scopes_are_enforced(client: httpx.AsyncClient, runtime: Runtime) -> None:
    headers = await token_with(client, runtime, "read:connections")
    assert (await client.get(C, headers=headers)).status_code == 200
    body = {"name": "x", "strategy": "auth0"}
    assert_error(await client.post(C, json=body, headers=headers), 403, "insufficient_scope")
    assert_error(await client.patch(f"{C}/x", json={}, headers=headers), 403, "insufficient_scope")
    assert_error(await client.patch(f"{C}/x/clients", json=[], headers=headers), 403, "insufficient_scope")
    assert_error(await client.delete(f"{C}/x", headers=headers), 403, "insufficient_scope")
