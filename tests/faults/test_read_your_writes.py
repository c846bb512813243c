"""Read-your-writes on the real server with two workers, on SQLite and on PostgreSQL (issue 16, deliverable 3).

One ``consentry serve`` with ``CONSENTRY_WORKERS=2`` and ``CONSENTRY_CACHE_TTL=30``: every worker caches what
it read for 30 s, so only the shared change counter (``storage.config_version``) can make it follow a write in
time. Right after each Management API or CLI write returns, 24 requests on fresh connections (the kernel spreads
them over both workers) must all see the new state. Before each write, the same 24 requests warm both workers'
caches with the old state. No sleep anywhere: each write is followed at once by its reads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from tests.faults.conftest import database_for
from tests.load.world import API, PASSWORD, World, seeded_servers
from tests.support.live_server import LiveProcess

N = 24
REALM = "http://auth0.com/oauth/grant-type/password-realm"


@dataclass
class Server:
    base: str
    world: World
    process: LiveProcess


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp: Path = tmp_path_factory.mktemp(f"ryw-{request.param}")
    url = database_for(request, tmp)
    env = {"CONSENTRY_WORKERS": "2", "CONSENTRY_CACHE_TTL": "30", "CONSENTRY_LOGIN_MAX_FAILURES": "1000"}
    with seeded_servers(url, tmp, count=1, env=env, users=2) as (world, bases, processes):
        yield Server(bases[0], world, processes[0])


async def _fresh(server: Server, method: str, path: str, **kw: Any) -> list[httpx.Response]:
    """``N`` concurrent requests, each on a new connection (no keep-alive), so both workers answer some."""

    async def one() -> httpx.Response:
        async with httpx.AsyncClient(base_url=server.base, timeout=30) as http:
            return await http.request(method, path, **kw)

    return list(await asyncio.gather(*(one() for _ in range(N))))


async def _admin(server: Server) -> httpx.AsyncClient:
    w = server.world
    http = httpx.AsyncClient(base_url=server.base, timeout=30)
    form = {
        "grant_type": "client_credentials",
        "client_id": w.m2m_id,
        "client_secret": w.m2m_secret,
        "audience": w.management_audience,
    }
    r = await http.post("/oauth/token", data=form)
    assert r.status_code == 200, r.text
    http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    return http


async def _service(admin: httpx.AsyncClient, name: str) -> dict[str, str]:
    """A new machine-to-machine client; returns its client_credentials form for the Social API."""
    r = await admin.post(
        "/api/v2/clients", json={"name": name, "app_type": "non_interactive", "grant_types": ["client_credentials"]}
    )
    assert r.status_code == 201, r.text
    body = r.json()
    return {
        "grant_type": "client_credentials",
        "client_id": body["client_id"],
        "client_secret": body["client_secret"],
        "audience": API,
    }


def _statuses(responses: list[httpx.Response]) -> list[int]:
    return [r.status_code for r in responses]


def _errors(responses: list[httpx.Response]) -> set[str]:
    return {r.json().get("error", "") for r in responses}


async def test_client_grant_created_narrowed_and_deleted_is_seen_by_every_worker_at_once(server: Server) -> None:
    admin = await _admin(server)
    try:
        form = await _service(admin, "ryw-grants")
        refused = await _fresh(server, "POST", "/oauth/token", data=form)
        assert _statuses(refused) == [403] * N and _errors(refused) == {"access_denied"}  # both workers cache it

        r = await admin.post(
            "/api/v2/client-grants",
            json={"client_id": form["client_id"], "audience": API, "scope": ["read:posts", "write:posts"]},
        )
        assert r.status_code == 201, r.text
        grant_id = r.json()["id"]
        granted = await _fresh(server, "POST", "/oauth/token", data=form)
        assert _statuses(granted) == [200] * N, [r.text for r in granted if r.status_code != 200][:2]
        assert {r.json()["scope"] for r in granted} == {"read:posts write:posts"}

        r = await admin.patch(f"/api/v2/client-grants/{grant_id}", json={"scope": ["read:posts"]})
        assert r.status_code == 200, r.text
        narrowed = await _fresh(server, "POST", "/oauth/token", data=form)
        assert _statuses(narrowed) == [200] * N
        assert {r.json()["scope"] for r in narrowed} == {"read:posts"}

        assert (await admin.delete(f"/api/v2/client-grants/{grant_id}")).status_code == 204
        gone = await _fresh(server, "POST", "/oauth/token", data=form)
        assert _statuses(gone) == [403] * N and _errors(gone) == {"access_denied"}
    finally:
        await admin.aclose()


async def test_a_deleted_client_gets_no_token_from_any_worker(server: Server) -> None:
    admin = await _admin(server)
    try:
        form = await _service(admin, "ryw-delete")
        r = await admin.post(
            "/api/v2/client-grants", json={"client_id": form["client_id"], "audience": API, "scope": ["read:posts"]}
        )
        assert r.status_code == 201, r.text
        warm = await _fresh(server, "POST", "/oauth/token", data=form)
        assert _statuses(warm) == [200] * N

        assert (await admin.delete(f"/api/v2/clients/{form['client_id']}")).status_code == 204
        refused = await _fresh(server, "POST", "/oauth/token", data=form)
        assert 200 not in _statuses(refused) and _errors(refused) == {"invalid_client"}
    finally:
        await admin.aclose()


async def test_a_blocked_user_can_neither_refresh_nor_sign_in_on_any_worker(server: Server) -> None:
    admin = await _admin(server)
    try:
        r = await admin.post(
            "/api/v2/clients",
            json={
                "name": "ryw-first-party",
                "app_type": "regular_web",
                "callbacks": ["https://first.example.com/cb"],
                "grant_types": [REALM, "refresh_token"],
            },
        )
        assert r.status_code == 201, r.text
        app = r.json()
        email, user_id = server.world.emails[0], server.world.user_ids[0]
        login = {
            "grant_type": REALM,
            "realm": "Username-Password-Authentication",
            "username": email,
            "password": PASSWORD,
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "audience": API,
            "scope": "openid offline_access read:posts",
        }
        r = await admin.post("/oauth/token", data=login)
        assert r.status_code == 200, r.text
        refresh = {
            "grant_type": "refresh_token",
            "refresh_token": r.json()["refresh_token"],
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
        }

        r = await admin.patch(f"/api/v2/users/{user_id}", json={"blocked": True})
        assert r.status_code == 200, r.text
        refreshes = await _fresh(server, "POST", "/oauth/token", data=refresh)
        assert 200 not in _statuses(refreshes) and _errors(refreshes) == {"invalid_grant"}
        logins = await _fresh(server, "POST", "/oauth/token", data=login)
        assert 200 not in _statuses(logins) and _errors(logins) == {"invalid_grant"}
    finally:
        await admin.aclose()


async def test_cli_writes_are_seen_by_the_running_server_at_once(server: Server) -> None:
    """The CLI is another process with no way to tell the server: only the counter can."""
    admin = await _admin(server)
    try:
        form = {**await _service(admin, "ryw-cli"), "audience": "https://cli.example.com"}
        unknown = await _fresh(server, "POST", "/oauth/token", data=form)
        assert _statuses(unknown) == [403] * N
        assert {r.json()["error_description"] for r in unknown} == {
            "Service not enabled within domain: https://cli.example.com"
        }

        server.process.cli(
            "apis", "create", "--identifier", "https://cli.example.com", "--name", "CLI API", "--scope", "read:cli"
        )
        known = await _fresh(server, "POST", "/oauth/token", data=form)  # the API exists now, with no client grant
        assert _statuses(known) == [403] * N and _errors(known) == {"access_denied"}
        assert not any("Service not enabled" in r.json()["error_description"] for r in known)

        mgmt = {
            "grant_type": "client_credentials",
            "client_id": server.world.m2m_id,
            "client_secret": server.world.m2m_secret,
            "audience": server.world.management_audience,
        }
        before = {
            jwt.get_unverified_header(r.json()["access_token"])["kid"]
            for r in await _fresh(server, "POST", "/oauth/token", data=mgmt)
        }
        assert len(before) == 1
        server.process.cli("keys", "rotate")
        after = {
            jwt.get_unverified_header(r.json()["access_token"])["kid"]
            for r in await _fresh(server, "POST", "/oauth/token", data=mgmt)
        }
        assert len(after) == 1 and after != before  # every worker signs with the rotated key
    finally:
        await admin.aclose()
