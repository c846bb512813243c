"""Grant and security webhooks end to end in one process: the events a consent, a refresh, a reuse, a revoke and an
expiry queue (in the transaction of the change), their signed delivery to a real local receiver, retries with
backoff, and leases that keep two dispatchers off each other's deliveries. SQLite and PostgreSQL each."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from consentry.clock import FrozenClock
from consentry.commands.clients import ClientCreate
from consentry.runtime import Runtime
from consentry.services import webhooks
from consentry.services.clients import create_client
from consentry.services.webhook_dispatch import Dispatcher
from consentry.services.webhook_rules import EVENT_TYPES
from consentry.storage import webhooks as store
from consentry.storage.models import WebhookDelivery
from tests.integration.flows.conftest import API, PASSWORD, grant, make_api, make_app
from tests.support.flow import Step, authorize, consent, exchange, login, pkce_pair
from tests.support.webhook_receiver import Receiver

HOUR, DAY = 3600, 86400


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "webhooks_allow_http_loopback": True,
        "webhooks_retry_base": 10.0,
        "webhooks_max_attempts": 3,
        "authorization_code_lifetime": 600,  # a code outlives the shortest grant (60 s) in one test
    }


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as hooks:
        yield hooks


@pytest.fixture
async def dispatcher(social: Runtime) -> AsyncIterator[Dispatcher]:
    async with httpx.AsyncClient(timeout=5) as http:
        yield Dispatcher(social, http)


async def _subscribe(rt: Runtime, url: str, types: list[str] | None = None) -> str:
    async with rt.db.write() as conn:
        _, secret = await webhooks.create_subscription(rt, conn, url=url, event_types=types or list(EVENT_TYPES))
    return secret


def _params(app: Any, challenge: str, scope: str, **extra: str) -> dict[str, str]:
    return {
        "client_id": app.client_id,
        "redirect_uri": app.callback,
        "response_type": "code",
        "scope": scope,
        "audience": API,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "s",
        **extra,
    }


async def _approve(
    client: httpx.AsyncClient, app: Any, scope: str = "read:posts offline_access", duration: int = HOUR, **extra: str
) -> dict[str, Any]:
    """Authorize (logging in when needed), approve for ``duration``, exchange the code; the token response."""
    verifier, challenge = pkce_pair()
    step: Step = await authorize(client, _params(app, challenge, scope, **extra))
    if step.on_login:
        step = await login(client, step, "alice@example.com", PASSWORD)
    step = await consent(client, step, duration=duration)
    r = await exchange(client, step.params["code"], app.client_id, app.callback, verifier)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _refresh(client: httpx.AsyncClient, app: Any, token: str) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": token, "client_id": app.client_id}
    return await client.post("/oauth/token", data=data)


async def _queued(rt: Runtime) -> list[str]:
    async with rt.db.read() as s:
        rows = await s.scalars(select(WebhookDelivery.event_type).order_by(WebhookDelivery.created_at))
        return list(rows.all())


async def test_login_consent_refresh_revoke_each_event_delivered_once_and_signed(
    client: httpx.AsyncClient, social: Runtime, mgmt_token: str, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    auth = {"Authorization": f"Bearer {mgmt_token}"}  # per request: the browser's requests carry no token
    app = await make_app(social, third_party=True)
    await grant(social, default=True)
    secret = await _subscribe(social, receiver.url)
    tokens = await _approve(client, app, duration=HOUR)
    await _approve(client, app, "read:posts write:posts offline_access", duration=DAY, prompt="consent")
    await _approve(client, app, "read:posts write:posts offline_access", duration=HOUR, prompt="consent")
    first = await _refresh(client, app, tokens["refresh_token"])
    assert first.status_code == 200, first.text
    reused = await _refresh(client, app, tokens["refresh_token"])  # the retired token again: reuse
    assert reused.status_code == 403 and reused.json()["error"] == "invalid_grant"
    [row] = (await client.get("/api/v2/grants", params={"client_id": app.client_id}, headers=auth)).json()
    assert (await client.delete(f"/api/v2/grants/{row['id']}", headers=auth)).status_code == 204

    assert await dispatcher.run_once() == 5
    assert await dispatcher.run_once() == 0  # nothing left: each delivery is sent once
    got = receiver.received  # (sent concurrently: in no particular order)
    assert Counter(r.type for r in got) == Counter(
        ["grant.created", "grant.extended", "grant.narrowed", "refresh_family.revoked", "grant.revoked"]
    )
    assert len({r.id for r in got}) == 5
    payloads = {r.type: r.verified(secret) for r in got}  # every signature checks out (standardwebhooks)
    created = payloads["grant.created"]["data"]
    assert "read:posts" in created["scope"] and "write:posts" not in created["scope"]
    assert created["client_id"] == app.client_id and created["audience"] == API and created["expires_at"]
    extended = payloads["grant.extended"]["data"]
    assert "write:posts" in extended["scope"] and extended["previous"]["scope"] == created["scope"]
    narrowed = payloads["grant.narrowed"]["data"]
    assert narrowed["expires_at"] < narrowed["previous"]["expires_at"]
    family = payloads["refresh_family.revoked"]["data"]
    assert family["reason"] == "reuse" and family["grant_id"] == row["id"] and family["refresh_tokens_revoked"] >= 1
    revoked = payloads["grant.revoked"]["data"]
    assert revoked["grant_id"] == row["id"] and revoked["user_id"] == row["user_id"]
    path = f"/api/v2/webhooks/{await _only_subscription(social)}/deliveries"
    history = (await client.get(path, headers=auth)).json()
    assert {d["status"] for d in history} == {"delivered"} and all(d["last_status"] == 200 for d in history)


async def _only_subscription(rt: Runtime) -> str:
    rows, _ = await webhooks.list_subscriptions(rt, offset=0, limit=2)
    [row] = rows
    return str(row.id)


async def test_expiry_is_announced_once_by_the_refresh_that_finds_it_or_by_the_sweep(
    client: httpx.AsyncClient, social: Runtime
) -> None:
    social.clock = clock = FrozenClock()
    app = await make_app(social, third_party=True)
    other = await make_app(social, third_party=True, callback="https://other.example.com/cb")
    await grant(social, default=True)
    await _subscribe(social, "https://hooks.example.com/x", ["grant.expired", "grant.created"])
    tokens = await _approve(client, app, duration=0)  # a family with no end of its own...
    await _approve(client, app, duration=HOUR, prompt="consent")  # ...under a grant that now ends in an hour
    await _approve(client, other, duration=HOUR)
    clock.advance(HOUR + 1)
    r = await _refresh(client, app, tokens["refresh_token"])
    assert r.status_code == 403 and "expired" in r.json()["error_description"]
    assert await webhooks.sweep_expired(social) == 1  # only the other grant: the refresh announced the first
    assert await webhooks.sweep_expired(social) == 0
    assert Counter(await _queued(social)) == {"grant.created": 2, "grant.expired": 2}
    await _approve(client, app, duration=HOUR)  # a new life: created, not a second "expired"
    assert Counter(await _queued(social)) == {"grant.created": 3, "grant.expired": 2}


async def test_a_code_exchange_that_finds_the_grant_expired_announces_it(
    client: httpx.AsyncClient, social: Runtime
) -> None:
    social.clock = clock = FrozenClock()
    short = "https://short.example.com"
    await make_api(social, identifier=short, consent_durations=[60, 0], default_consent_duration=60)
    app = await make_app(social, third_party=True)
    await grant(social, default=True, audience=short)
    await _subscribe(social, "https://hooks.example.com/x", ["grant.expired"])
    verifier, challenge = pkce_pair()
    step = await authorize(client, {**_params(app, challenge, "read:posts"), "audience": short})
    step = await consent(client, await login(client, step, "alice@example.com", PASSWORD))  # the default: 60 s
    clock.advance(61)
    r = await exchange(client, step.params["code"], app.client_id, app.callback, verifier)
    assert r.status_code == 403 and "expired" in r.json()["error_description"]
    assert await _queued(social) == ["grant.expired"]
    assert await webhooks.sweep_expired(social) == 0


async def test_renewing_an_expired_grant_before_any_sweep_announces_expired_then_created(
    client: httpx.AsyncClient, social: Runtime
) -> None:
    social.clock = clock = FrozenClock()
    app = await make_app(social, third_party=True)
    await grant(social, default=True)
    await _subscribe(social, "https://hooks.example.com/x")
    await _approve(client, app, duration=HOUR)
    clock.advance(HOUR + 1)
    await _approve(client, app, duration=DAY)
    assert Counter(await _queued(social)) == {"grant.created": 2, "grant.expired": 1}
    assert await webhooks.sweep_expired(social) == 0


async def test_a_rolled_back_change_queues_nothing(social: Runtime) -> None:
    await _subscribe(social, "https://hooks.example.com/x", ["client.created"])
    with pytest.raises(RuntimeError):
        async with social.db.transaction() as s:
            await create_client(social, s, ClientCreate(name="Never", app_type="non_interactive"))
            assert await _count(s) == 1  # queued inside the transaction...
            raise RuntimeError("the change fails after the event was queued")
    assert await _queued(social) == []  # ...and gone with it


async def _count(s: Any) -> int:
    return int(await s.scalar(select(func.count()).select_from(WebhookDelivery)) or 0)


async def test_failed_deliveries_back_off_exponentially_then_fail(
    social: Runtime, receiver: Receiver, dispatcher: Dispatcher, mgmt: httpx.AsyncClient
) -> None:
    social.clock = clock = FrozenClock()
    await _subscribe(social, receiver.url, ["client.created"])
    async with social.db.transaction() as s:
        await create_client(social, s, ClientCreate(name="Hooked", app_type="non_interactive"))
    receiver.status = 503
    assert await dispatcher.run_once() == 1
    assert await dispatcher.run_once() == 0  # not due before the backoff
    clock.advance(9.8)
    assert await dispatcher.run_once() == 0
    clock.advance(0.3)
    receiver.stop()  # down: the connection is refused
    assert await dispatcher.run_once() == 1
    [delivery] = (await mgmt.get(f"/api/v2/webhooks/{await _only_subscription(social)}/deliveries")).json()
    assert delivery["status"] == "pending" and delivery["attempts"] == 2 and delivery["last_status"] is None
    assert "ConnectError" in delivery["last_error"]
    clock.advance(19.8)
    assert await dispatcher.run_once() == 0  # the second wait is twice the first
    clock.advance(0.3)
    receiver.start()
    assert await dispatcher.run_once() == 1  # the third and last attempt: 503 again
    [delivery] = (await mgmt.get(f"/api/v2/webhooks/{await _only_subscription(social)}/deliveries")).json()
    assert delivery["status"] == "failed" and delivery["attempts"] == 3 and delivery["last_status"] == 503
    assert delivery["next_attempt_at"] is None and receiver.received == []
    clock.advance(DAY)
    assert await dispatcher.run_once() == 0


async def test_two_dispatchers_never_hold_the_same_delivery(social: Runtime) -> None:
    social.clock = clock = FrozenClock()
    await _subscribe(social, "https://hooks.example.com/x", ["client.created"])
    async with social.db.transaction() as s:
        for i in range(30):
            await create_client(social, s, ClientCreate(name=f"App {i}", app_type="non_interactive"))
    now = clock.now()
    first, second = await asyncio.gather(
        store.claim(social.db, now=now, token="a", lease_until=now + 60, limit=20),
        store.claim(social.db, now=now, token="b", lease_until=now + 60, limit=20),
    )
    ids_a, ids_b = {d.id for d in first}, {d.id for d in second}
    assert not ids_a & ids_b and len(ids_a | ids_b) == 30
    assert await store.claim(social.db, now=now, token="c", lease_until=now + 60, limit=50) == []
    clock.advance(61)  # the leases ran out (their holder died): the deliveries are due again
    third = await store.claim(social.db, now=clock.now(), token="c", lease_until=clock.now() + 60, limit=50)
    assert {d.id for d in third} == ids_a | ids_b and {d.attempts for d in third} == {2}
    late = next(iter(ids_a))
    assert not await store.finish(social.db, late, "a", {"status": "delivered"})  # "a" lost its lease
    assert await store.finish(social.db, late, "c", {"status": "delivered"})
    await store.release(social.db, "c")  # a stopping dispatcher gives back what it did not finish
    again = await store.claim(social.db, now=clock.now(), token="d", lease_until=clock.now() + 60, limit=50)
    assert len(again) == 29 and {d.attempts for d in again} == {2}
