"""/api/v2/users: create/get/patch/delete, the ``q`` search subset, users-by-email, cascades and error paths."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import select

from consentry.login.passwords import verify_password
from consentry.runtime import Runtime
from consentry.services.user_grants import upsert_grant
from consentry.storage.models import RefreshToken, User
from tests.integration.management.helpers import (
    assert_error,
    make_refresh_token,
    make_third_party_client,
    token_with,
)

DB = "Username-Password-Authentication"
PASSWORD = "correct horse battery"


async def _create(mgmt: httpx.AsyncClient, email: str, **extra: object) -> dict[str, object]:
    r = await mgmt.post("/api/v2/users", json={"connection": DB, "email": email, "password": PASSWORD, **extra})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def _url(user_id: object) -> str:
    return f"/api/v2/users/{quote(str(user_id), safe='')}"


async def test_create_returns_the_auth0_user_shape(mgmt: httpx.AsyncClient) -> None:
    user = await _create(mgmt, "Ann@Example.com", username="ann", given_name="Ann", user_metadata={"theme": "dark"})
    assert str(user["user_id"]).startswith("auth0|")
    assert user["email"] == "ann@example.com" and user["email_verified"] is False and user["username"] == "ann"
    assert user["name"] == "ann@example.com" and user["nickname"] == "ann" and user["given_name"] == "Ann"
    assert user["identities"] == [
        {"connection": DB, "provider": "auth0", "isSocial": False, "user_id": str(user["user_id"]).split("|")[1]}
    ]
    assert user["user_metadata"] == {"theme": "dark"} and user["app_metadata"] == {} and user["blocked"] is False
    assert "password" not in user and "password_hash" not in user
    assert str(user["created_at"]).endswith("Z")
    assert (await _create(mgmt, "custom@example.com", user_id="my-id-1"))["user_id"] == "auth0|my-id-1"


async def test_create_errors_write_nothing(mgmt: httpx.AsyncClient) -> None:
    await _create(mgmt, "ann@example.com", username="ann")
    assert_error(
        await mgmt.post("/api/v2/users", json={"connection": DB, "email": "ANN@example.com", "password": PASSWORD}),
        409,
        "auth0_idp_error",
    )
    assert_error(
        await mgmt.post(
            "/api/v2/users", json={"connection": DB, "email": "x@example.com", "username": "ann", "password": PASSWORD}
        ),
        409,
        "auth0_idp_error",
    )
    for body in (
        {"email": "x@example.com", "password": PASSWORD},
        {"connection": DB, "email": "x@example.com"},
        {"connection": DB, "email": "not-an-email", "password": PASSWORD},
        {"connection": DB, "email": 5, "password": PASSWORD},
        {"connection": DB, "email": "x@example.com", "password": PASSWORD, "blocked": "true"},
        {"connection": DB, "email": "x@example.com", "password": PASSWORD, "unknown": 1},
        {"connection": DB, "email": "x@example.com", "password": PASSWORD, "user_metadata": [1]},
        {"connection": DB, "email": "x@example.com", "password": PASSWORD, "username": "a b"},
        {"connection": DB, "email": "x@example.com", "password": PASSWORD, "user_metadata": {"big": "x" * 17000}},
    ):
        assert_error(await mgmt.post("/api/v2/users", json=body), 400, "invalid_body")
    assert_error(
        await mgmt.post("/api/v2/users", json={"connection": DB, "email": "x@example.com", "password": "short"}),
        400,
        "invalid_password",
    )
    assert_error(
        await mgmt.post("/api/v2/users", json={"connection": "Nope", "email": "x@example.com", "password": PASSWORD}),
        400,
        "inexistent_connection",
    )
    r = await mgmt.post("/api/v2/users", content=b'{"connection":', headers={"content-type": "application/json"})
    assert_error(r, 400, "invalid_body")
    assert [u["email"] for u in (await mgmt.get("/api/v2/users")).json()] == ["ann@example.com"]


async def test_get_and_unknown_ids(mgmt: httpx.AsyncClient) -> None:
    user = await _create(mgmt, "ann@example.com")
    assert (await mgmt.get(_url(user["user_id"]))).json() == user
    only = (await mgmt.get(_url(user["user_id"]), params={"fields": "email,user_id"})).json()
    assert only == {"email": "ann@example.com", "user_id": user["user_id"]}
    without = (await mgmt.get(_url(user["user_id"]), params={"fields": "identities", "include_fields": "false"})).json()
    assert "identities" not in without and without["email"] == "ann@example.com"
    for method in ("GET", "PATCH", "DELETE"):
        r = await mgmt.request(method, _url("auth0|nobody"), json={} if method == "PATCH" else None)
        assert_error(r, 404, "inexistent_user")
    assert_error(await mgmt.get(_url("auth0|nobody") + "/permissions"), 404, "inexistent_user")


async def test_patch_password_email_blocked_and_metadata_merge(mgmt: httpx.AsyncClient, runtime: Runtime) -> None:
    user = await _create(
        mgmt,
        "ann@example.com",
        user_metadata={"a": 1, "nested": {"x": 1, "y": 2}, "drop": True},
        app_metadata={"plan": "free"},
    )
    r = await mgmt.patch(
        _url(user["user_id"]),
        json={
            "password": "a brand new password",
            "email": "ANN2@example.com",
            "blocked": True,
            "name": "Ann A.",
            "user_metadata": {"b": 2, "nested": {"z": 3}, "drop": None},
            "connection": DB,
        },
    )
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["email"] == "ann2@example.com" and got["blocked"] is True and got["name"] == "Ann A."
    assert got["user_metadata"] == {"a": 1, "b": 2, "nested": {"z": 3}}
    assert got["app_metadata"] == {"plan": "free"}
    async with runtime.db.read() as s:
        row = await s.get(User, str(user["user_id"]))
        assert row is not None and row.password_hash and row.password_hash.startswith("$argon2id$")
        assert verify_password(row.password_hash, "a brand new password")
    verified = await mgmt.patch(_url(user["user_id"]), json={"email_verified": True})
    assert verified.json()["email_verified"] is True
    moved = await mgmt.patch(_url(user["user_id"]), json={"email": "ann3@example.com"})
    assert moved.json()["email_verified"] is False
    cleared = await mgmt.patch(_url(user["user_id"]), json={"app_metadata": {}, "name": None})
    assert cleared.json()["app_metadata"] == {} and cleared.json()["name"] == "ann3@example.com"


async def test_patch_errors_write_nothing(mgmt: httpx.AsyncClient) -> None:
    ann = await _create(mgmt, "ann@example.com", username="ann")
    await _create(mgmt, "bob@example.com", username="bob")
    url = _url(ann["user_id"])
    assert_error(await mgmt.patch(url, json={"email": "BOB@example.com"}), 409, "user_exists")
    assert_error(await mgmt.patch(url, json={"username": "bob"}), 409, "user_exists")
    assert_error(await mgmt.patch(url, json={"password": "short"}), 400, "invalid_password")
    for body in (
        {"email": "nope"},
        {"blocked": "yes"},
        {"user_id": "auth0|x"},
        {"app_metadata": "x"},
        {"connection": "Other"},
        {"created_at": "now"},
        {"email_verified": 1},
    ):
        assert_error(await mgmt.patch(url, json=body), 400, "invalid_body")
    assert_error(
        await mgmt.patch(url, content=b"nope", headers={"content-type": "application/json"}), 400, "invalid_body"
    )
    assert (await mgmt.get(url)).json() == ann


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ('email:"ann@example.com"', ["ann"]),
        ("email:ANN@example.com", ["ann"]),
        ("email:*@corp.example", ["carol", "dave"]),
        ("name:Carol", ["carol"]),
        ('name:"Dave Smith"', ["dave"]),
        ("name:ann@example.com", ["ann"]),
        ("username:bob", ["bob"]),
        ("corp", ["carol", "dave"]),
        ("smith", ["dave"]),
        ("blocked:true", ["bob"]),
        ("email_verified:false AND blocked:false", ["ann", "carol", "dave"]),
        ("username:bob OR name:carol", ["bob", "carol"]),
        ('identities.connection:"Username-Password-Authentication"', ["ann", "bob", "carol", "dave"]),
        ("email:%", []),
        ("email:ann_example.com", []),
    ],
)
async def test_search(mgmt: httpx.AsyncClient, q: str, expected: list[str]) -> None:
    ids = {}
    ids["ann"] = (await _create(mgmt, "ann@example.com"))["user_id"]
    ids["bob"] = (await _create(mgmt, "bob@example.com", username="bob", blocked=True))["user_id"]
    ids["carol"] = (await _create(mgmt, "carol@corp.example", name="Carol"))["user_id"]
    ids["dave"] = (await _create(mgmt, "dave@corp.example", name="Dave Smith"))["user_id"]
    names = {v: k for k, v in ids.items()}
    r = await mgmt.get("/api/v2/users", params={"q": q, "search_engine": "v3"})
    assert r.status_code == 200, r.text
    assert sorted(names[u["user_id"]] for u in r.json()) == expected


async def test_search_by_user_id_and_paging_with_length(mgmt: httpx.AsyncClient) -> None:
    users = [await _create(mgmt, f"u{i}@example.com") for i in range(5)]
    r = await mgmt.get("/api/v2/users", params={"q": f'user_id:"{users[2]["user_id"]}"'})
    assert [u["email"] for u in r.json()] == ["u2@example.com"]
    page = (await mgmt.get("/api/v2/users", params={"include_totals": "true", "per_page": 2, "page": 1})).json()
    assert {k: page[k] for k in ("start", "limit", "length", "total")} == {
        "start": 2,
        "limit": 2,
        "length": 2,
        "total": 5,
    }
    assert [u["email"] for u in page["users"]] == ["u2@example.com", "u3@example.com"]
    desc = (await mgmt.get("/api/v2/users", params={"sort": "email:-1", "per_page": 1})).json()
    assert desc[0]["email"] == "u4@example.com"
    past = (await mgmt.get("/api/v2/users", params={"include_totals": "true", "page": 3, "per_page": 2})).json()
    assert past["users"] == [] and past["length"] == 0


@pytest.mark.parametrize(
    "q",
    [
        'email:"unterminated',
        "(email:a)",
        "email:a OR",
        "AND email:a",
        "bogus:field",
        "email:a~",
        "name:[a TO z]",
        "-email:a",
        "email:",
        "email:a:b",
        "blocked:maybe",
        "email:x\\",
        "*",
    ],
)
async def test_unparseable_queries_are_400(mgmt: httpx.AsyncClient, q: str) -> None:
    assert_error(await mgmt.get("/api/v2/users", params={"q": q}), 400, "invalid_query_string")


async def test_sql_metacharacters_are_plain_data(mgmt: httpx.AsyncClient) -> None:
    await _create(mgmt, "ann@example.com")
    for q in ('email:"\' OR 1=1 --"', "'; DROP TABLE users; --", 'name:"a\\" OR \\"1\\"=\\"1"'):
        r = await mgmt.get("/api/v2/users", params={"q": q})
        assert r.status_code in (200, 400) and (r.status_code == 400 or r.json() == []), (q, r.text)
    assert len((await mgmt.get("/api/v2/users")).json()) == 1


async def test_users_by_email_is_a_bare_array(mgmt: httpx.AsyncClient) -> None:
    user = await _create(mgmt, "ann@example.com")
    r = await mgmt.get("/api/v2/users-by-email", params={"email": "ANN@example.com"})
    assert r.json() == [user]
    assert (await mgmt.get("/api/v2/users-by-email", params={"email": "nobody@example.com"})).json() == []
    assert (
        await mgmt.get("/api/v2/users-by-email", params={"email": "ann@example.com", "fields": "user_id"})
    ).json() == [{"user_id": user["user_id"]}]
    assert_error(await mgmt.get("/api/v2/users-by-email"), 400, "invalid_query_string")


async def test_permissions_is_an_empty_paged_list(mgmt: httpx.AsyncClient) -> None:
    user = await _create(mgmt, "ann@example.com")
    r = await mgmt.get(_url(user["user_id"]) + "/permissions", params={"include_totals": "true"})
    assert r.json() == {"start": 0, "limit": 50, "total": 0, "permissions": []}
    assert (await mgmt.get(_url(user["user_id"]) + "/permissions")).json() == []


async def test_delete_cascades_grants_and_refresh_tokens(mgmt: httpx.AsyncClient, runtime: Runtime) -> None:
    user = await _create(mgmt, "ann@example.com")
    uid = str(user["user_id"])
    await mgmt.post(
        "/api/v2/resource-servers", json={"identifier": "https://api.example.com", "scopes": [{"value": "read:x"}]}
    )
    app = await make_third_party_client(runtime)
    async with runtime.db.transaction() as s:
        grant = await upsert_grant(
            runtime, s, user_id=uid, client_id=app, audience="https://api.example.com", scopes=["read:x"]
        )
    await make_refresh_token(runtime, user_id=uid, client_id=app, grant_id=grant.id)
    assert (await mgmt.delete(_url(uid))).status_code == 204
    assert_error(await mgmt.get(_url(uid)), 404, "inexistent_user")
    assert (await mgmt.get("/api/v2/grants", params={"user_id": uid})).json() == []
    async with runtime.db.read() as s:
        assert (await s.scalars(select(RefreshToken).where(RefreshToken.user_id == uid))).all() == []


async def test_scopes_are_enforced(client: httpx.AsyncClient, runtime: Runtime) -> None:
    headers = await token_with(client, runtime, "read:users")
    assert (await client.get("/api/v2/users", headers=headers)).status_code == 200
    assert (await client.get("/api/v2/users-by-email?email=a@b.c", headers=headers)).status_code == 200
    body = {"connection": DB, "email": "x@example.com", "password": PASSWORD}
    assert_error(await client.post("/api/v2/users", json=body, headers=headers), 403, "insufficient_scope")
    assert_error(await client.patch(_url("auth0|x"), json={}, headers=headers), 403, "insufficient_scope")
    assert_error(await client.delete(_url("auth0|x"), headers=headers), 403, "insufficient_scope")
