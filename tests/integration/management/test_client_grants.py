"""/api/v2/client-grants: both paging styles, filters, conflicts, immutability and error paths (SPEC T7, T8)."""

from __future__ import annotations

import httpx

from consentry.runtime import Runtime
from tests.integration.management.helpers import assert_error, make_third_party_client, token_with

API = "https://api.example.com"
CG = "/api/v2/client-grants"


async def _api(mgmt: httpx.AsyncClient, identifier: str = API) -> None:
    r = await mgmt.post(
        "/api/v2/resource-servers",
        json={
            "identifier": identifier,
            "name": identifier,
            "scopes": [{"value": "read:items"}, {"value": "write:items"}, {"value": "delete:items"}],
        },
    )
    assert r.status_code == 201, r.text


async def test_create_get_patch_delete(mgmt: httpx.AsyncClient, runtime: Runtime) -> None:
    await _api(mgmt)
    tpc = await make_third_party_client(runtime)
    r = await mgmt.post(
        CG, json={"client_id": tpc, "audience": API, "scope": ["read:items", "read:items"], "subject_type": "user"}
    )
    assert r.status_code == 201, r.text
    grant = r.json()
    assert grant["id"].startswith("cgr_")
    assert {
        k: grant[k] for k in ("client_id", "audience", "scope", "subject_type", "allow_all_scopes", "is_system")
    } == {
        "client_id": tpc,
        "audience": API,
        "scope": ["read:items"],
        "subject_type": "user",
        "allow_all_scopes": False,
        "is_system": False,
    }
    assert (await mgmt.get(f"{CG}/{grant['id']}")).json() == grant
    r = await mgmt.patch(f"{CG}/{grant['id']}", json={"scope": ["read:items", "write:items"], "allow_all_scopes": True})
    assert r.status_code == 200 and r.json()["scope"] == ["read:items", "write:items"]
    assert r.json()["allow_all_scopes"] is True
    assert (await mgmt.delete(f"{CG}/{grant['id']}")).status_code == 204
    assert_error(await mgmt.get(f"{CG}/{grant['id']}"), 404, "inexistent_client_grant")


async def test_default_for_third_party_clients_and_subject_type_default(
    mgmt: httpx.AsyncClient, runtime: Runtime
) -> None:
    await _api(mgmt)
    r = await mgmt.post(
        CG,
        json={"default_for": "third_party_clients", "audience": API, "scope": ["read:items"], "subject_type": "user"},
    )
    assert r.status_code == 201 and r.json()["default_for"] == "third_party_clients" and "client_id" not in r.json()
    tpc = await make_third_party_client(runtime)
    m2m = await mgmt.post(CG, json={"client_id": tpc, "audience": API, "scope": []})
    assert m2m.status_code == 201 and m2m.json()["subject_type"] == "client"
    assert_error(
        await mgmt.post(
            CG, json={"default_for": "third_party_clients", "audience": API, "scope": [], "subject_type": "user"}
        ),
        409,
        "client_grant_conflict",
    )
    assert_error(
        await mgmt.post(CG, json={"client_id": tpc, "audience": API, "scope": []}), 409, "client_grant_conflict"
    )


async def test_create_errors_write_nothing(mgmt: httpx.AsyncClient, runtime: Runtime) -> None:
    await _api(mgmt)
    tpc = await make_third_party_client(runtime)
    before = (await mgmt.get(CG)).json()
    assert_error(
        await mgmt.post(CG, json={"client_id": "nope", "audience": API, "scope": []}), 404, "inexistent_client"
    )
    assert_error(
        await mgmt.post(CG, json={"client_id": tpc, "audience": "https://nope", "scope": []}),
        404,
        "inexistent_resource_server",
    )
    for body in (
        {"client_id": tpc, "audience": API, "scope": ["undefined:scope"]},
        {"client_id": tpc, "default_for": "third_party_clients", "audience": API, "scope": []},
        {"audience": API, "scope": []},
        {"client_id": tpc, "scope": []},
        {"client_id": tpc, "audience": API, "scope": "read:items"},
        {"client_id": tpc, "audience": API, "subject_type": "robot"},
        {"client_id": tpc, "audience": API, "default_for": "everyone"},
        {"client_id": tpc, "audience": API, "bogus": 1},
    ):
        assert_error(await mgmt.post(CG, json=body), 400, "invalid_body")
    r = await mgmt.post(CG, content=b"[1,2", headers={"content-type": "application/json"})
    assert_error(r, 400, "invalid_body")
    assert (await mgmt.get(CG)).json() == before


