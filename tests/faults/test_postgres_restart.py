"""PostgreSQL restarted under load: requests fail cleanly with 503 and recover without restarting Consentry.

A PostgreSQL of the test's own (the session's is shared) serves two ``consentry serve`` processes under
steady traffic (refresh rotation, client credentials, Management API reads, authorization requests).
It is stopped (``pg_ctl stop -m fast``: sessions terminated), left down for ``DOWN`` seconds, and started
again. Every answer must be a success or a ``503 temporarily_unavailable`` in the endpoint's own error
shape (never a 500, never a dropped connection); within ``RECOVERY`` seconds of the restart everything
succeeds again, the same server processes are still running, the notification listener is back (a change
through one process reaches the other at once), and the database invariants hold.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.faults.traffic import Traffic, run_traffic
from tests.load.audit import invariants
from tests.load.report import record
from tests.load.world import API, World, seeded_servers
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.fault

DOWN, RECOVERY, AFTER = 3.0, 5.0, 4.0


class RestartablePostgres(PostgresServer):
    """The throwaway server, with a stop and a start that keep its data directory."""

    def _ctl(self, *args: str) -> None:
        self._run(self.bin / "pg_ctl", "-D", str(self.dir / "data"), *args)

    def halt(self) -> None:
        self._ctl("-m", "fast", "-w", "stop")

    def resume(self) -> None:
        opts = (
            f"-k {self.dir} -p {self.port} -h 127.0.0.1 -c fsync=off -c synchronous_commit=off"
            " -c max_connections=200"
        )  # as PostgresServer.start
        self._ctl("-o", opts, "-l", str(self.dir / "log"), "-w", "start")


@pytest.fixture
def own_postgres() -> object:
    server = RestartablePostgres()
    url = server.start()
    try:
        yield server, url
    finally:
        server.stop()


async def _scenario(world: World, bases: list[str], issuer: str, pg: RestartablePostgres) -> tuple[Traffic, dict]:
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run_traffic(world, bases, issuer, stop, ready))
    marks: dict[str, float] = {}
    await asyncio.wait_for(ready.wait(), 60)
    await asyncio.sleep(2.0)
    marks["down"] = time.monotonic()
    await asyncio.to_thread(pg.halt)
    await asyncio.sleep(DOWN)
    marks["starting"] = time.monotonic()
    await asyncio.to_thread(pg.resume)
    marks["up"] = time.monotonic()
    await asyncio.sleep(RECOVERY + AFTER)
    stop.set()
    traffic = await task
    marks["end"] = time.monotonic()
    return traffic, marks


async def _notify_works(world: World, a: str, b: str) -> float:
    async with httpx.AsyncClient(timeout=10) as http:
        token = (
            await http.post(
                f"{a}oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": world.m2m_id,
                    "client_secret": world.m2m_secret,
                    "audience": world.management_audience,
                },
            )
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        svc = (
            await http.post(
                f"{a}api/v2/clients",
                headers=auth,
                json={"name": "svc", "app_type": "non_interactive", "grant_types": ["client_credentials"]},
            )
        ).json()
        grant = (
            await http.post(
                f"{a}api/v2/client-grants",
                headers=auth,
                json={"client_id": svc["client_id"], "audience": API, "scope": ["read:posts"]},
            )
        ).json()
        form = {
            "grant_type": "client_credentials",
            "client_id": svc["client_id"],
            "client_secret": svc["client_secret"],
            "audience": API,
        }
        assert (await http.post(f"{b}oauth/token", data=form)).status_code == 200  # cached by B for 30 s
        assert (await http.delete(f"{a}api/v2/client-grants/{grant['id']}", headers=auth)).status_code == 204
        t0 = time.monotonic()
        while (await http.post(f"{b}oauth/token", data=form)).status_code == 200:
            assert time.monotonic() - t0 < 3.0, "B still issues tokens for a deleted client grant"
            await asyncio.sleep(0.05)
        return time.monotonic() - t0


def test_postgres_restart_under_load_fails_cleanly_and_recovers(tmp_path: Path, own_postgres: object) -> None:
    pg, url = own_postgres  # type: ignore[misc]
    env = {"CONSENTRY_CACHE_TTL": "30"}
    with seeded_servers(url, tmp_path, count=2, env=env, users=8) as (world, bases, processes):
        traffic, marks = asyncio.run(_scenario(world, bases, processes[0].issuer, pg))
        assert all(p.poll() is None for p in processes), "a server process died"
        notify_ms = asyncio.run(_notify_works(world, bases[0], bases[1])) * 1000
        logs = "\n".join(p.log_tail(400) for p in processes)
    found = asyncio.run(invariants(url))
    kinds = Counter((a.status, a.error) for a in traffic.answers)
    unclean = [a for a in traffic.answers if a.status >= 500 and (a.status, a.error) not in CLEAN_503]
    unclean += [a for a in traffic.answers if a.status in (0, -1) and a.at < marks["starting"]]
    assert not unclean, (unclean[:5], kinds)
    during = traffic.between(marks["down"] + 0.5, marks["starting"])
    assert during and all(a.status == 503 for a in during if a.kind in ("refresh", "mgmt", "authorize")), kinds
    settled = traffic.between(marks["up"] + RECOVERY, marks["end"])
    # a refresh whose 503 had in fact committed is refused as a replay when retried; that user signs in again
    assert settled and all(
        200 <= a.status < 400 or (a.kind, a.error) == ("refresh", "invalid_grant") for a in settled
    ), Counter((a.status, a.error) for a in settled)
    first_ok = min(a.at for a in traffic.answers if a.at > marks["up"] and a.status == 200)
    assert not found.problems, found.problems
    assert "Traceback" not in logs, logs[-3000:]
    n503 = sum(1 for a in traffic.answers if a.status == 503)
    record(
        f"postgres restart: {len(traffic.answers)} requests, {n503} clean 503 while down ({DOWN:.0f} s), "
        f"first success {first_ok - marks['up']:.2f} s after the restart, 0 500s, "
        f"{traffic.resignins} users signed in again; notify listener back ({notify_ms:.0f} ms)"
    )


CLEAN_503 = {(503, "temporarily_unavailable"), (503, "page")}
