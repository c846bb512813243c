"""What the per-request configuration check costs (docs/performance.md, "Consistency check cost").

``python -m consentry.bench.consistency [POSTGRES_URL]`` times, on SQLite and (given a URL, or a throwaway
server from tests/support when the test dependencies are installed) PostgreSQL:

- one counter read (``storage.config_version.reader``);
- one request's catalog work on a hit, with and without the check: a snapshot set by ``RequestSnapshot``, then
  the three lookups of a client_credentials request (client, API, client grants). The difference is the cost
  of the check;
- the same with 64 concurrent requests, where PostgreSQL reads are shared (at most one in flight).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from consentry.bootstrap import bootstrap
from consentry.clock import Clock
from consentry.config_cache import Snapshot, _snapshot
from consentry.runtime import Runtime
from consentry.settings import Settings
from consentry.storage import config_version
from consentry.storage.migrate import upgrade

ROUNDS = {"sqlite": 20_000, "postgresql": 5_000}
CONCURRENCY = 64


async def _request(rt: Runtime, client_id: str, audience: str) -> None:
    token = _snapshot.set(Snapshot())
    try:
        await rt.catalog.client(client_id)
        await rt.catalog.api(audience)
        await rt.catalog.client_grants(audience, client_id)
    finally:
        _snapshot.reset(token)


async def _per_request_us(rt: Runtime, rounds: int, concurrent: int = 1) -> tuple[float, float]:
    """(wall, this process's CPU) µs per request."""
    client_id, audience = "bench-missing-client", rt.settings.management_audience
    await _request(rt, client_id, audience)  # warm the entries
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(rounds // concurrent):
        if concurrent == 1:
            await _request(rt, client_id, audience)
        else:
            await asyncio.gather(*(_request(rt, client_id, audience) for _ in range(concurrent)))
    n = rounds // concurrent * concurrent
    return (time.perf_counter() - t0) / n * 1e6, (time.process_time() - c0) / n * 1e6


async def measure(url: str, name: str, data_dir: Path) -> dict[str, tuple[float, float]]:
    settings = Settings(
        database_url=url, issuer="http://bench/", data_dir=data_dir, key_encryption_key="bench-kek", cache_ttl=60.0
    )
    rt = Runtime.create(settings, Clock())
    try:
        await bootstrap(rt)
        rounds = ROUNDS[name]
        read = config_version.reader(rt.db)
        await read()
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(rounds):
            await read()
        figures = {
            "counter read": ((time.perf_counter() - t0) / rounds * 1e6, (time.process_time() - c0) / rounds * 1e6)
        }
        figures["request, checked"] = await _per_request_us(rt, rounds)
        checker, rt.catalog.read_version = rt.catalog.read_version, None
        figures["request, unchecked"] = await _per_request_us(rt, rounds)
        rt.catalog.read_version = checker
        figures[f"request, checked, {CONCURRENCY} concurrent"] = await _per_request_us(rt, rounds, CONCURRENCY)
        rt.catalog.read_version = None
        figures[f"request, unchecked, {CONCURRENCY} concurrent"] = await _per_request_us(rt, rounds, CONCURRENCY)
        return figures
    finally:
        await rt.db.dispose()


def main(argv: list[str]) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="consentry-consistency-"))
    targets = [("sqlite", f"sqlite+aiosqlite:///{tmp / 'consentry.db'}")]
    server = None
    if argv:
        targets.append(("postgresql", argv[0]))
    else:
        try:
            from tests.support.postgres import PostgresServer
        except ImportError:
            print("no PostgreSQL URL given and tests/support is not importable: SQLite only")
        else:
            server = PostgresServer()
            targets.append(("postgresql", server.start()))
    try:
        for name, url in targets:
            upgrade(url)
            for label, (wall, cpu) in asyncio.run(measure(url, name, tmp)).items():
                print(f"{name:10s} {label:38s} {wall:8.1f} µs wall {cpu:8.1f} µs CPU")
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
