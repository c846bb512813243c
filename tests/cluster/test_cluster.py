"""Scale-out: nginx in front of three Consentry nodes on one PostgreSQL, each in its own network namespace.

    client (10.231.0.30) ── nginx (.2:80) ──┬── node n1 (.11:8080) ──┐
                                            ├── node n2 (.12:8080) ──┼── PostgreSQL (.20:5432)
                                            └── node n3 (.13:8080) ──┘

The nodes share nothing but the database and the key-encryption key. The test

1. rotates the signing key through nginx and sees every node publish the new next key within ``BOUND`` s
   (LISTEN/NOTIFY; the cache TTL is 30 s);
2. runs the mixed load (``tests/load/driver.py``) from the client namespace through nginx and SIGKILLs n2
   when ``KILL_AT`` of the flows are done;
3. audits the database against what the clients hold (no write lost, nothing half-written, every token
   accounted for) and checks that only requests in flight on n2 at the moment of the kill failed (nginx
   retries a request on the next node when the connection to a node fails; a ``POST`` that had reached n2
   comes back as a 502 and the client sends it once more: docs/deployment.md); after the kill the two
   survivors answered everything;
4. shows that login rate limits are shared: failed logins spread over the nodes by nginx add up to the
   limit, counted against the client's address from ``X-Forwarded-For`` (nginx is a trusted proxy).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine

from consentry.services import audit as audit_events
from consentry.settings import Settings
from consentry.storage.models import AuditEvent
from tests.cluster.netns import SUBNET, Cluster, ClusterUnavailable, prerequisites
from tests.load.audit import audit
from tests.load.driver import Ledger, run_load
from tests.load.report import record
from tests.load.world import PASSWORD, World, seed
from tests.support.flow import hidden
from tests.support.live_server import TEST_KEK, consentry_command
from tests.support.postgres import _pg_bin, _quote

pytestmark = pytest.mark.fault

NODES = {"n1": 11, "n2": 12, "n3": 13}
LB, DB, CLIENT = 2, 20, 30
USERS, ROUNDS, KILL_AT = 12, 8, 0.4
BOUND = 3.0
ISSUER = f"http://{SUBNET}.{LB}/"
MAX_FAILURES = int(Settings.model_fields["login_max_failures"].default)
NGINX = Path(__file__).with_name("nginx.conf.template")


def _su_postgres(command: list[str], cluster: Cluster | None = None) -> None:
    argv = ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(_quote(c) for c in command)]
    if cluster is not None:
        argv = ["ip", "netns", "exec", cluster.ns("db"), *argv]
    subprocess.run(argv, check=True, capture_output=True, timeout=120)


class NamespacedPostgres:
    """PostgreSQL listening on the db namespace's address (nodes) and on a Unix socket (the test's audit)."""

    def __init__(self) -> None:
        self.bin = _pg_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="consentry-cluster-pg-"))  # not under pytest's 0700 tmp
        self.started = False

    def start(self, cluster: Cluster) -> str:
        shutil.chown(self.dir, "postgres")
        data = self.dir / "data"
        _su_postgres([str(self.bin / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"])
        with open(data / "pg_hba.conf", "a") as hba:
            hba.write(f"host all all {SUBNET}.0/24 trust\n")
        opts = f"-k {self.dir} -p 5432 -h {SUBNET}.{DB} -c fsync=off -c synchronous_commit=off -c max_connections=200"
        _su_postgres(
            [str(self.bin / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(self.dir / "log"), "-w", "start"], cluster
        )
        self.started = True
        return f"postgresql+asyncpg://postgres@/postgres?host={self.dir}&port=5432"

    def stop(self) -> None:
        try:
            if self.started:
                _su_postgres([str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop"])
                self.started = False
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


async def _create_database(local_url: str) -> tuple[str, str]:
    engine = create_async_engine(local_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text('CREATE DATABASE "consentry"'))
    finally:
        await engine.dispose()
    return (
        local_url.replace("/postgres?", "/consentry?"),
        f"postgresql+asyncpg://postgres@{SUBNET}.{DB}:5432/consentry",
    )


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[Cluster, NamespacedPostgres]]:
    reason = prerequisites()
    if reason:
        pytest.skip(reason)
    net = Cluster(tmp_path)
    pg = NamespacedPostgres()
    try:
        try:
            net.create_switch()
            for name, host in {"lb": LB, **NODES, "db": DB, "client": CLIENT}.items():
                net.add_member(name, host)
        except ClusterUnavailable as exc:
            pytest.skip(f"network namespaces cannot be created here: {exc}")
        yield net, pg
    finally:
        try:
            net.teardown()
        finally:
            pg.stop()


def _start_nodes(net: Cluster, tmp_path: Path, node_url: str) -> None:
    for name, host in NODES.items():
        data = tmp_path / name
        data.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONSENTRY_")}
        env.update(
            {
                "CONSENTRY_HOST": f"{SUBNET}.{host}",
                "CONSENTRY_PORT": "8080",
                "CONSENTRY_ISSUER": ISSUER,
                "CONSENTRY_DATABASE_URL": node_url,
                "CONSENTRY_DATA_DIR": str(data),
                "CONSENTRY_WORKERS": "1",
                "CONSENTRY_KEY_ENCRYPTION_KEY": TEST_KEK,
                "CONSENTRY_LOG_LEVEL": "warning",
                "CONSENTRY_CACHE_TTL": "30",
                "CONSENTRY_TRUSTED_PROXIES": json.dumps([f"{SUBNET}.{LB}"]),
            }
        )
        net.start(name, name, [*consentry_command(), "serve"], env=env, cwd=data)


def _start_nginx(net: Cluster, tmp_path: Path) -> None:
    conf = tmp_path / "nginx.conf"
    upstreams = "\n".join(f"        server {SUBNET}.{h}:8080 max_fails=1 fail_timeout=10s;" for h in NODES.values())
    conf.write_text(
        NGINX.read_text()
        .replace("@DIR@", str(tmp_path))
        .replace("@LISTEN@", f"{SUBNET}.{LB}:80")
        .replace("        @UPSTREAMS@", upstreams)
    )
    net.start("nginx", "lb", ["nginx", "-c", str(conf), "-g", "daemon off;"])


def _wait_ready(urls: list[str], net: Cluster, deadline: float = 90.0) -> None:
    def poll() -> None:
        pending, t0 = set(urls), time.monotonic()
        while pending:
            for url in list(pending):
                try:
                    if httpx.get(url, timeout=2).status_code == 200:
                        pending.discard(url)
                except httpx.HTTPError:
                    pass
            if time.monotonic() - t0 > deadline:
                logs = "\n".join(net.log(n, 20) for n in (*NODES, "nginx"))
                raise AssertionError(f"not ready: {pending}\n{logs}")
            time.sleep(0.3)

    net.call("client", poll)


async def _rotate_and_watch(world: World) -> float:
    async with httpx.AsyncClient(timeout=10) as http:
        r = await http.post(
            f"{ISSUER}oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": world.m2m_id,
                "client_secret": world.m2m_secret,
                "audience": world.management_audience,
            },
        )
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        for host in NODES.values():  # warm every node's key cache
            assert (await http.get(f"http://{SUBNET}.{host}:8080/.well-known/jwks.json")).status_code == 200
        r = await http.post(f"{ISSUER}api/v2/keys/signing/rotate", headers=auth)
        assert r.status_code == 201, r.text
        t0 = time.monotonic()
        # the promoted key was published before the rotation; what every node must follow is the new next key
        keys = (await http.get(f"{ISSUER}api/v2/keys/signing", headers=auth)).json()
        kid = next(k["kid"] for k in keys if k["next"])
        for host in NODES.values():
            while kid not in (await http.get(f"http://{SUBNET}.{host}:8080/.well-known/jwks.json")).text:
                assert time.monotonic() - t0 < BOUND, f"node .{host} still publishes the old key set"
                await asyncio.sleep(0.05)
        return time.monotonic() - t0


async def _failed_logins(world: World, email: str, attempts: int) -> list[int]:
    """Wrong passwords through nginx (one new authorization each, spread over the nodes); the statuses."""
    statuses = []
    async with httpx.AsyncClient(timeout=30, follow_redirects=True) as http:
        for _ in range(attempts):
            page = await http.get(f"{ISSUER}u/login")
            r = await http.post(
                f"{ISSUER}u/login",
                data={
                    "state": hidden(page.text, "state"),
                    "csrf": hidden(page.text, "csrf"),
                    "username": email,
                    "password": PASSWORD + "-wrong",
                },
            )
            statuses.append(r.status_code)
    return statuses


def _upstreams(tmp_path: Path) -> Counter[str]:
    """Answers per node from nginx's access log (``status upstream[, upstream…] method uri statuses``): the
    node that gave the final answer; the 502s of the readiness polling, before the nodes were up, left out."""
    served: Counter[str] = Counter()
    for line in (tmp_path / "access.log").read_text().splitlines():
        status, _, rest = line.partition(" ")
        upstreams = rest.split(" GET ")[0].split(" POST ")[0].split(" DELETE ")[0].split(", ")
        if status != "502" and upstreams[-1].startswith(SUBNET):
            served[upstreams[-1].removesuffix(":8080")] += 1
    return served


def test_three_nodes_behind_nginx_lose_no_write_when_one_is_killed(
    cluster: tuple[Cluster, NamespacedPostgres], tmp_path: Path
) -> None:
    net, pg = cluster
    local_url, node_url = asyncio.run(_create_database(pg.start(net)))
    world = seed(local_url, tmp_path / "seed", ISSUER, users=USERS + 1)
    _start_nodes(net, tmp_path, node_url)
    _start_nginx(net, tmp_path)
    _wait_ready(
        [f"http://{SUBNET}.{h}:8080/.well-known/openid-configuration" for h in NODES.values()]
        + [f"{ISSUER}.well-known/openid-configuration"],
        net,
    )
    rotation = net.call("client", lambda: asyncio.run(_rotate_and_watch(world)))

    killed: dict[str, float] = {}

    def progress(done: int) -> None:
        if not killed and done >= KILL_AT * USERS * ROUNDS:
            killed["at"] = time.time()
            net.kill("n2")

    ledger: Ledger = net.call(
        "client",
        lambda: asyncio.run(run_load(world, [ISSUER], ISSUER, users=USERS, iterations=ROUNDS, progress=progress)),
    )
    assert killed, "the run ended before the kill"
    alive = {name: net.processes[name].poll() is None for name in (*NODES, "nginx")}
    assert alive == {"n1": True, "n2": False, "n3": True, "nginx": True}, alive

    findings = asyncio.run(audit(local_url, world, ledger, ISSUER))
    assert not findings.problems, findings.problems
    failures = ledger.server_errors + ledger.transport_errors
    late = [f for f in failures if float(f.split()[0]) > killed["at"] + 2.0]
    assert not late, f"requests failed after the kill was over: {late[:5]}"
    assert all(" 502 " in f and f.split()[1] == "POST" for f in ledger.server_errors), ledger.server_errors
    # A POST in flight on the killed node ends as a 502 or, when nginx had already relayed part of the
    # exchange, as a dropped connection; both only around the kill (``late`` above), never for a GET.
    assert all(f.split()[1] == "POST" for f in ledger.transport_errors), ledger.transport_errors
    assert len(ledger.aborted_flows) <= len(failures), ledger.aborted_flows
    served = _upstreams(tmp_path)

    statuses = net.call("client", lambda: asyncio.run(_failed_logins(world, world.emails[USERS], MAX_FAILURES + 1)))
    assert statuses == [401] * MAX_FAILURES + [429], statuses
    ips = asyncio.run(_failure_ips(local_url))
    assert ips == {f"{SUBNET}.{CLIENT}"}, ips

    figures = findings.figures
    record(
        f"cluster: nginx + 3 nodes + PostgreSQL in 6 network namespaces; key rotation seen by every node in "
        f"{rotation * 1000:.0f} ms; {ledger.requests} requests, n2 killed at {KILL_AT:.0%} of the flows: "
        f"{len(failures)} in-flight POSTs got a 502 and were sent again ({len(ledger.aborted_flows)} flows "
        f"started over), 0 failures after the kill; no write lost ({figures['refresh_tokens_given']} refresh "
        f"tokens and {figures['codes_received']} codes accounted for, {figures['orphan_tokens']} tokens of lost "
        f"answers revoked); answers per node {dict(sorted(served.items()))}; login limit shared across nodes"
    )


async def _failure_ips(url: str) -> set[str | None]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(select(AuditEvent.ip).where(AuditEvent.type == audit_events.LOGIN_FAILURE))
            return {r.ip for r in rows}
    finally:
        await engine.dispose()
