"""The official MCP Python SDK client against Consentry and the example MCP server, end to end.

Consentry runs as ``consentry serve``; the Notes server (examples/mcp_server/server.py) as its own process.
The SDK's ``OAuthClientProvider`` does everything a real agent does: 401 → RFC 9728 metadata → RFC 8414
discovery → registration (DCR, or a Client ID Metadata Document URL) → ``/authorize`` with PKCE and RFC 8707
``resource`` → a headless Chromium logs in and consents on Consentry's pages → code exchange → tool calls.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from tests.interop.harness import ROOT, Admin, AppServer, LiveServer, authorize_in_browser, free_port, unique

pytestmark = pytest.mark.interop
SCOPES = ["read:notes", "write:notes"]


class NotesServer:
    """examples/mcp_server/server.py as a child process, stopped by its PID."""

    def __init__(self, issuer: str, workdir: Path) -> None:
        self.port = free_port()
        self.resource = f"http://127.0.0.1:{self.port}/mcp"
        self.log = workdir / f"notes-{self.port}.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    str(ROOT / "examples" / "mcp_server" / "server.py"),
                    "--port",
                    str(self.port),
                    "--issuer",
                    issuer,
                    "--log-level",
                    "warning",
                ],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        prm = f"http://127.0.0.1:{self.port}/.well-known/oauth-protected-resource/mcp"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the Notes server exited:\n{self.log.read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(prm, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("the Notes server did not start")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def register_notes_api(admin: Admin, resource: str) -> None:
    """What docs/agents.md tells an operator to do: API, default grant, DCR on, a domain-level connection."""
    r = admin.http.post(
        "/api/v2/resource-servers",
        json={
            "identifier": resource,
            "name": "Notes",
            "allow_offline_access": True,
            "scopes": [
                {"value": "read:notes", "description": "Read your notes"},
                {"value": "write:notes", "description": "Add notes"},
            ],
        },
    )
    assert r.status_code == 201, r.text
    r = admin.http.post(
        "/api/v2/client-grants",
        json={"default_for": "third_party_clients", "audience": resource, "scope": SCOPES, "subject_type": "user"},
    )
    assert r.status_code == 201, r.text
    r = admin.http.patch("/api/v2/tenants/settings", json={"flags": {"enable_dynamic_client_registration": True}})
    assert r.status_code == 200, r.text
    # SPEC T6: third-party apps log users in only through domain-level connections
    r = admin.http.get("/api/v2/connections", params={"name": "Username-Password-Authentication"})
    assert r.status_code == 200, r.text
    connection = r.json()[0]
    if not connection.get("is_domain_connection"):
        r = admin.http.patch(f"/api/v2/connections/{connection['id']}", json={"is_domain_connection": True})
        assert r.status_code == 200, r.text


class MemoryStorage:
    """The SDK's ``TokenStorage``: tokens and the registered client, kept in memory."""

    def __init__(self) -> None:
        self.tokens: Any = None
        self.client_info: Any = None

    async def get_tokens(self) -> Any:
        return self.tokens

    async def set_tokens(self, tokens: Any) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> Any:
        return self.client_info

    async def set_client_info(self, client_info: Any) -> None:
        self.client_info = client_info


