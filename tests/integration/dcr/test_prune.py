"""Cleanup of unused DCR clients: ``prune`` (dry run and real), the CLI, and the periodic task's lease."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from consentry.app import create_app
from consentry.runtime import Runtime
from consentry.services import dcr_prune
from consentry.storage.models import AuditEvent, Connection, RefreshToken, User, UserGrant
from consentry.tokens import ids
from tests.integration.dcr.conftest import API, NATIVE, STORED_AT_ONCE, WEB, count_clients, register, set_times

HOUR, DAY = 3600.0, 86400.0


async def _user(rt: Runtime) -> str:
    async with rt.db.transaction() as s:
        conn = await s.scalar(select(Connection.id).limit(1))
        user_id = f"auth0|{ids.hex_id(12)}"
        now = rt.clock.now()
        s.add(
            User(
                user_id=user_id,
                connection_id=conn,
                email=f"{user_id[6:]}@example.com",
                profile={},
                app_metadata={},
                user_metadata={},
                created_at=now,
                updated_at=now,
            )
        )
    return user_id


async def _grant(rt: Runtime, client_id: str, user_id: str) -> None:
    async with rt.db.transaction() as s:
        s.add(
            UserGrant(
                id=ids.prefixed("ugr"),
                user_id=user_id,
                client_id=client_id,
                audience=API,
                scope=["read:posts"],
                created_at=rt.clock.now(),
                updated_at=rt.clock.now(),
            )
        )


async def _refresh_token(rt: Runtime, client_id: str, user_id: str, **state: Any) -> None:
    now = rt.clock.now()
    async with rt.db.transaction() as s:
        s.add(
            RefreshToken(
                id=ids.hex_id(),
                token_hash=ids.digest(ids.secret()),
                family_id=ids.hex_id(),
                client_id=client_id,
                user_id=user_id,
                audience=API,
                scope=["read:posts"],
                auth_time=now,
                created_at=now,
                **{"expires_at": now + DAY, **state},
            )
        )


async def _new(client: httpx.AsyncClient, name: str) -> str:
    r = await register(client, {**WEB, "client_name": name})
    assert r.status_code == 201, r.text
    return str(r.json()["client_id"])


@pytest.fixture
async def population(client: httpx.AsyncClient, dcr: Runtime, mgmt: httpx.AsyncClient) -> dict[str, str]:
    """One DCR client per rule, with times set in the database (defaults: 24 hours, 30 days)."""
    now = dcr.clock.now()
    c = {
        name: await _new(client, name)
        for name in (
            "fresh",
            "never_used_old",
            "never_used_young",
            "idle",
            "recent",
            "idle_with_grant",
            "idle_with_token",
            "idle_with_revoked_token",
            "idle_with_expired_token",
            "idle_with_rotated_token",
            "never_used_with_grant",
            "approved_late",
        )
    }
    await set_times(dcr, c["never_used_old"], created_at=now - 25 * HOUR)
    await set_times(dcr, c["never_used_young"], created_at=now - 23 * HOUR)
    for name in (
        "idle",
        "idle_with_grant",
        "idle_with_token",
        "idle_with_revoked_token",
        "idle_with_expired_token",
        "idle_with_rotated_token",
    ):
        await set_times(dcr, c[name], created_at=now - 90 * DAY, last_used_at=now - 31 * DAY)
    await set_times(dcr, c["recent"], created_at=now - 90 * DAY, last_used_at=now - 29 * DAY)
    await set_times(dcr, c["never_used_with_grant"], created_at=now - 48 * HOUR)
    await set_times(dcr, c["approved_late"], created_at=now - 48 * HOUR)
    r = await mgmt.post("/api/v2/clients", json={"name": "admin app", "is_first_party": False})
    c["admin"] = r.json()["client_id"]
    await set_times(dcr, c["admin"], created_at=now - 400 * DAY)  # not a DCR client: never pruned
    user = await _user(dcr)
    await _grant(dcr, c["idle_with_grant"], user)
    await _grant(dcr, c["never_used_with_grant"], user)
    await _refresh_token(dcr, c["idle_with_token"], user)
    await _refresh_token(dcr, c["idle_with_revoked_token"], user, revoked_at=now - DAY)
    await _refresh_token(dcr, c["idle_with_expired_token"], user, expires_at=now - 1)
    await _refresh_token(dcr, c["idle_with_rotated_token"], user, rotated_at=now - DAY)
    from consentry.clock import iso
    from consentry.storage.models import Client

    async with dcr.db.transaction() as s:
        row = await s.get(Client, c["approved_late"])
        assert row is not None
        row.attributes = {**row.attributes, "approved_at": iso(now - 2 * HOUR)}
    return c


STALE = {"never_used_old", "idle", "idle_with_revoked_token", "idle_with_expired_token", "idle_with_rotated_token"}


async def test_dry_run_lists_exactly_the_stale_clients(dcr: Runtime, population: dict[str, str]) -> None:
    listed = await dcr_prune.prune(dcr, dry_run=True)
    assert {e["name"] for e in listed} == STALE
    by_name = {e["name"]: e for e in listed}
    assert by_name["never_used_old"]["reason"] == "never used within 24 hours of registration"
    assert by_name["idle"]["reason"] == "not used for more than 30 days"
    assert by_name["idle"]["last_used_at"].endswith("Z") and by_name["never_used_old"]["last_used_at"] is None
    assert {e["kind"] for e in listed} == {"client"}
    assert set(by_name["idle"]) == {
        "client_id",
        "name",
        "kind",
        "status",
        "registration_ip",
        "created_at",
        "last_used_at",
        "reason",
    }
    assert await count_clients(dcr, registration_type="dcr") == len(population) - 1  # nothing removed


async def test_prune_removes_them_and_keeps_clients_in_use(
    dcr: Runtime, population: dict[str, str], mgmt: httpx.AsyncClient
) -> None:
    removed = await dcr_prune.prune(dcr)
    assert {e["name"] for e in removed} == STALE
    for name, cid in population.items():
        status = (await mgmt.get(f"/api/v2/clients/{cid}")).status_code
        assert status == (404 if name in STALE else 200), name
    async with dcr.db.read() as s:
        pruned = (await s.scalars(select(AuditEvent).where(AuditEvent.type == "client.pruned"))).all()
        tokens = (await s.scalars(select(RefreshToken.client_id))).all()
    assert {e.client_id for e in pruned} == {population[n] for n in STALE}
    assert all(e.details["reason"] for e in pruned)
    assert set(tokens) == {population["idle_with_token"]}  # the removed clients' dead tokens went with them
    assert await dcr_prune.prune(dcr) == []  # idempotent


@pytest.mark.parametrize(
    "settings_overrides", [{**STORED_AT_ONCE, "dcr_prune_never_used_hours": 1, "dcr_prune_idle_days": 100}]
)
async def test_thresholds_come_from_settings(client: httpx.AsyncClient, dcr: Runtime) -> None:
    now = dcr.clock.now()
    young, idle = await _new(client, "young"), await _new(client, "idle")
    await set_times(dcr, young, created_at=now - 2 * HOUR)
    await set_times(dcr, idle, created_at=now - 200 * DAY, last_used_at=now - 99 * DAY)
    assert [e["name"] for e in await dcr_prune.prune(dcr, dry_run=True)] == ["young"]


async def test_a_client_used_meanwhile_is_kept(client: httpx.AsyncClient, dcr: Runtime) -> None:
    """``prune`` re-checks each client in its deletion transaction."""
    cid = await _new(client, "racer")
    await set_times(dcr, cid, created_at=dcr.clock.now() - 2 * DAY)
    policy, now = dcr_prune.policy_of(dcr), dcr.clock.now()
    await set_times(dcr, cid, last_used_at=now)
    async with dcr.db.transaction() as s:
        assert await dcr_prune._prune_one(dcr, s, cid, policy, now) is None
    assert await count_clients(dcr, client_id=cid) == 1


async def test_periodic_round_needs_the_lease(client: httpx.AsyncClient, dcr: Runtime) -> None:
    cid = await _new(client, "old")
    await set_times(dcr, cid, created_at=dcr.clock.now() - 2 * DAY)
    first = await dcr_prune.run_once(dcr, holder=11)
    assert [e["client_id"] for e in first or []] == [cid]
    assert await dcr_prune.run_once(dcr, holder=22) is None  # another process holds the lease
    assert await dcr_prune.run_once(dcr, holder=11) == []  # the holder renews it


@pytest.mark.parametrize("settings_overrides", [{**STORED_AT_ONCE, "dcr_prune_interval_seconds": 1}])
async def test_app_lifespan_runs_and_stops_the_periodic_task(client: httpx.AsyncClient, dcr: Runtime) -> None:
    cid = await _new(client, "old")
    await set_times(dcr, cid, created_at=dcr.clock.now() - 2 * DAY)
    app = create_app(runtime=dcr)
    async with app.router.lifespan_context(app):
        tasks = [t for t in asyncio.all_tasks() if t.get_name() == "consentry-dcr-prune"]
        assert len(tasks) == 1
        for _ in range(60):
            if not await count_clients(dcr, client_id=cid):
                break
            await asyncio.sleep(0.1)
    assert await count_clients(dcr, client_id=cid) == 0
    assert tasks[0].done()


@pytest.mark.parametrize("settings_overrides", [{**STORED_AT_ONCE, "dcr_prune_interval_seconds": 0}])
async def test_interval_zero_turns_the_task_off(dcr: Runtime) -> None:
    assert dcr_prune.start_periodic(dcr) is None
    await dcr_prune.stop_periodic(None)


async def test_native_registration_is_pruned_like_any_other(client: httpx.AsyncClient, dcr: Runtime) -> None:
    cid = (await register(client, NATIVE)).json()["client_id"]
    await set_times(dcr, cid, created_at=dcr.clock.now() - 2 * DAY)
    assert [e["client_id"] for e in await dcr_prune.prune(dcr)] == [cid]
