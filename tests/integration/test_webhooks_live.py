"""The webhook acceptance, against the real ``consentry serve`` and a real local receiver on 127.0.0.1.

A login → consent → refresh (then a reuse) → revoke sequence, with client creation and deletion around it; in the
middle the receiver goes down while events are queued and the server process is stopped and started again.
Afterwards every event has arrived exactly once (one ``webhook-id`` each, one per event), each signature
verifies with the subscription's secret (``standardwebhooks``), and the delivery history says delivered.
SQLite and PostgreSQL each. Waiting is on the receiver's condition variable, never a sleep.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from consentry.services.webhook_rules import EVENT_TYPES
from tests.load.world import CALLBACK, PASSWORD, World, seed
from tests.support.flow import pkce_pair
from tests.support.live_server import free_port, fresh_postgres_database, live_server
from tests.support.webhook_receiver import Receiver

API = "https://social.example.com"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'data' / 'consentry.db'}"
    return asyncio.run(fresh_postgres_database(request.getfixturevalue("postgres_url")))


def _hidden(html: str, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert m, f"no hidden field {name}"
    return m.group(1)


def _follow(http: httpx.Client, r: httpx.Response) -> httpx.Response | str:
    """Follow redirects on the server; a redirect to the app's callback is returned as its URL."""
    while r.status_code in (302, 303):
        location = r.headers["location"]
        if location.startswith(CALLBACK):
            return location
        r = http.get(location)
    return r


def _login_and_consent(http: httpx.Client, world: World, challenge: str) -> str:
    params = {
        "client_id": world.app_id,
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": "offline_access read:posts",
        "audience": API,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "s",
    }
    page = _follow(http, http.get("authorize", params=params))
    assert isinstance(page, httpx.Response) and 'name="password"' in page.text, page
    form = {"state": _hidden(page.text, "state"), "csrf": _hidden(page.text, "csrf")}
    page = _follow(http, http.post("u/login", data={**form, "username": world.emails[0], "password": PASSWORD}))
    assert isinstance(page, httpx.Response) and 'value="accept"' in page.text, page
    form = {"state": _hidden(page.text, "state"), "csrf": _hidden(page.text, "csrf"), "action": "accept"}
    callback = _follow(http, http.post("u/consent", data={**form, "duration": "86400"}))
    assert isinstance(callback, str), callback
    return parse_qs(urlsplit(callback).query)["code"][0]


def _management(http: httpx.Client, world: World) -> dict[str, str]:
    r = http.post(
        "oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": world.m2m_id,
            "client_secret": world.m2m_secret,
            "audience": world.management_audience,
        },
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _token(http: httpx.Client, world: World, **data: str) -> httpx.Response:
    return http.post("oauth/token", data={"client_id": world.app_id, "client_secret": world.app_secret, **data})


def _until_delivered(http: httpx.Client, path: str, mgmt: dict[str, str]) -> list[dict[str, Any]]:
    """The delivery history once the server has recorded every answer (it does so just after the receiver got the
    request), polled as ``live_server`` polls for readiness."""
    deadline = time.monotonic() + 30
    while True:
        history: list[dict[str, Any]] = http.get(path, headers=mgmt).json()
        if {d["status"] for d in history} == {"delivered"} or time.monotonic() > deadline:
            assert {d["status"] for d in history} == {"delivered"}, history
            return history
        time.sleep(0.05)


def test_every_event_arrives_once_signed_across_a_restart(database: str, tmp_path: Path) -> None:
    port = free_port()
    issuer = f"http://127.0.0.1:{port}/"
    world = seed(database, tmp_path / "data", issuer, users=1)
    env = {
        "CONSENTRY_ISSUER": issuer,
        "CONSENTRY_PORT": str(port),
        "CONSENTRY_WEBHOOKS_ALLOW_HTTP_LOOPBACK": "true",
        "CONSENTRY_WEBHOOKS_POLL_INTERVAL": "0.1",
        "CONSENTRY_WEBHOOKS_RETRY_BASE": "0.2",
        "CONSENTRY_WEBHOOKS_RETRY_MAX": "1",
        "CONSENTRY_WEBHOOKS_MAX_ATTEMPTS": "100",
    }
    receiver = Receiver().start()
    try:
        with live_server(tmp_path, env, database_url=database) as (base, _), httpx.Client(base_url=base) as http:
            mgmt = _management(http, world)
            r = http.post("api/v2/webhooks", json={"url": receiver.url, "event_types": list(EVENT_TYPES)}, headers=mgmt)
            assert r.status_code == 201, r.text
            hook: dict[str, Any] = r.json()
            r = http.post("api/v2/clients", json={"name": "Short-lived", "app_type": "non_interactive"}, headers=mgmt)
            assert r.status_code == 201, r.text
            short_lived = r.json()["client_id"]
            verifier, challenge = pkce_pair()
            code = _login_and_consent(http, world, challenge)
            r = _token(
                http, world, grant_type="authorization_code", code=code, redirect_uri=CALLBACK, code_verifier=verifier
            )
            assert r.status_code == 200, r.text
            first_refresh = r.json()["refresh_token"]
            receiver.wait_for(lambda got: {"client.created", "grant.created"} <= {g.type for g in got})
            receiver.stop()  # the receiver is down from here...
            assert _token(http, world, grant_type="refresh_token", refresh_token=first_refresh).status_code == 200
            reused = _token(http, world, grant_type="refresh_token", refresh_token=first_refresh)
            assert reused.status_code == 403 and reused.json()["error"] == "invalid_grant"
            assert http.delete(f"api/v2/clients/{short_lived}", headers=mgmt).status_code == 204
        # ...and the server stopped with refresh_family.revoked and client.deleted still queued
        with live_server(tmp_path, env, database_url=database) as (base, _), httpx.Client(base_url=base) as http:
            mgmt = _management(http, world)
            [grant] = http.get("api/v2/grants", params={"client_id": world.app_id}, headers=mgmt).json()
            assert http.delete(f"api/v2/grants/{grant['id']}", headers=mgmt).status_code == 204
            receiver.start()
            expected = {"client.created", "grant.created", "refresh_family.revoked", "client.deleted", "grant.revoked"}
            receiver.wait_for(lambda got: expected <= {g.type for g in got})
            history = _until_delivered(http, f"api/v2/webhooks/{hook['id']}/deliveries", mgmt)
        assert len(history) == 5, history
        got = list(receiver.received)  # the server is stopped: nothing more can arrive
        assert Counter(g.type for g in got) == Counter(expected), [g.type for g in got]
        assert len({g.id for g in got}) == len(got) == 5
        assert {g.id for g in got} == {d["id"] for d in history}
        payloads = {g.type: g.verified(hook["secret"]) for g in got}
        assert payloads["refresh_family.revoked"]["data"]["reason"] == "reuse"
        assert payloads["grant.revoked"]["data"]["grant_id"] == grant["id"]
        assert payloads["client.deleted"]["data"]["client_id"] == short_lived
        assert any(d["attempts"] > 1 for d in history)  # some were retried: the receiver was down
    finally:
        receiver.stop()
