"""The catalog's per-request snapshot and counter check (``consentry.config_cache``), with in-memory loads.

``Catalog._cached(key, load)`` is what every lookup goes through; here ``load`` counts its calls and returns
the value of a dict that plays the configuration tables, and ``read_version`` returns the change counter.
The counter and the tables themselves are tested against both databases in
tests/integration/storage/test_config_version.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from consentry.clock import FrozenClock
from consentry.config_cache import Catalog, Snapshot, _snapshot

KEY = ("client", "c1")


class World:
    """The "database": configuration values, the change counter and how often each was read."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], Any] = {KEY: "v1"}
        self.version = 0
        self.loads = 0
        self.version_reads = 0
        self.gate: asyncio.Event | None = None  # set: loads wait for it

    def write(self, key: tuple[str, str], value: Any) -> None:
        self.values[key] = value
        self.version += 1

    async def read_version(self) -> int:
        self.version_reads += 1
        return self.version

    def loader(self, key: tuple[str, str]) -> Callable[[], Awaitable[Any]]:
        async def load() -> Any:
            self.loads += 1
            value = self.values.get(key)  # read when the load starts, as a query would
            if self.gate is not None:
                await self.gate.wait()
            return value

        return load


def _catalog(world: World, ttl: float = 30.0) -> tuple[Catalog, FrozenClock]:
    clock = FrozenClock(1_000.0)
    return Catalog(None, clock, ttl, read_version=world.read_version), clock  # type: ignore[arg-type]


