"""Register-on-consent DCR: a registration is held (no stored client) until a user first approves it.

The acceptance rows: 10,000 registrations that nobody approves leave no stored client once they expire (bulk,
injected clock), and a client with a live grant or a live refresh token is never pruned.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, insert, select

from consentry.clock import FrozenClock
from consentry.runtime import Runtime
from consentry.services import dcr_prune
from consentry.storage.dcr_models import PendingRegistration
from consentry.storage.models import AuditEvent, Client, RefreshToken, UserGrant
from consentry.tokens import ids
from tests.integration.dcr.conftest import NATIVE, WEB, count_clients, register, set_flag
from tests.integration.flows.conftest import API, PASSWORD, grant, make_api, make_user, promote_default_connection
from tests.support.flow import Step, authorize, consent, exchange, login, pkce_pair

HOUR, DAY = 3600.0, 86400.0


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {}  # the default: held until a first consent


@pytest.fixture
async def platform(runtime: Runtime) -> Runtime:
    runtime.clock = FrozenClock()  # now: sessions and tokens made before stay valid
    await make_api(runtime)
    await make_user(runtime)
    await promote_default_connection(runtime)
    await grant(runtime, default=True, scope=["read:posts"])
    await set_flag(runtime, "enable_dynamic_client_registration", True)
    return runtime


def _clock(rt: Runtime) -> FrozenClock:
    assert isinstance(rt.clock, FrozenClock)
    return rt.clock


async def _held(rt: Runtime, **where: Any) -> int:
    async with rt.db.read() as s:
        query = select(func.count()).select_from(PendingRegistration)
        for key, value in where.items():
            query = query.where(getattr(PendingRegistration, key) == value)
        return int(await s.scalar(query) or 0)


def _params(reg: dict[str, Any], challenge: str) -> dict[str, str]:
    return {
        "client_id": reg["client_id"],
        "redirect_uri": reg["redirect_uris"][0],
        "response_type": "code",
        "scope": "read:posts offline_access",
        "resource": API,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "s1",
    }


async def _to_consent(client: httpx.AsyncClient, reg: dict[str, Any]) -> tuple[Step, str]:
    verifier, challenge = pkce_pair()
    step = await authorize(client, _params(reg, challenge))
    if step.on_login:  # not signed in yet in this browser
        step = await login(client, step, "alice@example.com", PASSWORD)
    assert step.on_consent, step.page[:500]
    return step, verifier


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_registration_is_held_and_answers_like_a_client(client: httpx.AsyncClient, platform: Runtime) -> None:
    r = await register(client, NATIVE)
    assert r.status_code == 201, r.text
    reg = r.json()
    assert reg["client_id"].startswith("tpc_") and reg["registration_access_token"]
    assert await count_clients(platform, registration_type="dcr") == 0  # nothing stored
    assert await _held(platform, client_id=reg["client_id"]) == 1
    read = await client.get(reg["registration_client_uri"], headers=_bearer(reg["registration_access_token"]))
    assert read.status_code == 200, read.text
    assert {k: read.json()[k] for k in ("client_id", "client_id_issued_at", "redirect_uris", "client_name")} == {
        k: reg[k] for k in ("client_id", "client_id_issued_at", "redirect_uris", "client_name")
    }
    wrong = await client.get(reg["registration_client_uri"], headers=_bearer("nope"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_token"
    assert "client.created" not in {t for (t,) in await _audit(platform)}


async def _audit(rt: Runtime) -> list[tuple[str]]:
    async with rt.db.read() as s:
        return [(t,) for t in (await s.scalars(select(AuditEvent.type))).all()]


async def test_first_consent_stores_it_under_the_same_id_and_token(
    client: httpx.AsyncClient, platform: Runtime
) -> None:
    reg = (await register(client, NATIVE)).json()
    step, verifier = await _to_consent(client, reg)
    assert "Claude Code" in step.text and await count_clients(platform, registration_type="dcr") == 0
    step = await consent(client, step)
    assert step.callback is not None, step.page[:500]
    assert await count_clients(platform, client_id=reg["client_id"], registration_type="dcr") == 1
    assert await _held(platform) == 0
    r = await exchange(client, step.params["code"], reg["client_id"], reg["redirect_uris"][0], verifier)
    assert r.status_code == 200, r.text
    read = await client.get(reg["registration_client_uri"], headers=_bearer(reg["registration_access_token"]))
    assert read.status_code == 200, read.text
    assert read.json()["client_id"] == reg["client_id"]
    assert read.json()["client_id_issued_at"] == reg["client_id_issued_at"]
    assert ("client.created",) in await _audit(platform)


async def test_declining_keeps_it_held(client: httpx.AsyncClient, platform: Runtime) -> None:
    reg = (await register(client, NATIVE)).json()
    step, _ = await _to_consent(client, reg)
    step = await consent(client, step, action="deny")
    # open_redirect_protection: the refusal is an error page, not a redirect to the unverified app
    assert step.response.status_code == 403 and 'data-error="access_denied"' in step.page
    assert await count_clients(platform, registration_type="dcr") == 0 and await _held(platform) == 1


@pytest.mark.parametrize("settings_overrides", [{"dcr_pending_hours": 0.1}])
async def test_expiry_during_consent_stores_nothing(client: httpx.AsyncClient, platform: Runtime) -> None:
    reg = (await register(client, NATIVE)).json()
    step, _ = await _to_consent(client, reg)
    _clock(platform).advance(0.1 * HOUR + 1)  # the registration expired while the page was open (not the request)
    step = await consent(client, step)
    assert step.callback is None and step.response.status_code == 400
    assert "Unknown client" in step.text
    async with platform.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(UserGrant)) == 0
    assert await count_clients(platform, registration_type="dcr") == 0


async def test_rfc7592_update_and_delete_of_a_held_registration(client: httpx.AsyncClient, platform: Runtime) -> None:
    reg = (await register(client, WEB)).json()
    token, uri = reg["registration_access_token"], reg["registration_client_uri"]
    r = await client.put(uri, headers=_bearer(token), json={**WEB, "client_id": reg["client_id"], "client_name": "New"})
    assert r.status_code == 200, r.text
    assert r.json()["client_name"] == "New" and await _held(platform, name="New") == 1
    assert await count_clients(platform, registration_type="dcr") == 0
    assert (await client.delete(uri, headers=_bearer(token))).status_code == 204
    assert await _held(platform) == 0
    assert (await client.get(uri, headers=_bearer(token))).status_code == 401


@pytest.mark.parametrize("settings_overrides", [{"dcr_pending_max": 2}])
async def test_hard_cap_refuses_until_some_expire(client: httpx.AsyncClient, platform: Runtime) -> None:
    assert (await register(client, WEB)).status_code == 201
    assert (await register(client, WEB)).status_code == 201
    r = await register(client, WEB)
    assert r.status_code == 429 and r.json()["error"] == "too_many_requests" and r.headers["retry-after"]
    assert await _held(platform) == 2
    _clock(platform).advance(24 * HOUR + 1)  # expired ones no longer count, even before a prune
    assert (await register(client, WEB)).status_code == 201


async def test_tenant_settings_override_the_cap_and_expiry(
    client: httpx.AsyncClient, platform: Runtime, mgmt_token: str
) -> None:
    api = _bearer(mgmt_token)
    bad = await client.patch("/api/v2/tenants/settings", json={"dcr_pending_max": 0}, headers=api)
    assert bad.status_code == 400
    r = await client.patch("/api/v2/tenants/settings", json={"dcr_pending_max": 1, "dcr_pending_hours": 2}, headers=api)
    assert r.status_code == 200, r.text
    reg = (await register(client, WEB)).json()
    assert (await register(client, WEB)).status_code == 429
    async with platform.db.read() as s:
        row = await s.get(PendingRegistration, reg["client_id"])
        assert row is not None and row.expires_at - row.created_at == 2 * HOUR


async def test_approval_queue_holds_agents_until_an_admin_approves(
    client: httpx.AsyncClient, platform: Runtime, mgmt_token: str
) -> None:
    api = _bearer(mgmt_token)
    r = await client.patch("/api/v2/tenants/settings", json={"dcr_require_approval": True}, headers=api)
    assert r.status_code == 200, r.text
    first = (await register(client, NATIVE)).json()
    second = (await register(client, {**NATIVE, "client_name": "Other"})).json()
    _, challenge = pkce_pair()
    step = await authorize(client, _params(first, challenge))
    assert step.callback is None and step.response.status_code == 400 and not step.on_login
    assert "awaiting administrator approval" in step.text
    queue = (await client.get("/api/v2/dcr/registrations", params={"status": "pending"}, headers=api)).json()
    assert sorted(q["client_id"] for q in queue) == sorted([first["client_id"], second["client_id"]])  # same instant
    assert all(q["held_until_first_consent"] for q in queue)

    assert (await client.post(f"/api/v2/clients/{first['client_id']}/approve", headers=api)).status_code == 200
    assert (await client.post(f"/api/v2/clients/{second['client_id']}/reject", headers=api)).status_code == 204
    assert await _held(platform, client_id=second["client_id"]) == 0
    again = await client.post(f"/api/v2/clients/{first['client_id']}/reject", headers=api)
    assert again.status_code == 403  # approved: no longer in the queue
    step = await authorize(client, _params(first, challenge))
    assert step.on_login
    assert await count_clients(platform, registration_type="dcr") == 0  # approved, still held until a consent


async def _bulk_hold(rt: Runtime, template: PendingRegistration, count: int) -> None:
    """``count`` copies of a real registration under new ids, in one statement (the test's speed)."""
    rows = [
        {
            "client_id": (cid := ids.client_id(True)),
            "name": f"agent {i}",
            "status": template.status,
            "registration_ip": f"10.0.{i // 250}.{i % 250}",
            "registration_token_hash": ids.digest(ids.secret(16)),
            "client": {**template.client, "client_id": cid, "name": f"agent {i}"},
            "created_at": template.created_at,
            "expires_at": template.expires_at,
        }
        for i in range(count)
    ]
    async with rt.db.transaction() as s:
        await s.execute(insert(PendingRegistration), rows)


async def _user_id(rt: Runtime) -> str:
    async with rt.db.read() as s:
        found = await s.scalar(select(UserGrant.user_id).limit(1))
    assert found is not None
    return str(found)


async def test_ten_thousand_unapproved_registrations_leave_nothing(
    client: httpx.AsyncClient, platform: Runtime
) -> None:
    # Two agents a user approved: one keeps a live grant only, one a live refresh token only.
    kept_grant = (await register(client, NATIVE)).json()
    step, _ = await _to_consent(client, kept_grant)
    assert (await consent(client, step, duration=30 * int(DAY))).callback is not None  # live for 30 days
    kept_token = (await register(client, {**NATIVE, "client_name": "Token holder"})).json()
    step, _ = await _to_consent(client, kept_token)
    assert (await consent(client, step)).callback is not None
    user_id = await _user_id(platform)
    async with platform.db.transaction() as s:
        row = await s.scalar(select(UserGrant).where(UserGrant.client_id == kept_token["client_id"]))
        assert row is not None
        await s.delete(row)
        s.add(
            RefreshToken(
                id=ids.hex_id(),
                token_hash=ids.digest(ids.secret()),
                family_id=ids.hex_id(),
                client_id=kept_token["client_id"],
                user_id=user_id,
                audience=API,
                scope=["read:posts"],
                auth_time=platform.clock.now(),
                created_at=platform.clock.now(),
                expires_at=platform.clock.now() + 30 * DAY,
            )
        )
    # 10,000 registrations nobody approves: one through the endpoint, the rest copies of it.
    real = (await register(client, WEB)).json()
    async with platform.db.read() as s:
        template = await s.get(PendingRegistration, real["client_id"])
        assert template is not None
    await _bulk_hold(platform, template, 9_999)
    assert await _held(platform) == 10_000

    assert await dcr_prune.prune(platform, dry_run=True) == []  # nothing expired yet
    _clock(platform).advance(2 * DAY)  # past the pending expiry and the never-used rule
    listed = await dcr_prune.prune(platform, dry_run=True)
    assert len(listed) == 10_000 and {e["kind"] for e in listed} == {"pending_registration"}
    assert listed[0]["reason"] == "no user approved it within 24 hours of its registration"
    assert await _held(platform) == 10_000  # a dry run changes nothing

    removed = await dcr_prune.prune(platform)
    assert len(removed) == 10_000
    assert await _held(platform) == 0
    async with platform.db.read() as s:
        stored = set((await s.scalars(select(Client.client_id).where(Client.registration_type == "dcr"))).all())
    assert stored == {kept_grant["client_id"], kept_token["client_id"]}  # a live grant, a live refresh token
    assert [t for (t,) in await _audit(platform)].count("client.pruned") == 1  # one event for the bulk


async def test_promotion_is_counted_once_when_two_users_consent(
    client: httpx.AsyncClient, platform: Runtime, app: Any
) -> None:
    reg = (await register(client, NATIVE)).json()
    step, _ = await _to_consent(client, reg)
    other = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=str(client.base_url))  # 2nd browser
    async with other:
        await make_user(platform, "bob@example.com")
        _, challenge = pkce_pair()
        bob = await login(other, await authorize(other, _params(reg, challenge)), "bob@example.com", PASSWORD)
        assert bob.on_consent
        assert (await consent(client, step)).callback is not None
        assert (await consent(other, bob)).callback is not None
    assert await count_clients(platform, client_id=reg["client_id"]) == 1
    async with platform.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(UserGrant)) == 2
    assert [t for (t,) in await _audit(platform)].count("client.created") == 1
