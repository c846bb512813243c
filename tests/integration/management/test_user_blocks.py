"""user-blocks: the pairs the login throttle blocks (by identifier or user id), and lifting them."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from consentry.runtime import Runtime
from tests.integration.management.helpers import assert_error

DB = "Username-Password-Authentication"
PASSWORD = "correct horse battery"


async def _app_and_user(mgmt: httpx.AsyncClient) -> tuple[dict[str, Any], str]:
    r = await mgmt.post("/api/v2/clients", json={"name": "Web", "app_type": "regular_web", "grant_types": ["password"]})
    assert r.status_code == 201, r.text
    user = await mgmt.post(
        "/api/v2/users", json={"connection": DB, "email": "ann@example.com", "username": "ann", "password": PASSWORD}
    )
    assert user.status_code == 201, user.text
    return r.json(), user.json()["user_id"]


async def _password_grant(client: httpx.AsyncClient, app: dict[str, Any], username: str, password: str) -> int:
    r = await client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": username,
            "password": password,
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
        },
    )
    return r.status_code


async def test_blocks_follow_the_login_throttle(mgmt: httpx.AsyncClient, runtime: Runtime) -> None:
    app, user_id = await _app_and_user(mgmt)
    assert (await mgmt.get("/api/v2/user-blocks", params={"identifier": "ann@example.com"})).json() == {
        "blocked_for": []
    }
    for _ in range(runtime.settings.login_max_failures):
        assert await _password_grant(mgmt, app, "ann@example.com", "wrong password") == 403
    assert await _password_grant(mgmt, app, "ann@example.com", PASSWORD) == 429  # blocked now
    blocked = {"blocked_for": [{"identifier": "ann@example.com", "ip": "127.0.0.1"}]}
    assert (await mgmt.get("/api/v2/user-blocks", params={"identifier": "Ann@Example.com"})).json() == blocked
    assert (await mgmt.get(f"/api/v2/user-blocks/{quote(user_id, safe='')}")).json() == blocked
    assert (await mgmt.get("/api/v2/user-blocks", params={"identifier": "ann"})).json() == {"blocked_for": []}

    assert (await mgmt.delete("/api/v2/user-blocks", params={"identifier": "ann@example.com"})).status_code == 204
    assert (await mgmt.get(f"/api/v2/user-blocks/{quote(user_id, safe='')}")).json() == {"blocked_for": []}
    assert await _password_grant(mgmt, app, "ann@example.com", PASSWORD) == 200


async def test_unblock_by_user_id(mgmt: httpx.AsyncClient, runtime: Runtime) -> None:
    app, user_id = await _app_and_user(mgmt)
    for _ in range(runtime.settings.login_max_failures):
        await _password_grant(mgmt, app, "ann", "wrong password")
    path = f"/api/v2/user-blocks/{quote(user_id, safe='')}"
    assert (await mgmt.get(path)).json() == {"blocked_for": [{"identifier": "ann", "ip": "127.0.0.1"}]}
    assert (await mgmt.delete(path)).status_code == 204
    assert (await mgmt.get(path)).json() == {"blocked_for": []}


async def test_errors(mgmt: httpx.AsyncClient) -> None:
    assert_error(await mgmt.get("/api/v2/user-blocks"), 400, "invalid_query_string")
    assert_error(await mgmt.get("/api/v2/user-blocks/auth0%7Cnobody"), 404, "inexistent_user")
    assert_error(await mgmt.delete("/api/v2/user-blocks/auth0%7Cnobody"), 404, "inexistent_user")
