"""/api/v2/logs: audit events as Auth0 log events (its type codes and field set, absent rather than null), newest
first, paging and the ``from``/``take`` checkpoint, the ``q`` filter; and the OpenAPI document of the whole API."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from consentry.runtime import Runtime
from consentry.services import audit
from consentry.storage.models import AuditEvent
from tests.integration.management.helpers import assert_error, make_user, token_with


async def _events(runtime: Runtime) -> None:
    async with runtime.db.transaction() as s:
        now = runtime.clock.now()
        audit.record(s, now + 1, audit.CONSENT_GIVEN, "Consent given", user_id="auth0|ann", client_id="app1")
        audit.record(s, now + 2, audit.GRANT_REVOKED, "Grant revoked", user_id="auth0|ann", client_id="app2")
        audit.record(
            s, now + 3, audit.CONSENT_GIVEN, "Consent given", user_id="auth0|bob", client_id="app1", ip="127.0.0.1"
        )


async def test_newest_first_with_paging(mgmt: httpx.AsyncClient, runtime: Runtime) -> None:
    await _events(runtime)
    logs = (await mgmt.get("/api/v2/logs")).json()
    assert [e["user_id"] for e in logs[:3]] == ["auth0|bob", "auth0|ann", "auth0|ann"]
    first = logs[0]
    assert set(first) == {"log_id", "_id", "date", "type", "description", "hostname", "client_id", "user_id", "ip"}
    assert first["type"] == "consent.given" and first["date"].endswith("Z") and first["hostname"] == "testserver"
    assert set(logs[1]) == {"log_id", "_id", "date", "type", "description", "hostname", "client_id", "user_id"}
    page = (await mgmt.get("/api/v2/logs", params={"include_totals": "true", "per_page": 2})).json()
    assert page["length"] == 2 and page["total"] == len(logs) and page["logs"] == logs[:2]
    oldest = (await mgmt.get("/api/v2/logs", params={"sort": "date:1"})).json()
    assert oldest == list(reversed(logs))
    assert (await mgmt.get(f"/api/v2/logs/{first['log_id']}")).json() == first
    assert_error(await mgmt.get("/api/v2/logs/nope"), 404, "inexistent_log")
    assert_error(await mgmt.get("/api/v2/logs", params={"sort": "user_id:1"}), 400, "invalid_query_string")


async def test_q_filters(mgmt: httpx.AsyncClient, runtime: Runtime) -> None:
    await _events(runtime)

    async def users(q: str, param: str = "q") -> list[str]:
        r = await mgmt.get("/api/v2/logs", params={param: q})
        assert r.status_code == 200, r.text
        return [e["user_id"] for e in r.json()]

    assert await users("type:grant.revoked") == ["auth0|ann"]
    assert await users('user_id:"auth0|ann"') == ["auth0|ann", "auth0|ann"]
    assert await users("client_id:app1 AND type:consent.given") == ["auth0|bob", "auth0|ann"]
    assert await users("type:consent.* AND user_id:auth0|bob", "search") == ["auth0|bob"]
    assert await users("revoked") == ["auth0|ann"]
    for q in ("date:[1 TO 2]", "nope:x", 'type:"open'):
        assert_error(await mgmt.get("/api/v2/logs", params={"q": q}), 400, "invalid_query_string")


async def test_management_writes_are_logged(mgmt: httpx.AsyncClient) -> None:
    r = await mgmt.post("/api/v2/resource-servers", json={"identifier": "https://logged.example.com"})
    assert r.status_code == 201
    logs = (await mgmt.get("/api/v2/logs", params={"q": "type:api.created"})).json()  # Consentry's name still works
    assert len(logs) == 1 and logs[0]["details"]["identifier"] == "https://logged.example.com"
    assert logs[0]["details"]["actor"].endswith("@clients")
    # Auth0's code for a Management API operation, the caller's address, Consentry's name in details.event
    assert logs[0]["type"] == "sapi" and logs[0]["details"]["event"] == "api.created" and logs[0]["ip"] == "127.0.0.1"
    assert "client_id" not in logs[0] and "user_id" not in logs[0]  # absent, never null
    coded = (await mgmt.get("/api/v2/logs", params={"q": "type:sapi"})).json()
    assert logs[0]["log_id"] in {e["log_id"] for e in coded}


async def test_scope_is_enforced(client: httpx.AsyncClient, runtime: Runtime) -> None:
    headers = await token_with(client, runtime, "read:users")
    assert_error(await client.get("/api/v2/logs", headers=headers), 403, "insufficient_scope")
    headers = await token_with(client, runtime, "read:logs")
    assert (await client.get("/api/v2/logs", headers=headers)).status_code == 200


async def test_every_management_operation_is_documented(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/api/v2/openapi.json")).json()
    operations = [
        (path, method, op)
        for path, item in spec["paths"].items()
        if path.startswith("/api/v2/")
        for method, op in item.items()
    ]
    ids = [op.get("operationId") for _, _, op in operations]
    assert all(op.get("summary") for _, _, op in operations)
    assert len(ids) == len(set(ids)) and None not in ids
    for expected in (
        "get_resource_servers",
        "post_client_grants",
        "get_grants",
        "delete_grants_by_id",
        "get_users",
        "get_users_by_email",
        "get_connections",
        "patch_connection_clients",
        "get_settings",
        "patch_settings",
        "get_signing_keys",
        "post_signing_keys",
        "put_signing_keys",
        "get_logs",
    ):
        assert expected in ids, expected


async def _coded_events(runtime: Runtime) -> list[str]:
    """One event per kind, oldest first; returns their log ids."""
    kinds = ["client.created", "user.deleted", "refresh_token.revoked", "s", "f", "consent.given", "sepft"]
    async with runtime.db.transaction() as s:
        now = runtime.clock.now()
        for i, kind in enumerate(kinds):
            audit.record(s, now + 10 + i, kind, f"event {kind}")
    async with runtime.db.read() as s:
        rows = await s.scalars(select(AuditEvent.log_id).where(AuditEvent.date > now + 5).order_by(AuditEvent.date))
        return list(rows.all())


async def test_type_filters_on_auth0_codes(mgmt: httpx.AsyncClient, runtime: Runtime) -> None:
    await _coded_events(runtime)

    async def types(q: str) -> list[str]:
        r = await mgmt.get("/api/v2/logs", params={"q": q, "sort": "date:1", "per_page": 100})
        assert r.status_code == 200, r.text
        return [e["type"] for e in r.json() if e["description"].startswith("event ")]

    assert await types("type:sapi") == ["sapi"]
    assert await types("type:sdu") == ["sdu"]
    assert await types("type:s") == ["s"]  # exact: not sapi, sdu, srrt, sepft
    assert await types("type:s*") == ["sapi", "sdu", "srrt", "s", "sepft"]
    assert await types("type:f OR type:srrt") == ["srrt", "f"]
    assert await types("type:consent.given") == ["consent.given"]  # events Auth0 has no code for keep their name
    assert await types("type:user.deleted") == ["sdu"]  # Consentry's name selects too


async def test_checkpoint_reads_the_events_after_a_log_id(mgmt: httpx.AsyncClient, runtime: Runtime) -> None:
    ids = await _coded_events(runtime)

    async def after(log_id: str, **params: Any) -> list[str]:
        r = await mgmt.get("/api/v2/logs", params={"from": log_id, **params})
        assert r.status_code == 200, r.text
        assert isinstance(r.json(), list)
        return [e["log_id"] for e in r.json()]

    assert await after(ids[0], take=2) == ids[1:3]  # oldest first, after (not including) the checkpoint
    assert await after(ids[2], take=100) == ids[3:]
    assert await after(ids[-1], take=5) == []
    assert await after(ids[0], take=100, q="type:s*") == [ids[1], ids[2], ids[3], ids[6]]
    newest = (await mgmt.get("/api/v2/logs", params={"take": 2})).json()
    assert [e["log_id"] for e in newest] == [ids[-1], ids[-2]]  # take alone: the newest
    assert_error(await mgmt.get("/api/v2/logs", params={"from": "nope"}), 400, "invalid_query_string")
    assert_error(await mgmt.get("/api/v2/logs", params={"from": ids[0], "sort": "date:1"}), 400, "invalid_query_string")


async def test_events_name_their_application_and_user(mgmt: httpx.AsyncClient, runtime: Runtime) -> None:
    user_id = await make_user(runtime, "named@example.com")
    r = await mgmt.post("/api/v2/clients", json={"name": "Named App", "callbacks": ["https://named.example.com/cb"]})
    client_id = r.json()["client_id"]
    async with runtime.db.transaction() as s:
        audit.record(s, runtime.clock.now() + 50, audit.CONSENT_GIVEN, "named", client_id=client_id, user_id=user_id)
        audit.record(s, runtime.clock.now() + 51, audit.CONSENT_GIVEN, "gone", client_id="nope", user_id="auth0|nope")
    newest = (await mgmt.get("/api/v2/logs", params={"per_page": 2})).json()
    assert newest[0]["description"] == "gone"
    assert "client_name" not in newest[0] and "user_name" not in newest[0]  # no longer exist: absent
    assert newest[1]["client_name"] == "Named App" and newest[1]["user_name"] == "named@example.com"
    assert (await mgmt.get(f"/api/v2/logs/{newest[1]['log_id']}")).json() == newest[1]