async def _in_request(work: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``work`` as one request does: with a snapshot of its own (``RequestSnapshot``)."""
    token = _snapshot.set(Snapshot())
    try:
        return await work()
    finally:
        _snapshot.reset(token)


async def _lookup(catalog: Catalog, world: World, key: tuple[str, str] = KEY) -> Any:
    return await catalog._cached(key, world.loader(key))


async def test_a_request_after_a_write_sees_it_although_the_entry_is_within_its_ttl() -> None:
    world = World()
    catalog, _ = _catalog(world)
    assert await _in_request(lambda: _lookup(catalog, world)) == "v1"
    world.write(KEY, "v2")  # another process wrote: nothing was invalidated here
    assert await _in_request(lambda: _lookup(catalog, world)) == "v2"


async def test_an_unchanged_counter_keeps_the_cached_entries() -> None:
    world = World()
    catalog, _ = _catalog(world)
    for _ in range(5):
        assert await _in_request(lambda: _lookup(catalog, world)) == "v1"
    assert world.loads == 1
    assert world.version_reads == 5  # once per request


async def test_the_counter_is_read_once_per_request_and_only_when_the_catalog_is_used() -> None:
    world = World()
    catalog, _ = _catalog(world)

    async def three_lookups() -> None:
        for key in (KEY, ("api", "a"), KEY):
            await _lookup(catalog, world, key)

    await _in_request(three_lookups)
    assert world.version_reads == 1
    await _in_request(lambda: asyncio.sleep(0))  # a request that never looks anything up
    assert world.version_reads == 1


async def test_every_lookup_of_a_key_in_one_request_returns_the_same_value() -> None:
    world = World()
    catalog, _ = _catalog(world, ttl=0.0)  # nothing cached between requests: only the snapshot holds it
    seen: list[Any] = []

    async def request() -> None:
        seen.append(await _lookup(catalog, world))
        world.write(KEY, "v2")  # written by another process while this request runs
        catalog.invalidate_local()  # and its NOTIFY arrived
        seen.append(await _lookup(catalog, world))

    await _in_request(request)
    assert seen == ["v1", "v1"]
    assert await _in_request(lambda: _lookup(catalog, world)) == "v2"  # the next request sees it


async def test_a_request_sees_its_own_writes() -> None:
    world = World()
    catalog, _ = _catalog(world)

    async def request() -> list[Any]:
        before = await _lookup(catalog, world)
        world.write(KEY, "v2")
        catalog.invalidate()  # what every configuration write does after it committed
        return [before, await _lookup(catalog, world)]

    assert await _in_request(request) == ["v1", "v2"]


async def test_concurrent_lookups_of_one_request_wait_for_its_single_counter_read() -> None:
    world = World()
    catalog, _ = _catalog(world)

    async def request() -> list[Any]:
        return list(await asyncio.gather(_lookup(catalog, world), _lookup(catalog, world, ("api", "a"))))

    await _in_request(request)
    assert world.version_reads == 1


async def test_outside_a_request_the_counter_is_not_read_and_the_ttl_bounds_staleness() -> None:
    world = World()
    catalog, clock = _catalog(world, ttl=2.0)
    assert await _lookup(catalog, world) == "v1"
    world.write(KEY, "v2")
    assert await _lookup(catalog, world) == "v1"  # background work: today's behaviour
    assert world.version_reads == 0
    clock.advance(2.1)
    assert await _lookup(catalog, world) == "v2"


async def test_a_load_that_began_before_the_change_is_not_kept() -> None:
    world = World()
    catalog, _ = _catalog(world)
    world.gate = asyncio.Event()
    slow = asyncio.create_task(_in_request(lambda: _lookup(catalog, world)))  # reads "v1", then waits
    await asyncio.sleep(0)
    while world.loads == 0:
        await asyncio.sleep(0)
    world.write(KEY, "v2")
    world.gate.set()
    fresh = await _in_request(lambda: _lookup(catalog, world))  # sees the counter move: drops the old load
    assert (await slow, fresh) == ("v1", "v2")  # the slow request keeps its snapshot
    assert await _in_request(lambda: _lookup(catalog, world)) == "v2"


async def test_an_answer_older_than_one_already_applied_is_ignored() -> None:
    """Counter reads may complete out of order; the one that started first must not win."""
    world = World()
    catalog, _ = _catalog(world)
    release_first = asyncio.Event()
    answers = iter([0, 1])

    async def read_version() -> int:
        value = next(answers)
        if value == 0:
            await release_first.wait()  # the first read is slow
        return value

    catalog.read_version = read_version
    first = asyncio.create_task(_in_request(lambda: _lookup(catalog, world)))
    await asyncio.sleep(0)
    world.write(KEY, "v2")  # version 1
    assert await _in_request(lambda: _lookup(catalog, world)) == "v2"
    release_first.set()
    await first
    assert catalog._version == 1


async def test_a_failed_counter_read_drops_the_entries() -> None:
    world = World()
    catalog, _ = _catalog(world)
    assert await _in_request(lambda: _lookup(catalog, world)) == "v1"
    world.values[KEY] = "v2"

    async def broken() -> int:
        raise ConnectionError("database gone")

    catalog.read_version = broken
    assert await _in_request(lambda: _lookup(catalog, world)) == "v2"  # unknown: assume it moved


async def test_a_change_runs_the_hooks_before_the_request_goes_on() -> None:
    world = World()
    catalog, _ = _catalog(world)
    ran: list[int] = []

    async def hook() -> None:
        ran.append(world.version)

    catalog.on_change.append(hook)
    await _in_request(lambda: _lookup(catalog, world))  # the first check of a process counts as a change
    await _in_request(lambda: _lookup(catalog, world))
    world.write(KEY, "v2")
    await _in_request(lambda: _lookup(catalog, world))
    assert ran == [0, 1]


async def test_concurrent_requests_share_one_load_of_a_missing_entry() -> None:
    world = World()
    catalog, _ = _catalog(world)
    world.gate = asyncio.Event()
    requests = [asyncio.create_task(_in_request(lambda: _lookup(catalog, world))) for _ in range(10)]
    while world.loads == 0:
        await asyncio.sleep(0)
    for _ in range(5):
        await asyncio.sleep(0)
    world.gate.set()
    assert await asyncio.gather(*requests) == ["v1"] * 10
    assert world.loads == 1


@pytest.mark.parametrize("in_request", [False, True])
async def test_a_hot_entry_is_reloaded_in_the_background_in_the_second_half_of_its_life(in_request: bool) -> None:
    world = World()
    catalog, clock = _catalog(world, ttl=2.0)

    async def lookup() -> Any:
        return await (_in_request(lambda: _lookup(catalog, world)) if in_request else _lookup(catalog, world))

    assert await lookup() == "v1"
    world.values[KEY] = "v1b"  # changed without a counter bump: only a reload finds it
    clock.advance(1.5)
    assert await lookup() == "v1"  # served at once; the reload runs meanwhile
    for _ in range(5):
        await asyncio.sleep(0)
    assert world.loads == 2
    assert await lookup() == "v1b"
