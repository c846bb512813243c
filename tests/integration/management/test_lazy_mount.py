"""The Management API is mounted on first use (memory per worker, docs/performance.md): OAuth traffic leaves it
unloaded; the first ``/api/v2`` request and the OpenAPI document see every route, mounted once."""

from __future__ import annotations

from typing import Any

import httpx

from consentry.management.routers import ROUTERS


async def test_first_management_request_mounts_the_routes_once(app: Any, mgmt: httpx.AsyncClient) -> None:
    before = len(app.router.routes)  # the mgmt fixture has already obtained its token at /oauth/token
    r = await mgmt.get("/api/v2/clients")
    assert r.status_code == 200, r.text
    assert "ops" in [c["name"] for c in r.json()]
    assert len(app.router.routes) == before + len(ROUTERS)
    r = await mgmt.get("/api/v2/resource-servers")
    assert r.status_code == 200, r.text
    assert len(app.router.routes) == before + len(ROUTERS)


async def test_oauth_and_pages_do_not_mount_it(app: Any, client: httpx.AsyncClient) -> None:
    before = len(app.router.routes)
    assert (await client.get("/.well-known/openid-configuration")).status_code == 200
    assert (await client.get("/u/login")).status_code in (200, 400)
    assert len(app.router.routes) == before


async def test_unknown_management_path_is_the_management_404(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v2/no-such-thing")
    assert r.status_code == 404
    assert r.json() == {"statusCode": 404, "error": "Not Found", "message": "Not Found", "errorCode": "not_found"}


async def test_unauthenticated_first_request_is_refused_as_before(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v2/clients")
    assert r.status_code == 401
    assert r.json()["statusCode"] == 401


async def test_openapi_document_lists_the_management_api_before_any_request(app: Any) -> None:
    paths = app.openapi()["paths"]
    assert "/api/v2/clients" in paths and "/api/v2/users/{user_id}" in paths
    assert "/oauth/token" in paths


async def test_dashboard_is_mounted_on_its_first_request(app: Any, client: httpx.AsyncClient) -> None:
    before = len(app.router.routes)
    assert (await client.get("/.well-known/jwks.json")).status_code == 200
    assert len(app.router.routes) == before  # OAuth traffic leaves the dashboard unloaded
    r = await client.get("/admin")
    assert r.status_code == 303 and "/u/login?next=%2Fadmin" in r.headers["location"]  # sign in first
    mounted = len(app.router.routes)
    assert mounted > before
    r = await client.get("/admin/applications")
    assert r.status_code == 303 and len(app.router.routes) == mounted  # once
