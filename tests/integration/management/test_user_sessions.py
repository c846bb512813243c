"""users/{id}/sessions, sessions/{id}, users/{id}/refresh-tokens and refresh-tokens/{id}: Auth0's shapes and
paging; ending sessions signs the user out; deleting a refresh token revokes its family and its access tokens."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from consentry.runtime import Runtime
from tests.integration.management.helpers import assert_error, token_with
from tests.support.flow import authorize, exchange, login, pkce_pair

DB = "Username-Password-Authentication"
PASSWORD = "correct horse battery"
API = "https://notes.example.com"
CALLBACK = "https://app.example.com/callback"


async def _setup(mgmt: httpx.AsyncClient) -> tuple[dict[str, Any], str]:
    """A first-party web app with the code and refresh grants, an API allowing offline access, and a user."""
    r = await mgmt.post(
        "/api/v2/resource-servers",
        json={"identifier": API, "name": "Notes", "allow_offline_access": True, "scopes": [{"value": "read:notes"}]},
    )
    assert r.status_code == 201, r.text
    r = await mgmt.post(
        "/api/v2/clients",
        json={
            "name": "Web",
            "app_type": "regular_web",
            "callbacks": [CALLBACK],
            "grant_types": ["authorization_code", "refresh_token", "password"],
        },
    )
    assert r.status_code == 201, r.text
    app = r.json()
    r = await mgmt.post("/api/v2/users", json={"connection": DB, "email": "ann@example.com", "password": PASSWORD})
    assert r.status_code == 201, r.text
    return app, r.json()["user_id"]


async def _sign_in(client: httpx.AsyncClient, app: dict[str, Any]) -> dict[str, Any]:
    """A browser sign-in (a new SSO session) and the code exchange (a refresh token bound to that session)."""
    client.cookies.clear()
    verifier, challenge = pkce_pair()
    params = {
        "client_id": app["client_id"],
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": "openid offline_access read:notes",
        "audience": API,
        "state": "st",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    step = await login(client, await authorize(client, params), "ann@example.com", PASSWORD)
    code = step.params["code"]
    r = await exchange(client, code, app["client_id"], CALLBACK, verifier, app["client_secret"])
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _user(user_id: str, tail: str) -> str:
    return f"/api/v2/users/{quote(user_id, safe='')}/{tail}"


async def test_sessions_list_get_and_delete(mgmt: httpx.AsyncClient, runtime: Runtime) -> None:
    app, user_id = await _setup(mgmt)
    await _sign_in(mgmt, app)
    r = await mgmt.get(_user(user_id, "sessions"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"sessions"} and len(body["sessions"]) == 1
    session = body["sessions"][0]
    assert session["user_id"] == user_id and session["clients"] == [{"client_id": app["client_id"]}]
    assert {"created_at", "updated_at", "authenticated_at", "expires_at", "last_interacted_at"} <= set(session)
    assert session["authentication"]["methods"][0]["name"] == "pwd"
    one = await mgmt.get(f"/api/v2/sessions/{session['id']}")
    assert one.status_code == 200 and one.json()["id"] == session["id"]

    r = await mgmt.delete(f"/api/v2/sessions/{session['id']}")
    assert r.status_code == 202
    assert_error(await mgmt.get(f"/api/v2/sessions/{session['id']}"), 404, "inexistent_session")
    assert (await mgmt.get(_user(user_id, "sessions"))).json() == {"sessions": []}
    # signed out: the next /authorize asks for a login again
    step = await authorize(
        mgmt,
        {"client_id": app["client_id"], "redirect_uri": CALLBACK, "response_type": "code", "scope": "openid"},
    )
    assert step.on_login


async def test_delete_all_sessions_and_paging(mgmt: httpx.AsyncClient) -> None:
    app, user_id = await _setup(mgmt)
    for _ in range(3):  # three browsers
        await _sign_in(mgmt, app)
    first = (await mgmt.get(_user(user_id, "sessions"), params={"take": 2})).json()
    assert len(first["sessions"]) == 2 and first["next"]
    rest = (await mgmt.get(_user(user_id, "sessions"), params={"take": 2, "from": first["next"]})).json()
    assert len(rest["sessions"]) == 1 and "next" not in rest
    ids = {s["id"] for s in first["sessions"] + rest["sessions"]}
    assert len(ids) == 3
    assert (await mgmt.delete(_user(user_id, "sessions"))).status_code == 202
    assert (await mgmt.get(_user(user_id, "sessions"))).json() == {"sessions": []}


async def test_refresh_tokens_list_and_delete_one_family(mgmt: httpx.AsyncClient, runtime: Runtime) -> None:
    app, user_id = await _setup(mgmt)
    tokens = await _sign_in(mgmt, app)
    other = await _sign_in(mgmt, app)
    r = await mgmt.get(_user(user_id, "refresh-tokens"))
    assert r.status_code == 200, r.text
    listed = r.json()["tokens"]
    assert len(listed) == 2
    entry = listed[0]
    assert entry["user_id"] == user_id and entry["client_id"] == app["client_id"] and entry["session_id"]
    assert entry["resource_servers"] == [{"audience": API, "scopes": "openid offline_access read:notes"}]
    assert entry["rotating"] is True and "idle_expires_at" in entry and "created_at" in entry
    # refresh once: the family's entry stays one, with when it was last exchanged
    r = await mgmt.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
        },
    )
    assert r.status_code == 200, r.text
    rotated = r.json()
    listed = (await mgmt.get(_user(user_id, "refresh-tokens"))).json()["tokens"]
    assert len(listed) == 2 and sum("last_exchanged_at" in t for t in listed) == 1
    family = next(t["id"] for t in listed if "last_exchanged_at" in t)
    assert (await mgmt.get(f"/api/v2/refresh-tokens/{family}")).json()["id"] == family

    assert (await mgmt.delete(f"/api/v2/refresh-tokens/{family}")).status_code == 202
    assert_error(await mgmt.get(f"/api/v2/refresh-tokens/{family}"), 404, "inexistent_refresh_token")
    # the family's refresh token no longer works and its access tokens are inactive; the other family lives on
    r = await mgmt.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": rotated["refresh_token"],
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
        },
    )
    assert r.status_code in (400, 403) and r.json()["error"] == "invalid_grant"
    for access_token, active in ((rotated["access_token"], False), (tokens["access_token"], False)):
        r = await mgmt.post(
            "/oauth/introspect",
            data={"token": access_token, "client_id": app["client_id"], "client_secret": app["client_secret"]},
        )
        assert r.json()["active"] is active, r.json()
    r = await mgmt.post(
        "/oauth/introspect",
        data={"token": other["access_token"], "client_id": app["client_id"], "client_secret": app["client_secret"]},
    )
    assert r.json()["active"] is True
    assert family not in [t["id"] for t in (await mgmt.get(_user(user_id, "refresh-tokens"))).json()["tokens"]]


async def test_delete_all_refresh_tokens(mgmt: httpx.AsyncClient) -> None:
    app, user_id = await _setup(mgmt)
    tokens = await _sign_in(mgmt, app)
    assert (await mgmt.delete(_user(user_id, "refresh-tokens"))).status_code == 202
    assert (await mgmt.get(_user(user_id, "refresh-tokens"))).json() == {"tokens": []}
    r = await mgmt.post(
        "/oauth/introspect",
        data={"token": tokens["access_token"], "client_id": app["client_id"], "client_secret": app["client_secret"]},
    )
    assert r.json() == {"active": False}


async def test_errors_and_scopes(mgmt: httpx.AsyncClient, client: httpx.AsyncClient, runtime: Runtime) -> None:
    assert_error(await mgmt.get(_user("auth0|nobody", "sessions")), 404, "inexistent_user")
    assert_error(await mgmt.delete(_user("auth0|nobody", "refresh-tokens")), 404, "inexistent_user")
    assert_error(await mgmt.delete("/api/v2/sessions/nope"), 404, "inexistent_session")
    assert_error(await mgmt.delete("/api/v2/refresh-tokens/nope"), 404, "inexistent_refresh_token")
    assert_error(await mgmt.get(_user("auth0|x", "sessions"), params={"take": 0}), 400, "invalid_query_string")
    headers = await token_with(client, runtime, "read:users")
    r = await client.get(_user("auth0|x", "sessions"), headers=headers)
    assert_error(r, 403, "insufficient_scope")
