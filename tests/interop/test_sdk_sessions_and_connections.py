"""clients.connections.get, users/{id}/sessions and users/{id}/refresh-tokens (and sessions/{id},
refresh-tokens/{id}, user-blocks) through auth0-python 6.x against ``consentry serve`` and through the node
``auth0`` SDK against an https Consentry: the SDKs' own models and pagers parse Consentry's answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from auth0.management import Auth0

from tests.interop.harness import PASSWORD, Admin, LiveServer, unique
from tests.interop.node_client import NodeScript
from tests.support.flow import hidden

pytestmark = pytest.mark.interop
CALLBACK = "https://app.example.com/callback"


def _browser_sign_in(server: LiveServer, app: dict[str, Any], email: str) -> None:
    """A sign-in through the login page: one SSO session."""
    with httpx.Client(verify=server.verify()) as browser:
        r = browser.get(
            server.url("authorize"),
            params={
                "client_id": app["client_id"],
                "redirect_uri": CALLBACK,
                "response_type": "code",
                "scope": "openid",
            },
        )
        page = browser.get(r.headers["location"])
        form = {"state": hidden(page.text, "state"), "csrf": hidden(page.text, "csrf")}
        signed_in = browser.post(server.url("u/login"), data={**form, "username": email, "password": PASSWORD})
        assert signed_in.status_code == 303, signed_in.text[:300]


def _refresh_token(server: LiveServer, app: dict[str, Any], api: dict[str, Any], email: str) -> dict[str, Any]:
    r = httpx.post(
        server.url("oauth/token"),
        verify=server.verify(),
        data={
            "grant_type": "password",
            "username": email,
            "password": PASSWORD,
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "audience": api["identifier"],
            "scope": "openid offline_access read:things",
        },
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _setup(server: LiveServer, admin: Admin) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    api = admin.api(["read:things"])
    app = admin.app("regular_web", [CALLBACK], grant_types=["authorization_code", "password", "refresh_token"])
    user = admin.user()
    _browser_sign_in(server, app, user["email"])
    _refresh_token(server, app, api, user["email"])
    return api, app, user


def test_auth0_python(live: LiveServer, admin: Admin) -> None:
    api, app, user = _setup(live, admin)
    sdk = Auth0(base_url=f"{live.issuer}api/v2", token=admin.http.headers["Authorization"].removeprefix("Bearer "))

    names = {c.name for c in sdk.clients.connections.get(app["client_id"])}
    assert "Username-Password-Authentication" in names

    sessions = list(sdk.users.sessions.list(user["user_id"]))
    assert len(sessions) == 1 and sessions[0].user_id == user["user_id"]
    assert sdk.sessions.get(sessions[0].id).id == sessions[0].id

    tokens = list(sdk.users.refresh_token.list(user["user_id"]))
    assert len(tokens) == 1 and tokens[0].client_id == app["client_id"]
    assert tokens[0].resource_servers and tokens[0].resource_servers[0].audience == api["identifier"]
    assert sdk.refresh_tokens.get(tokens[0].id).id == tokens[0].id
    sdk.refresh_tokens.delete(tokens[0].id)
    assert list(sdk.users.refresh_token.list(user["user_id"])) == []

    _refresh_token(live, app, api, user["email"])
    sdk.users.refresh_token.delete(user["user_id"])
    assert list(sdk.users.refresh_token.list(user["user_id"])) == []
    sdk.sessions.delete(sessions[0].id)
    _browser_sign_in(live, app, user["email"])
    assert len(list(sdk.users.sessions.list(user["user_id"]))) == 1
    sdk.users.sessions.delete(user["user_id"])
    assert list(sdk.users.sessions.list(user["user_id"])) == []

    assert sdk.user_blocks.list_by_identifier(identifier=user["email"]).blocked_for == []
    assert sdk.user_blocks.list(user["user_id"]).blocked_for == []


async def test_node_auth0_sdk(https_live: LiveServer, ca_file: Path) -> None:
    admin = Admin(https_live)
    try:
        api, app, user = _setup(https_live, admin)
    finally:
        admin.close()
    creds = https_live.cli("admin", "create-client", "--name", unique("node-sessions"))
    env = {
        "DOMAIN": urlsplit(https_live.issuer).netloc,
        "CLIENT_ID": creds["client_id"],
        "CLIENT_SECRET": creds["client_secret"],
        "APP_ID": app["client_id"],
        "USER_ID": user["user_id"],
        "NODE_EXTRA_CA_CERTS": str(ca_file),
    }
    async with NodeScript("auth0_sdk_sessions.mjs", env) as script:
        out = await script.read(timeout=90)
    assert "result" in out, out
    r = out["result"]
    assert "Username-Password-Authentication" in r["connections"]
    assert r["sessions"] == 1 and r["session_user"] == user["user_id"] and r["session_again"]
    assert r["tokens"] == 1 and r["token_client"] == app["client_id"] and r["token_audience"] == api["identifier"]
    assert r["tokens_after_delete"] == 0 and r["sessions_after_delete"] == 0
