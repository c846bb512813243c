"""/api/v2/resource-servers: Auth0 shapes, id-or-identifier lookup, the system API, cascades and error paths."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from consentry.runtime import Runtime
from consentry.services.user_grants import upsert_grant
from tests.integration.management.helpers import (
    assert_error,
    make_refresh_token,
    make_third_party_client,
    make_user,
    refresh_token_revoked,
    token_with,
)

API = "https://api.example.com/v1"
RS = "/api/v2/resource-servers"


async def _create(mgmt: httpx.AsyncClient, identifier: str = API, **extra: object) -> dict[str, object]:
    body = {
        "identifier": identifier,
        "name": "Example API",
        "scopes": [
            {"value": "read:posts", "description": "Read posts"},
            {"value": "write:posts", "description": "Write posts", "optional": True},
        ],
        **extra,
    }
    r = await mgmt.post(RS, json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_create_get_by_id_and_by_encoded_identifier(mgmt: httpx.AsyncClient) -> None:
    created = await _create(mgmt)
    assert created["identifier"] == API and created["is_system"] is False
    assert created["scopes"] == [
        {"value": "read:posts", "description": "Read posts"},
        {"value": "write:posts", "description": "Write posts", "optional": True},
    ]
    assert created["subject_type_authorization"] == {
        "user": {"policy": "allow_all"},
        "client": {"policy": "require_client_grant"},
    }
    assert created["token_dialect"] == "rfc9068_profile" and created["signing_alg"] == "RS256"
    by_id = (await mgmt.get(f"{RS}/{created['id']}")).json()
    by_identifier = await mgmt.get(f"{RS}/{quote(API, safe='')}")
    assert by_identifier.status_code == 200 and by_identifier.json() == by_id == created


async def test_list_filters_by_identifiers_and_pages(mgmt: httpx.AsyncClient, runtime: Runtime) -> None:
    await _create(mgmt, "https://a.example.com")
    await _create(mgmt, "https://b.example.com")
    everything = (await mgmt.get(RS)).json()
    assert [r["identifier"] for r in everything] == [
        runtime.settings.management_audience,
        "https://a.example.com",
        "https://b.example.com",
    ]
    assert everything[0]["is_system"] is True
    r = await mgmt.get(
        RS,
        params=[
            ("identifiers", "https://a.example.com"),
            ("identifiers", "https://b.example.com"),
            ("include_totals", "true"),
            ("per_page", "1"),
            ("page", "1"),
        ],
    )
    assert r.json()["total"] == 2 and r.json()["start"] == 1 and r.json()["limit"] == 1
    assert [x["identifier"] for x in r.json()["resource_servers"]] == ["https://b.example.com"]
    bracketed = await mgmt.get(RS, params=[("identifiers[]", "https://a.example.com")])  # the qs "brackets" form
    assert [x["identifier"] for x in bracketed.json()] == ["https://a.example.com"]
    past = (await mgmt.get(RS, params={"include_totals": "true", "page": 9})).json()
    assert past["resource_servers"] == [] and past["total"] == 3
    assert_error(await mgmt.get(RS, params={"per_page": 101}), 400, "invalid_query_string")
    assert_error(await mgmt.get(RS, params={"include_totals": "maybe"}), 400, "invalid_query_string")


async def test_patch_updates_fields_and_merges_policy(mgmt: httpx.AsyncClient) -> None:
    created = await _create(mgmt)
    r = await mgmt.patch(
        f"{RS}/{created['id']}",
        json={
            "name": "Renamed",
            "allow_offline_access": True,
            "token_lifetime": 600,
            "scopes": [{"value": "read:posts"}],
            "subject_type_authorization": {"user": {"policy": "require_client_grant"}},
            "enforce_policies": True,
        },
    )
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["name"] == "Renamed" and got["allow_offline_access"] is True and got["token_lifetime"] == 600
    assert got["scopes"] == [{"value": "read:posts", "description": ""}]
    assert got["subject_type_authorization"] == {
        "user": {"policy": "require_client_grant"},
        "client": {"policy": "require_client_grant"},
    }
    assert got["enforce_policies"] is True
    assert (await mgmt.get(f"{RS}/{quote(API, safe='')}")).json() == got


async def test_identifier_is_immutable_and_bad_bodies_write_nothing(mgmt: httpx.AsyncClient) -> None:
    created = await _create(mgmt)
    url = f"{RS}/{created['id']}"
    for body in (
        {"identifier": "https://other"},
        {"id": "x"},
        {"name": 5},
        {"scopes": "read:posts"},
        {"scopes": [{"value": "read:posts"}, {"value": "read:posts"}]},
        {"scopes": [{"value": "a b"}]},
        {"token_lifetime": "long"},
        {"name": "<b>"},
        {"subject_type_authorization": {"user": {"policy": "x"}}},
        {"unknown": True},
    ):
        assert_error(await mgmt.patch(url, json=body), 400, "invalid_body")
    r = await mgmt.patch(url, content=b"{oops", headers={"content-type": "application/json"})
    assert_error(r, 400, "invalid_body")
    assert (await mgmt.get(url)).json() == created


async def test_create_errors(mgmt: httpx.AsyncClient) -> None:
    await _create(mgmt)
    assert_error(await mgmt.post(RS, json={"identifier": API}), 409, "resource_server_conflict")
    for body in (
        {},
        {"name": "x"},
        {"identifier": 7},
        {"identifier": "https://x", "scopes": [{"value": "openid"}]},
        {"identifier": "https://x", "scopes": [{"description": "no value"}]},
        {"identifier": "https://x#frag"},
        {"identifier": "https://x", "extra": 1},
        {"identifier": "https://x", "token_dialect": "jwt"},
    ):
        assert_error(await mgmt.post(RS, json=body), 400, "invalid_body")
    assert len((await mgmt.get(RS)).json()) == 2


async def test_unknown_ids_are_404(mgmt: httpx.AsyncClient) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        r = await mgmt.request(method, f"{RS}/nope", json={} if method == "PATCH" else None)
        assert_error(r, 404, "inexistent_resource_server")
    assert_error(
        await mgmt.get(f"{RS}/{quote('https://missing.example.com/x', safe='')}"), 404, "inexistent_resource_server"
    )


async def test_system_api_cannot_be_modified_or_deleted(mgmt: httpx.AsyncClient, runtime: Runtime) -> None:
    system = quote(runtime.settings.management_audience, safe="")
    assert (await mgmt.get(f"{RS}/{system}")).json()["is_system"] is True
    assert_error(await mgmt.patch(f"{RS}/{system}", json={"name": "mine"}), 403, "operation_not_supported")
    assert_error(await mgmt.delete(f"{RS}/{system}"), 403, "operation_not_supported")
    assert (await mgmt.get(f"{RS}/{system}")).json()["name"] == "Auth0 Management API"


async def test_delete_cascades_client_grants_and_user_grants(mgmt: httpx.AsyncClient, runtime: Runtime) -> None:
    created = await _create(mgmt)
    tpc = await make_third_party_client(runtime)
    grant = await mgmt.post(
        "/api/v2/client-grants",
        json={"client_id": tpc, "audience": API, "scope": ["read:posts"], "subject_type": "user"},
    )
    assert grant.status_code == 201, grant.text
    user_id = await make_user(runtime, "ann@example.com")
    async with runtime.db.transaction() as s:
        ug = await upsert_grant(runtime, s, user_id=user_id, client_id=tpc, audience=API, scopes=["read:posts"])
    token = await make_refresh_token(runtime, user_id=user_id, client_id=tpc, grant_id=ug.id, audience=API)
    r = await mgmt.delete(f"{RS}/{created['id']}")
    assert r.status_code == 204 and r.content == b""
    assert_error(await mgmt.get(f"{RS}/{created['id']}"), 404, "inexistent_resource_server")
    assert_error(await mgmt.get(f"/api/v2/client-grants/{grant.json()['id']}"), 404, "inexistent_client_grant")
    assert (await mgmt.get("/api/v2/grants", params={"user_id": user_id})).json() == []
    assert await refresh_token_revoked(runtime, token) is True


async def test_scopes_are_enforced(client: httpx.AsyncClient, runtime: Runtime) -> None:
    headers = await token_with(client, runtime, "read:resource_servers")
    assert (await client.get(RS, headers=headers)).status_code == 200
    body = {"identifier": API}
    assert_error(await client.post(RS, json=body, headers=headers), 403, "insufficient_scope")
    assert_error(await client.patch(f"{RS}/x", json={}, headers=headers), 403, "insufficient_scope")
    assert_error(await client.delete(f"{RS}/x", headers=headers), 403, "insufficient_scope")
    assert_error(await client.get(RS), 401, "missing_authorization")
