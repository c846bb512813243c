"""/api/v2/logs: audit events newest first, paging, the ``q`` filter; and the OpenAPI document of the whole API."""

from __future__ import annotations

import httpx

from consentry.runtime import Runtime
from consentry.services import audit
from tests.integration.management.helpers import assert_error, token_with


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
    assert set(first) >= {"log_id", "date", "type", "description", "client_id", "user_id", "ip", "details"}
    assert first["type"] == "consent.given" and first["date"].endswith("Z")
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
    logs = (await mgmt.get("/api/v2/logs", params={"q": "type:api.created"})).json()
    assert len(logs) == 1 and logs[0]["details"]["identifier"] == "https://logged.example.com"
    assert logs[0]["details"]["actor"].endswith("@clients")


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