async def run_agent(
    resource: str,
    issuer: str,
    context: Any,
    username: str,
    callback: str,
    client_metadata_url: str | None = None,
    auth_method: str = "none",
) -> dict[str, Any]:
    """The SDK client: authorize through the browser, add a note, list notes. Returns what it saw."""
    import httpx2
    from mcp.client.auth import OAuthClientProvider
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata

    seen: dict[str, Any] = {}

    async def redirect_handler(url: str) -> None:
        seen["authorize_url"] = url

    async def callback_handler() -> AuthorizationCodeResult:
        landed = await authorize_in_browser(context, seen["authorize_url"], callback, issuer, username)
        query = dict(parse_qsl(urlsplit(landed).query))
        seen["callback"] = query
        return AuthorizationCodeResult(code=query["code"], state=query.get("state"), iss=query.get("iss"))

    storage = MemoryStorage()
    provider = OAuthClientProvider(
        server_url=resource,
        client_metadata=OAuthClientMetadata(
            client_name=unique("agent"),
            redirect_uris=[callback],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method=auth_method,
        ),
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
        client_metadata_url=client_metadata_url,
    )
    async with (
        httpx2.AsyncClient(auth=provider, timeout=30) as http,
        streamable_http_client(resource, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        seen["added"] = await session.call_tool("add_note", {"text": "from an agent"})
        seen["listed"] = await session.call_tool("list_notes", {})
    seen["tokens"], seen["client"] = storage.tokens, storage.client_info
    return seen


def check_run(seen: dict[str, Any], resource: str, issuer: str) -> dict[str, str]:
    """What every run must show on the wire; returns the authorization request's parameters."""
    import jwt

    params = dict(parse_qsl(urlsplit(seen["authorize_url"]).query))
    assert params["resource"] == resource and params["code_challenge_method"] == "S256"
    assert set(params["scope"].split()) >= set(SCOPES)
    assert seen["callback"]["iss"] == issuer  # RFC 9207
    claims = jwt.decode(seen["tokens"].access_token, options={"verify_signature": False})
    assert claims["aud"] == resource and claims["iss"] == issuer
    assert set(claims["scope"].split()) == {*SCOPES, "offline_access"}  # the SDK asks for it: Consentry lists it
    assert seen["tokens"].refresh_token  # the API allows offline access
    assert not seen["added"].is_error and seen["added"].structured_content == {"saved": True, "count": 1}
    assert seen["listed"].structured_content == {"result": ["from an agent"]}
    return params


@pytest.fixture
def notes(live: LiveServer, admin: Admin, tmp_path: Path) -> Iterator[NotesServer]:
    server = NotesServer(live.issuer, tmp_path)
    try:
        register_notes_api(admin, server.resource)
        yield server
    finally:
        server.stop()


async def test_mcp_sdk_with_dynamic_client_registration(
    live: LiveServer, admin: Admin, notes: NotesServer, browser_context: Any, app_server: AppServer
) -> None:
    user = admin.user()
    callback = app_server.url("/callback")
    seen = await run_agent(
        notes.resource, live.issuer, browser_context, user["email"], callback, auth_method="client_secret_post"
    )
    params = check_run(seen, notes.resource, live.issuer)
    client = admin.http.get(f"/api/v2/clients/{params['client_id']}").json()
    assert client["is_first_party"] is False and client["registration_type"] == "dcr"
    assert client["third_party_security_mode"] == "strict"
    grants = admin.http.get("/api/v2/grants", params={"user_id": user["user_id"]}).json()
    assert [(g["clientID"], g["audience"], sorted(g["scope"])) for g in grants] == [
        (params["client_id"], notes.resource, sorted([*SCOPES, "offline_access"]))
    ]
    await revoke_on_connected_apps(live, browser_context, client["name"])
    refresh = httpx.post(
        live.url("oauth/token"),
        timeout=10,
        data={
            "grant_type": "refresh_token",
            "refresh_token": seen["tokens"].refresh_token,
            "client_id": params["client_id"],
            "client_secret": seen["client"].client_secret,
        },
    )
    assert refresh.status_code == 403 and refresh.json()["error"] == "invalid_grant"


async def revoke_on_connected_apps(live: LiveServer, context: Any, app_name: str) -> None:
    """The user (still signed in from the consent) sees the agent at /u/apps and revokes it."""
    page = await context.new_page()
    try:
        await page.goto(live.url("u/apps"))
        assert app_name in await page.inner_text("main")
        async with page.expect_navigation():
            await page.get_by_role("button", name="Revoke").first.click()
        if await page.get_by_role("button", name="Revoke").count():  # the confirmation step
            async with page.expect_navigation():
                await page.get_by_role("button", name="Revoke").first.click()
        text = await page.inner_text("main")
        assert f"{app_name} can no longer access your account." in text
        assert await page.locator("article", has_text=app_name).count() == 0  # its card is gone
    finally:
        await page.close()


async def test_mcp_sdk_with_a_client_id_metadata_document(
    tmp_path_factory: pytest.TempPathFactory, browser_context: Any, app_server: AppServer
) -> None:
    """A public agent whose client_id is an https URL; Consentry fetches it (test CA, loopback allowed)."""
    from tests.integration.cimd.conftest import DocServer, make_ca_and_cert

    folder = tmp_path_factory.mktemp("cimd-interop")
    ca, cert, key = make_ca_and_cert(folder)
    docs = DocServer(cert, key)
    server = LiveServer(folder / "server", settings={"cimd_allow_private_addresses": "true", "cimd_ca_file": str(ca)})
    server.start()
    admin = notes = None
    try:
        admin = Admin(server)
        notes = NotesServer(server.issuer, folder)
        register_notes_api(admin, notes.resource)
        user = admin.user()
        callback = app_server.url("/callback")
        url = docs.serve_doc(
            "/agents/notes-agent.json",
            client_name="Notes Agent",
            redirect_uris=[callback],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
            cache_control="max-age=600",
        )
        meta = httpx.get(server.url(".well-known/oauth-authorization-server")).json()
        assert meta["client_id_metadata_document_supported"] is True
        seen = await run_agent(
            notes.resource, server.issuer, browser_context, user["email"], callback, client_metadata_url=url
        )
        params = check_run(seen, notes.resource, server.issuer)
        assert params["client_id"] == url
        assert [r["path"] for r in docs.requests] == ["/agents/notes-agent.json"]  # fetched once, then cached
        clients = [c for c in admin.http.get("/api/v2/clients").json() if c["client_id"] == url]
        assert [
            (c["registration_type"], c["is_first_party"], c["token_endpoint_auth_method"], c["name"]) for c in clients
        ] == [("cimd", False, "none", "Notes Agent")]
    finally:
        if notes:
            notes.stop()
        if admin:
            admin.close()
        server.stop()
        docs.stop()
