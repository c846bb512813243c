"""/api/v2/grants and the user-grant service: Auth0 shape, union of scopes, revocation kills refresh tokens (C2, C8)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import select

from consentry.runtime import Runtime
from consentry.services import audit
from consentry.services.user_grants import find_grant, revoke_grant, upsert_grant
from consentry.storage.models import AuditEvent
from tests.integration.management.helpers import (
    assert_error,
    make_refresh_token,
    make_third_party_client,
    make_user,
    refresh_token_revoked,
    token_with,
)

API = "https://api.example.com"
OTHER = "https://other.example.com"


@pytest.fixture
async def setup(mgmt: httpx.AsyncClient, runtime: Runtime) -> dict[str, str]:
    for identifier in (API, OTHER):
        r = await mgmt.post(
            "/api/v2/resource-servers",
            json={"identifier": identifier, "scopes": [{"value": "read:posts"}, {"value": "write:posts"}]},
        )
        assert r.status_code == 201
    return {
        "ann": await make_user(runtime, "ann@example.com"),
        "bob": await make_user(runtime, "bob@example.com"),
        "app": await make_third_party_client(runtime, "App"),
        "other_app": await make_third_party_client(runtime, "Other"),
    }


async def _grant(runtime: Runtime, user: str, client: str, audience: str, scopes: list[str]) -> str:
    async with runtime.db.transaction() as s:
        row = await upsert_grant(runtime, s, user_id=user, client_id=client, audience=audience, scopes=scopes)
        return row.id


async def test_upsert_is_one_grant_with_the_union_of_scopes(runtime: Runtime, setup: dict[str, str]) -> None:
    first = await _grant(runtime, setup["ann"], setup["app"], API, ["read:posts"])
    again = await _grant(runtime, setup["ann"], setup["app"], API, ["write:posts", "read:posts"])
    assert first == again and first.startswith("ugr_")
    async with runtime.db.read() as s:
        row = await find_grant(s, setup["ann"], setup["app"], API)
        assert row is not None and row.scope == ["read:posts", "write:posts"]
        assert await find_grant(s, setup["ann"], setup["app"], OTHER) is None


async def test_concurrent_upserts_keep_every_scope(runtime: Runtime, setup: dict[str, str]) -> None:
    await asyncio.gather(
        *(_grant(runtime, setup["ann"], setup["app"], API, [s]) for s in ("read:posts", "write:posts"))
    )
    async with runtime.db.read() as s:
        row = await find_grant(s, setup["ann"], setup["app"], API)
        assert row is not None and sorted(row.scope) == ["read:posts", "write:posts"]


async def test_list_shape_filters_and_paging(mgmt: httpx.AsyncClient, runtime: Runtime, setup: dict[str, str]) -> None:
    g1 = await _grant(runtime, setup["ann"], setup["app"], API, ["read:posts"])
    await _grant(runtime, setup["ann"], setup["app"], OTHER, ["write:posts"])
    await _grant(runtime, setup["ann"], setup["other_app"], API, ["read:posts"])
    await _grant(runtime, setup["bob"], setup["app"], API, ["read:posts"])
    listed = (await mgmt.get("/api/v2/grants")).json()
    assert len(listed) == 4
    assert listed[0] == {
        "id": g1,
        "clientID": setup["app"],
        "user_id": setup["ann"],
        "audience": API,
        "scope": ["read:posts"],
        "expires_at": None,  # Consentry: until revoked
    }
    assert len((await mgmt.get("/api/v2/grants", params={"user_id": setup["ann"]})).json()) == 3
    assert len((await mgmt.get("/api/v2/grants", params={"client_id": setup["app"]})).json()) == 3
    assert len((await mgmt.get("/api/v2/grants", params={"audience": OTHER})).json()) == 1
    assert (
        len(
            (
                await mgmt.get(
                    "/api/v2/grants", params={"user_id": setup["ann"], "audience": API, "client_id": setup["other_app"]}
                )
            ).json()
        )
        == 1
    )
    page = (await mgmt.get("/api/v2/grants", params={"include_totals": "true", "per_page": 3, "page": 1})).json()
    assert page["total"] == 4 and page["start"] == 3 and page["limit"] == 3 and len(page["grants"]) == 1
    assert (await mgmt.get("/api/v2/grants", params={"include_totals": "1", "page": 2, "per_page": 3})).json()[
        "grants"
    ] == []


async def test_delete_by_id_revokes_refresh_tokens_at_once(
    mgmt: httpx.AsyncClient, runtime: Runtime, setup: dict[str, str]
) -> None:
    gid = await _grant(runtime, setup["ann"], setup["app"], API, ["read:posts"])
    other = await _grant(runtime, setup["ann"], setup["app"], OTHER, ["read:posts"])
    tokens = [
        await make_refresh_token(runtime, user_id=setup["ann"], client_id=setup["app"], grant_id=gid) for _ in range(2)
    ]
    untouched = await make_refresh_token(runtime, user_id=setup["ann"], client_id=setup["app"], grant_id=other)
    r = await mgmt.delete(f"/api/v2/grants/{gid}")
    assert r.status_code == 204 and r.content == b""
    assert [await refresh_token_revoked(runtime, t) for t in tokens] == [True, True]
    assert await refresh_token_revoked(runtime, untouched) is False
    assert [g["id"] for g in (await mgmt.get("/api/v2/grants")).json()] == [other]
    async with runtime.db.read() as s:
        events = (await s.scalars(select(AuditEvent).where(AuditEvent.type == audit.GRANT_REVOKED))).all()
    assert len(events) == 1 and events[0].user_id == setup["ann"] and events[0].client_id == setup["app"]
    assert events[0].details["grant_id"] == gid and events[0].details["refresh_tokens_revoked"] == 2
    assert events[0].details["actor"].endswith("@clients")
    assert_error(await mgmt.delete(f"/api/v2/grants/{gid}"), 404, "inexistent_grant")


async def test_delete_by_user_id(mgmt: httpx.AsyncClient, runtime: Runtime, setup: dict[str, str]) -> None:
    a1 = await _grant(runtime, setup["ann"], setup["app"], API, ["read:posts"])
    await _grant(runtime, setup["ann"], setup["other_app"], OTHER, ["read:posts"])
    b1 = await _grant(runtime, setup["bob"], setup["app"], API, ["read:posts"])
    token = await make_refresh_token(runtime, user_id=setup["ann"], client_id=setup["app"], grant_id=a1)
    r = await mgmt.delete("/api/v2/grants", params={"user_id": setup["ann"]})
    assert r.status_code == 204
    assert [g["id"] for g in (await mgmt.get("/api/v2/grants")).json()] == [b1]
    assert await refresh_token_revoked(runtime, token) is True
    assert (await mgmt.delete("/api/v2/grants", params={"user_id": "auth0|nobody"})).status_code == 204
    assert_error(await mgmt.delete("/api/v2/grants"), 400, "invalid_query_string")


async def test_service_revoke_is_one_transaction(runtime: Runtime, setup: dict[str, str]) -> None:
    gid = await _grant(runtime, setup["ann"], setup["app"], API, ["read:posts"])
    token = await make_refresh_token(runtime, user_id=setup["ann"], client_id=setup["app"], grant_id=gid)
    with pytest.raises(RuntimeError):
        async with runtime.db.transaction() as s:
            await revoke_grant(runtime, s, gid, actor="test")
            raise RuntimeError("abort after revoking")
    assert await refresh_token_revoked(runtime, token) is False  # rolled back together
    async with runtime.db.read() as s:
        assert await find_grant(s, setup["ann"], setup["app"], API) is not None


async def test_scopes_are_enforced(client: httpx.AsyncClient, runtime: Runtime) -> None:
    headers = await token_with(client, runtime, "read:grants")
    assert (await client.get("/api/v2/grants", headers=headers)).status_code == 200
    assert_error(await client.delete("/api/v2/grants/x", headers=headers), 403, "insufficient_scope")
    assert_error(await client.delete("/api/v2/grants?user_id=x", headers=headers), 403, "insufficient_scope")
    headers = await token_with(client, runtime, "delete:grants")
    assert_error(await client.get("/api/v2/grants", headers=headers), 403, "insufficient_scope")
