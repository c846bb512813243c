"""consentry.services.rate_limit: shared fixed-window counters and leases, atomic on both databases."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import func, select

from consentry.clock import FrozenClock
from consentry.runtime import Runtime
from consentry.services import rate_limit
from consentry.storage.models import RateCounter
from tests.integration.dcr.conftest import STORED_AT_ONCE, WEB, register


@pytest.fixture
def frozen(runtime: Runtime) -> FrozenClock:
    clock = FrozenClock(1_800_000_000.0)
    runtime.clock = clock
    return clock


async def test_hit_counts_within_a_window_then_restarts(runtime: Runtime, frozen: FrozenClock) -> None:
    assert [await rate_limit.hit(runtime, "k", 3, 60) for _ in range(5)] == [True, True, True, False, False]
    assert await rate_limit.count(runtime, "k", 60) == 5
    assert await rate_limit.hit(runtime, "other", 3, 60)  # keys are independent
    frozen.advance(59.9)
    assert not await rate_limit.hit(runtime, "k", 3, 60)
    frozen.advance(0.2)
    assert await rate_limit.count(runtime, "k", 60) == 0
    assert await rate_limit.hit(runtime, "k", 3, 60)
    assert await rate_limit.count(runtime, "k", 60) == 1
    await rate_limit.reset(runtime, "k")
    assert await rate_limit.count(runtime, "k", 60) == 0
    assert await rate_limit.count(runtime, "never-seen", 60) == 0


async def test_concurrent_hits_are_all_counted(runtime: Runtime) -> None:
    results = await asyncio.gather(*(rate_limit.hit(runtime, "burst", 10, 60) for _ in range(25)))
    assert sorted(results) == [False] * 15 + [True] * 10
    assert await rate_limit.count(runtime, "burst", 60) == 25


async def test_lease_has_one_holder_until_it_expires(runtime: Runtime, frozen: FrozenClock) -> None:
    assert await rate_limit.lease(runtime, "job", 1, 60)
    assert not await rate_limit.lease(runtime, "job", 2, 60)
    assert await rate_limit.lease(runtime, "job", 1, 60)  # the holder renews
    frozen.advance(61)
    assert await rate_limit.lease(runtime, "job", 2, 60)
    assert not await rate_limit.lease(runtime, "job", 1, 60)
    won = await asyncio.gather(*(rate_limit.lease(runtime, "race", h, 60) for h in range(1, 9)))
    assert won.count(True) == 1


async def test_purge_drops_old_counters_but_not_live_leases(runtime: Runtime, frozen: FrozenClock) -> None:
    await rate_limit.hit(runtime, "old", 5, 60)
    await rate_limit.lease(runtime, "job", 1, 3 * 86400)
    frozen.advance(2 * 86400)
    await rate_limit.hit(runtime, "new", 5, 60)
    assert await rate_limit.purge(runtime, 86400) == 1
    async with runtime.db.read() as s:
        keys = set((await s.scalars(select(RateCounter.key))).all())
    assert keys == {"new", "lease:job"}


async def test_registration_window_reopens_after_a_minute(
    client: httpx.AsyncClient, dcr: Runtime, frozen: FrozenClock
) -> None:
    for _ in range(dcr.settings.dcr_rate_limit_per_minute):
        await register(client, {"redirect_uris": []})
    assert (await register(client, WEB)).status_code == 429
    frozen.advance(61)
    assert (await register(client, WEB)).status_code == 201
    async with dcr.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(RateCounter)) == 1


@pytest.mark.parametrize(
    "settings_overrides", [{**STORED_AT_ONCE, "trusted_proxies": ["127.0.0.1"], "dcr_rate_limit_per_minute": 2}]
)
async def test_limit_is_per_source_address(client: httpx.AsyncClient, dcr: Runtime) -> None:
    for ip in ("203.0.113.1", "203.0.113.2"):
        statuses = [(await register(client, WEB, headers={"X-Forwarded-For": ip})).status_code for _ in range(3)]
        assert statuses == [201, 201, 429]