async def test_third_party_apps_cannot_get_the_management_api(mgmt: httpx.AsyncClient, runtime: Runtime) -> None:
    tpc = await make_third_party_client(runtime)
    r = await mgmt.post(
        CG, json={"client_id": tpc, "audience": runtime.settings.management_audience, "scope": ["read:users"]}
    )
    assert_error(r, 403, "operation_not_supported")


async def test_patch_is_limited_and_validated(mgmt: httpx.AsyncClient, runtime: Runtime) -> None:
    await _api(mgmt)
    tpc = await make_third_party_client(runtime)
    grant = (await mgmt.post(CG, json={"client_id": tpc, "audience": API, "scope": ["read:items"]})).json()
    url = f"{CG}/{grant['id']}"
    for body in (
        {"audience": "https://other"},
        {"client_id": "x"},
        {"subject_type": "user"},
        {"scope": [1]},
        {"scope": ["nope:nope"]},
        {"allow_all_scopes": "yes"},
    ):
        assert_error(await mgmt.patch(url, json=body), 400, "invalid_body")
    assert (await mgmt.get(url)).json() == grant
    assert_error(await mgmt.patch(f"{CG}/cgr_missing", json={"scope": []}), 404, "inexistent_client_grant")
    assert_error(await mgmt.delete(f"{CG}/cgr_missing"), 404, "inexistent_client_grant")


async def test_filters_and_both_paging_styles(mgmt: httpx.AsyncClient, runtime: Runtime) -> None:
    await _api(mgmt)
    await _api(mgmt, "https://other.example.com")
    clients = [await make_third_party_client(runtime, f"p{i}") for i in range(3)]
    for cid in clients:
        for aud in (API, "https://other.example.com"):
            r = await mgmt.post(CG, json={"client_id": cid, "audience": aud, "scope": [], "subject_type": "user"})
            assert r.status_code == 201
    await mgmt.post(
        CG, json={"default_for": "third_party_clients", "audience": API, "scope": [], "subject_type": "user"}
    )
    by_audience = (await mgmt.get(CG, params={"audience": API})).json()
    assert len(by_audience) == 4 and {g["audience"] for g in by_audience} == {API}
    assert len((await mgmt.get(CG, params={"client_id": clients[0]})).json()) == 2
    assert len((await mgmt.get(CG, params={"default_for": "third_party_clients"})).json()) == 1
    assert len((await mgmt.get(CG, params={"subject_type": "client"})).json()) == 1  # the ops client's
    assert_error(await mgmt.get(CG, params={"subject_type": "robot"}), 400, "invalid_query_string")

    # checkpoint paging (auth0-python 5+ sends include_totals=true with take): {"client_grants", "next"}
    seen: list[str] = []
    params: dict[str, str | int] = {"take": 3, "include_totals": "true"}
    while True:
        page = (await mgmt.get(CG, params=params)).json()
        assert set(page) <= {"client_grants", "next"} and len(page["client_grants"]) <= 3
        seen += [g["id"] for g in page["client_grants"]]
        if not page.get("next"):
            break
        params = {"take": 3, "from": page["next"]}
    assert len(seen) == len(set(seen)) == 8
    # offset paging
    offset = (await mgmt.get(CG, params={"page": 1, "per_page": 3, "include_totals": "true"})).json()
    assert offset["total"] == 8 and offset["start"] == 3 and [g["id"] for g in offset["client_grants"]] == seen[3:6]
    assert_error(await mgmt.get(CG, params={"from": "garbage!"}), 400, "invalid_query_string")
    assert_error(await mgmt.get(CG, params={"take": 0}), 400, "invalid_query_string")


async def test_checkpoint_survives_deleting_the_next_item(mgmt: httpx.AsyncClient, runtime: Runtime) -> None:
    await _api(mgmt)
    ids = []
    for i in range(3):
        cid = await make_third_party_client(runtime, f"p{i}")
        ids.append((await mgmt.post(CG, json={"client_id": cid, "audience": API, "scope": []})).json()["id"])
    first = (await mgmt.get(CG, params={"take": 2, "audience": API})).json()
    assert [g["id"] for g in first["client_grants"]] == ids[:2]
    await mgmt.delete(f"{CG}/{ids[2]}")
    rest = (await mgmt.get(CG, params={"take": 2, "audience": API, "from": first["next"]})).json()
    assert rest == {"client_grants": []}


async def test_scopes_are_enforced(client: httpx.AsyncClient, runtime: Runtime) -> None:
    headers = await token_with(client, runtime, "read:client_grants")
    assert (await client.get(CG, headers=headers)).status_code == 200
    assert_error(await client.post(CG, json={"audience": API}, headers=headers), 403, "insufficient_scope")
    assert_error(await client.patch(f"{CG}/x", json={}, headers=headers), 403, "insufficient_scope")
    assert_error(await client.delete(f"{CG}/x", headers=headers), 403, "insufficient_scope")
