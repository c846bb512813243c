"""ProtectedResourceMiddleware and the FastAPI dependency: RFC 9728 documents and RFC 6750 challenges on the wire."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from consentry_resource import (
    ProtectedResource,
    ProtectedResourceMiddleware,
    TokenValidator,
    metadata_url,
    protected_resource_metadata,
)
from tests.conftest import ISSUER
from tests.integration.resource.conftest import RESOURCE, SCOPES, TokenFactory

PRM_URL = "http://rs.example/.well-known/oauth-protected-resource/mcp"
TOOL_SCOPES = {"read_note": ["read:notes"], "write_note": ["write:notes"]}


def test_metadata_document_and_url() -> None:
    assert protected_resource_metadata(RESOURCE, ISSUER, SCOPES, resource_name="Notes") == {
        "resource": RESOURCE,
        "authorization_servers": [ISSUER],
        "scopes_supported": SCOPES,
        "bearer_methods_supported": ["header"],
        "resource_name": "Notes",
    }
    assert metadata_url(RESOURCE) == PRM_URL
    assert metadata_url("https://api.example/") == "https://api.example/.well-known/oauth-protected-resource"
    assert metadata_url("https://api.example/v1/") == "https://api.example/.well-known/oauth-protected-resource/v1"


@pytest.fixture
async def rs(validator: TokenValidator) -> AsyncIterator[httpx.AsyncClient]:
    """A Starlette "MCP server" that echoes what reached it, behind the middleware."""

    async def mcp(request: Request) -> JSONResponse:
        body = await request.body()
        try:
            echoed = json.loads(body) if body else None
        except ValueError:
            echoed = body.decode()
        return JSONResponse({"sub": request.state.claims["sub"], "body": echoed})

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    inner = Starlette(routes=[Route("/mcp", mcp, methods=["GET", "POST"]), Route("/health", health)])
    protected = ProtectedResource(validator, SCOPES, resource_name="Notes")
    app = ProtectedResourceMiddleware(inner, protected, paths=["/mcp"], tool_scopes=TOOL_SCOPES)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://rs.example") as c:
        yield c


def _call(tool: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": {}}}


async def test_metadata_is_served_at_both_well_known_paths(rs: httpx.AsyncClient) -> None:
    for path in ("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"):
        r = await rs.get(path)
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/json"
        assert r.json() == {
            "resource": RESOURCE,
            "authorization_servers": [ISSUER],
            "scopes_supported": SCOPES,
            "bearer_methods_supported": ["header"],
            "resource_name": "Notes",
        }


async def test_no_token_is_401_with_resource_metadata_and_scope(rs: httpx.AsyncClient) -> None:
    for request in (rs.build_request("POST", "/mcp", json=_call("read_note")), rs.build_request("GET", "/mcp")):
        r = await rs.send(request)
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == (
            f'Bearer resource_metadata="{PRM_URL}", scope="read:notes write:notes"'
            if request.method == "GET"
            else f'Bearer resource_metadata="{PRM_URL}", scope="read:notes"'
        )
        assert r.json()["error"] == "invalid_token"
    r = await rs.get("/mcp", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert r.status_code == 401 and "error=" not in r.headers["www-authenticate"]


async def test_bad_token_is_401_invalid_token(rs: httpx.AsyncClient, mint: TokenFactory) -> None:
    r = await rs.get("/mcp", headers={"Authorization": "Bearer not.a.token"})
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == (
        f'Bearer error="invalid_token", error_description="malformed token", resource_metadata="{PRM_URL}", '
        'scope="read:notes write:notes"'
    )
    assert r.json() == {"error": "invalid_token", "error_description": "malformed token"}


async def test_missing_tool_scope_is_403_insufficient_scope(rs: httpx.AsyncClient, mint: TokenFactory) -> None:
    token = await mint(scope="read:notes")
    auth = {"Authorization": f"Bearer {token}"}
    r = await rs.post("/mcp", json=_call("read_note"), headers=auth)
    assert r.status_code == 200
    assert r.json()["body"]["params"]["name"] == "read_note"  # the body reached the app intact
    r = await rs.post("/mcp", json=_call("write_note"), headers=auth)
    assert r.status_code == 403
    assert r.headers["www-authenticate"] == (
        'Bearer error="insufficient_scope", error_description="The access token lacks the required scope: '
        f'write:notes", resource_metadata="{PRM_URL}", scope="write:notes"'
    )
    assert r.json()["error"] == "insufficient_scope"
    # other JSON-RPC methods and unknown tools need no extra scope
    r = await rs.post("/mcp", json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, headers=auth)
    assert r.status_code == 200
    r = await rs.post("/mcp", content=b"[not json", headers=auth)
    assert r.status_code == 200 and r.json()["body"] == "[not json"
    # a batch hiding a tools/call is checked too
    r = await rs.post("/mcp", json=[{"jsonrpc": "2.0", "id": 3, "method": "ping"}, _call("write_note")], headers=auth)
    assert r.status_code == 403


async def test_full_scope_token_calls_every_tool(rs: httpx.AsyncClient, mint: TokenFactory) -> None:
    auth = {"Authorization": f"Bearer {await mint()}"}
    for tool in TOOL_SCOPES:
        r = await rs.post("/mcp", json=_call(tool), headers=auth)
        assert r.status_code == 200, r.text
        assert r.json()["sub"].endswith("@clients")


async def test_unprotected_paths_and_preflight_pass(rs: httpx.AsyncClient) -> None:
    assert (await rs.get("/health")).json() == {"ok": True}
    r = await rs.options("/mcp")
    assert r.status_code == 405  # reached the app (no CORS configured there), not a 401


async def test_oversize_body_is_413(rs: httpx.AsyncClient, mint: TokenFactory) -> None:
    r = await rs.post("/mcp", content=b"x" * (1024 * 1024 + 1), headers={"Authorization": "Bearer x"})
    assert r.status_code == 413


async def test_issuer_down_is_503(notes_api: str) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(down)) as http:
        protected = ProtectedResource(TokenValidator(ISSUER, notes_api, http_client=http), SCOPES)
        app = ProtectedResourceMiddleware(Starlette(), protected)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://rs.example") as c:
            r = await c.get("/anything", headers={"Authorization": "Bearer a.b.c"})
            assert r.status_code == 401  # malformed: no need to reach the issuer
            token = "eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6ImsxIn0.e30.c2ln"
            r = await c.get("/anything", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 503
            assert r.json()["error"] == "temporarily_unavailable"


async def test_fastapi_dependency(validator: TokenValidator, mint: TokenFactory) -> None:
    protected = ProtectedResource(validator, SCOPES)
    api = FastAPI()
    api.router.routes.extend(protected.metadata_routes())

    readers, writers = Depends(protected.requires("read:notes")), Depends(protected.requires("write:notes"))

    @api.get("/notes")
    async def notes(claims: dict[str, Any] = readers) -> dict[str, Any]:
        return {"client_id": claims["client_id"]}

    @api.post("/notes")
    async def write(claims: dict[str, Any] = writers) -> dict[str, Any]:
        return {"ok": True}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://rs.example") as c:
        r = await c.get("/.well-known/oauth-protected-resource/mcp")
        assert r.json()["resource"] == RESOURCE
        r = await c.get("/notes")
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == f'Bearer resource_metadata="{PRM_URL}", scope="read:notes"'
        auth = {"Authorization": f"Bearer {await mint(scope='read:notes')}"}
        r = await c.get("/notes", headers=auth)
        assert r.status_code == 200 and r.json()["client_id"]
        r = await c.post("/notes", headers=auth)
        assert r.status_code == 403
        assert 'error="insufficient_scope"' in r.headers["www-authenticate"]
        assert r.json() == {"detail": "The access token lacks the required scope: write:notes"}
