"""/api/v2/roles, /roles/{id}/permissions and /users, /users/{id}/roles and /users/{id}/permissions: Auth0's
shapes, paging and errors; assignments are idempotent; deleting a role, a user or an API takes its rows along."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import func, select

from consentry.runtime import Runtime
from consentry.storage.models import RolePermission, UserPermission, UserRole
from tests.integration.management.helpers import assert_error, make_user, token_with

API = "https://posts.example.com"
READ, WRITE = "read:posts", "write:posts"


def _user(user_id: str) -> str:
    return f"/api/v2/users/{quote(user_id, safe='')}"


def _perms(*names: str, api: str = API) -> dict[str, Any]:
    return {"permissions": [{"resource_server_identifier": api, "permission_name": n} for n in names]}


@pytest.fixture
async def api(mgmt: httpx.AsyncClient) -> str:
    body = {
        "identifier": API,
        "name": "Posts",
        "scopes": [{"value": READ, "description": "Read posts"}, {"value": WRITE, "description": "Write posts"}],
    }
    r = await mgmt.post("/api/v2/resource-servers", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _role(mgmt: httpx.AsyncClient, name: str, description: str = "") -> dict[str, Any]:
    r = await mgmt.post("/api/v2/roles", json={"name": name, "description": description})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_role_crud_in_auth0_shape(mgmt: httpx.AsyncClient) -> None:
    role = await _role(mgmt, "Editors", "edit things")
    assert set(role) == {"id", "name", "description"} and role["id"].startswith("rol_")
    assert (await mgmt.get(f"/api/v2/roles/{role['id']}")).json() == role
    r = await mgmt.patch(f"/api/v2/roles/{role['id']}", json={"description": "edit posts"})
    assert r.status_code == 200 and r.json() == {**role, "description": "edit posts"}
    r = await mgmt.patch(f"/api/v2/roles/{role['id']}", json={"name": "Writers"})
    assert r.json()["name"] == "Writers" and r.json()["description"] == "edit posts"
    assert (await mgmt.delete(f"/api/v2/roles/{role['id']}")).status_code == 204
    assert_error(await mgmt.get(f"/api/v2/roles/{role['id']}"), 404, "inexistent_role")
    assert_error(await mgmt.delete(f"/api/v2/roles/{role['id']}"), 404, "inexistent_role")


async def test_roles_list_pages_and_filters_by_name(mgmt: httpx.AsyncClient) -> None:
    for name in ("admin", "Billing Admin", "viewer"):
        await _role(mgmt, name)
    r = await mgmt.get("/api/v2/roles", params={"include_totals": "true", "per_page": 2})
    body = r.json()
    assert body["total"] == 3 and body["start"] == 0 and body["limit"] == 2 and len(body["roles"]) == 2
    filtered = (await mgmt.get("/api/v2/roles", params={"name_filter": "ADMIN"})).json()
    assert {x["name"] for x in filtered} == {"admin", "Billing Admin"}, "case-insensitive part of the name"
    assert (await mgmt.get("/api/v2/roles", params={"name_filter": "%"})).json() == []


async def test_role_names_are_unique_and_validated(mgmt: httpx.AsyncClient) -> None:
    role = await _role(mgmt, "ops")
    assert_error(await mgmt.post("/api/v2/roles", json={"name": "ops"}), 409, "role_conflict")
    other = await _role(mgmt, "dev")
    assert_error(await mgmt.patch(f"/api/v2/roles/{other['id']}", json={"name": "ops"}), 409, "role_conflict")
    assert (await mgmt.patch(f"/api/v2/roles/{role['id']}", json={"name": "ops"})).status_code == 200
    for bad in ({}, {"name": ""}, {"name": "x" * 256}, {"name": "a\u202eb"}, {"name": "a", "extra": 1}, {"name": 5}):
        assert (await mgmt.post("/api/v2/roles", json=bad)).status_code == 400, bad


async def test_role_permissions_are_checked_idempotent_and_described(mgmt: httpx.AsyncClient, api: str) -> None:
    role = await _role(mgmt, "writers")
    url = f"/api/v2/roles/{role['id']}/permissions"
    assert (await mgmt.post(url, json=_perms(READ, WRITE))).status_code == 201
    assert (await mgmt.post(url, json=_perms(READ))).status_code == 201, "assigning twice is not an error"
    assert (await mgmt.get(url)).json() == [
        {
            "resource_server_identifier": API,
            "permission_name": READ,
            "resource_server_name": "Posts",
            "description": "Read posts",
        },
        {
            "resource_server_identifier": API,
            "permission_name": WRITE,
            "resource_server_name": "Posts",
            "description": "Write posts",
        },
    ]
    paged = (await mgmt.get(url, params={"include_totals": "true", "per_page": 1, "page": 1})).json()
    assert paged["total"] == 2 and [p["permission_name"] for p in paged["permissions"]] == [WRITE]
    assert_error(await mgmt.post(url, json=_perms("delete:posts")), 400, "invalid_permission")
    assert_error(await mgmt.post(url, json=_perms(READ, api="https://nope")), 404, "inexistent_resource_server")
    assert (await mgmt.post(url, json={"permissions": []})).status_code == 400
    assert (await mgmt.request("DELETE", url, json=_perms(WRITE))).status_code == 204
    assert [p["permission_name"] for p in (await mgmt.get(url)).json()] == [READ]
    assert_error(await mgmt.get("/api/v2/roles/rol_nope/permissions"), 404, "inexistent_role")


async def test_role_users_and_user_roles(mgmt: httpx.AsyncClient, runtime: Runtime) -> None:
    role = await _role(mgmt, "members")
    users = sorted([await make_user(runtime, f"u{i}@example.com") for i in range(3)])
    r = await mgmt.post(f"/api/v2/roles/{role['id']}/users", json={"users": users})
    assert r.status_code == 200, r.text
    listed = (await mgmt.get(f"/api/v2/roles/{role['id']}/users")).json()
    ordered = [u["user_id"] for u in listed]  # by user_id, in the database's collation
    assert sorted(ordered) == users
    assert set(listed[0]) == {"user_id", "email", "picture", "name"}
    assert {u["email"] for u in listed} == {"u0@example.com", "u1@example.com", "u2@example.com"}
    first = (await mgmt.get(f"/api/v2/roles/{role['id']}/users", params={"take": 2})).json()
    assert [u["user_id"] for u in first["users"]] == ordered[:2] and first["next"]
    rest = (await mgmt.get(f"/api/v2/roles/{role['id']}/users", params={"take": 2, "from": first["next"]})).json()
    assert [u["user_id"] for u in rest["users"]] == ordered[2:] and "next" not in rest
    assert (await mgmt.get(f"/api/v2/roles/{role['id']}/users", params={"from": "garbage"})).status_code == 400
    assert_error(
        await mgmt.post(f"/api/v2/roles/{role['id']}/users", json={"users": ["auth0|nobody"]}), 404, "inexistent_user"
    )
    assert (await mgmt.get(_user(users[0]) + "/roles")).json() == [role]
    r = await mgmt.request("DELETE", _user(users[0]) + "/roles", json={"roles": [role["id"]]})
    assert r.status_code == 204
    assert (await mgmt.get(_user(users[0]) + "/roles")).json() == []
    assert (await mgmt.post(_user(users[0]) + "/roles", json={"roles": [role["id"]]})).status_code == 204
    assert (await mgmt.post(_user(users[0]) + "/roles", json={"roles": [role["id"]]})).status_code == 204
    totals = (await mgmt.get(_user(users[0]) + "/roles", params={"include_totals": "true"})).json()
    assert totals == {"start": 0, "limit": 50, "total": 1, "roles": [role]}
    assert_error(await mgmt.post(_user(users[0]) + "/roles", json={"roles": ["rol_nope"]}), 404, "inexistent_role")
    assert_error(await mgmt.get(_user("auth0|nobody") + "/roles"), 404, "inexistent_user")


async def test_user_permissions_direct_and_through_roles_with_sources(
    mgmt: httpx.AsyncClient, runtime: Runtime, api: str
) -> None:
    user_id = await make_user(runtime, "perm@example.com")
    role = await _role(mgmt, "readers")
    assert (await mgmt.post(f"/api/v2/roles/{role['id']}/permissions", json=_perms(READ))).status_code == 201
    assert (await mgmt.post(_user(user_id) + "/roles", json={"roles": [role["id"]]})).status_code == 204
    assert (await mgmt.post(_user(user_id) + "/permissions", json=_perms(READ, WRITE))).status_code == 201
    listed = (await mgmt.get(_user(user_id) + "/permissions")).json()
    assert [p["permission_name"] for p in listed] == [READ, WRITE]
    assert listed[0]["sources"] == [
        {"source_id": "", "source_name": "", "source_type": "DIRECT"},
        {"source_id": role["id"], "source_name": "readers", "source_type": "ROLE"},
    ]
    assert listed[1]["sources"] == [{"source_id": "", "source_name": "", "source_type": "DIRECT"}]
    assert listed[1]["resource_server_name"] == "Posts" and listed[1]["description"] == "Write posts"
    r = await mgmt.request("DELETE", _user(user_id) + "/permissions", json=_perms(READ))
    assert r.status_code == 204
    listed = (await mgmt.get(_user(user_id) + "/permissions", params={"include_totals": "true"})).json()
    assert listed["total"] == 2, "read:posts is still held through the role"
    assert listed["permissions"][0]["sources"] == [
        {"source_id": role["id"], "source_name": "readers", "source_type": "ROLE"}
    ]
    assert_error(await mgmt.post(_user(user_id) + "/permissions", json=_perms("nope")), 400, "invalid_permission")
    assert_error(await mgmt.post(_user("auth0|nobody") + "/permissions", json=_perms(READ)), 404, "inexistent_user")


async def test_deleting_the_api_the_role_and_the_user_takes_their_rows(
    mgmt: httpx.AsyncClient, runtime: Runtime, api: str
) -> None:
    user_id = await make_user(runtime, "gone@example.com")
    role = await _role(mgmt, "temp")
    await mgmt.post(f"/api/v2/roles/{role['id']}/permissions", json=_perms(READ))
    await mgmt.post(_user(user_id) + "/permissions", json=_perms(WRITE))
    await mgmt.post(_user(user_id) + "/roles", json={"roles": [role["id"]]})

    async def count(model: Any) -> int:
        async with runtime.db.read() as s:
            return int(await s.scalar(select(func.count()).select_from(model)) or 0)

    assert (await count(RolePermission), await count(UserPermission), await count(UserRole)) == (1, 1, 1)
    assert (await mgmt.delete(f"/api/v2/resource-servers/{api}")).status_code == 204
    assert (await count(RolePermission), await count(UserPermission)) == (0, 0)
    assert (await mgmt.delete(_user(user_id))).status_code == 204
    assert await count(UserRole) == 0
    other = await make_user(runtime, "other@example.com")
    await mgmt.post(_user(other) + "/roles", json={"roles": [role["id"]]})
    assert (await mgmt.delete(f"/api/v2/roles/{role['id']}")).status_code == 204
    assert await count(UserRole) == 0


async def test_each_operation_needs_its_scope(client: httpx.AsyncClient, runtime: Runtime) -> None:
    reader = await token_with(client, runtime, "read:roles")
    assert (await client.get("/api/v2/roles", headers=reader)).status_code == 200
    assert_error(await client.post("/api/v2/roles", json={"name": "x"}, headers=reader), 403, "insufficient_scope")
    users_only = await token_with(client, runtime, "read:users")
    assert_error(await client.get("/api/v2/roles", headers=users_only), 403, "insufficient_scope")
    assert_error(await client.get("/api/v2/roles"), 401, "missing_authorization")
