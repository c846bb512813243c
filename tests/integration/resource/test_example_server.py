"""examples/mcp_server/server.py served on loopback, called by the MCP SDK client with Consentry tokens.

The example's validator reaches Consentry through the ASGI app (no network); the MCP server itself
listens on 127.0.0.1 so the real SDK client transport is used.
"""

from __future__ import annotations

import asyncio
import importlib.util
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import uvicorn

from consentry.runtime import Runtime
from consentry_resource import TokenValidator
from tests.conftest import ISSUER
from tests.integration.resource.conftest import SCOPES, grant, make_api

ROOT = Path(__file__).resolve().parents[3]


def _load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("notes_example", ROOT / "examples" / "mcp_server" / "server.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["notes_example"] = module
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def notes_server(
    runtime: Runtime, as_http: httpx.AsyncClient, m2m_credentials: dict[str, str]
) -> AsyncIterator[str]:
    port = _free_port()
    resource = f"http://127.0.0.1:{port}/mcp"
    await make_api(runtime, resource)
    await grant(runtime, m2m_credentials["client_id"], resource, SCOPES)
    app = _load_example().build_app(ISSUER, resource, TokenValidator(ISSUER, resource, http_client=as_http))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.02)
    try:
        yield resource
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def _token(client: httpx.AsyncClient, creds: dict[str, str], resource: str, scope: str) -> str:
    r = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials", "resource": resource, "scope": scope, **creds}
    )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


async def _session_call(resource: str, token: str, tool: str, args: dict[str, Any]) -> Any:
    import httpx2
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=10) as http,
        streamable_http_client(resource, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        tools = await session.list_tools()
        assert {t.name for t in tools.tools} == {"list_notes", "add_note"}
        return await session.call_tool(tool, args)


async def test_sdk_client_calls_tools_with_consentry_tokens(
    notes_server: str, client: httpx.AsyncClient, m2m_credentials: dict[str, str]
) -> None:
    token = await _token(client, m2m_credentials, notes_server, "read:notes write:notes")
    result = await _session_call(notes_server, token, "add_note", {"text": "hello"})
    assert not result.is_error and result.structured_content == {"saved": True, "count": 1}
    result = await _session_call(notes_server, token, "list_notes", {})
    assert not result.is_error and result.structured_content == {"result": ["hello"]}


async def test_http_answers_of_the_example(
    notes_server: str, client: httpx.AsyncClient, m2m_credentials: dict[str, str]
) -> None:
    base = notes_server.removesuffix("/mcp")
    prm = f"{base}/.well-known/oauth-protected-resource/mcp"
    params = {"name": "add_note", "arguments": {"text": "x"}}
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
    headers = {"Accept": "application/json, text/event-stream"}
    async with httpx.AsyncClient(timeout=10) as http:
        doc = (await http.get(prm)).json()
        assert doc["resource"] == notes_server and doc["authorization_servers"] == [ISSUER]
        assert doc["scopes_supported"] == SCOPES
        r = await http.post(notes_server, json=call, headers=headers)
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == f'Bearer resource_metadata="{prm}", scope="write:notes"'
        read_only = await _token(client, m2m_credentials, notes_server, "read:notes")
        r = await http.post(notes_server, json=call, headers={**headers, "Authorization": f"Bearer {read_only}"})
        assert r.status_code == 403
        assert 'error="insufficient_scope"' in r.headers["www-authenticate"]
        assert 'scope="write:notes"' in r.headers["www-authenticate"]
    result = await _session_call(notes_server, read_only, "list_notes", {})
    assert not result.is_error
