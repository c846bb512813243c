"""``consentry bench``: seed, start the server with N workers, drive every scenario, report.

The order per database: migrate + bootstrap + seed (in this process), start ``consentry serve`` on a
free port, run the scenarios one after the other (wrk for single requests, the asyncio driver for
flows), read each worker's RSS, stop. The hello-world baseline runs first under the same options.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from consentry.bench import driver, seed, server, wrk
from consentry.bench.results import Measurement, table, write_json
from consentry.bench.scenarios import BY_NAME, SCENARIOS, Scenario, wrk_request

if TYPE_CHECKING:
    from consentry.commands.resource_servers import SigningAlg

KEK = "consentry-bench-key-encryption-key"
RATE_CEILING = 4000  # consumable items seeded per second of a list-driven scenario


@dataclass
class Options:
    quick: bool = False
    duration: float = 10.0
    warmup: float = 2.0
    workers: int = 2
    connections: int = 64
    wrk_threads: int = 1
    flow_concurrency: int = 32
    login_concurrency: int = 16
    databases: list[str] = field(default_factory=lambda: ["sqlite", "postgresql"])
    postgres_url: str | None = None
    scenarios: list[str] = field(default_factory=lambda: [s.name for s in SCENARIOS])
    scale: bool = False
    scale_users: int = 1_000_000
    scale_clients: int = 100_000
    scale_grants: int = 1_000_000
    scaling: bool = True
    login_users: int = 500
    login_step_flows: int = 60  # login flows run one at a time for the CPU of each request (driver.login_steps)
    sessions: int = 500
    output: Path = Path("bench/results/latest.json")
    workdir: Path | None = None
    signing_alg: SigningAlg = "RS256"  # the bench API's access tokens (docs/api.md, Signing algorithms)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _settings(url: str, data_dir: Path, port: int) -> Any:
    from consentry.settings import Settings

    return Settings(
        database_url=url,
        data_dir=data_dir,
        key_encryption_key=KEK,
        host="127.0.0.1",
        port=port,
        issuer=f"http://127.0.0.1:{port}/",
        log_level="warning",
    )


async def _seed(cfg: Any, opts: Options, workdir: Path) -> seed.Fixture:
    from consentry.bootstrap import bootstrap
    from consentry.login.passwords import hash_password
    from consentry.runtime import Runtime

    rt = Runtime.create(cfg)
    try:
        await bootstrap(rt)
        fx = await seed.seed_config(rt, hash_password(seed.PASSWORD), max(opts.login_users, 1), opts.signing_alg)
        await seed.seed_sessions(rt, fx, opts.sessions)
        await seed.seed_consumables(rt, fx, workdir, _consumable_count(opts), "empty")
        return fx
    finally:
        await rt.db.dispose()


async def _seed_more(cfg: Any, fx: seed.Fixture, opts: Options, workdir: Path, scale: bool) -> dict[str, float]:
    from consentry.runtime import Runtime

    rt = Runtime.create(cfg)
    try:
        timings: dict[str, float] = {}
        if scale:
            timings = await seed.seed_scale(
                rt, fx, users=opts.scale_users, clients=opts.scale_clients, grants=opts.scale_grants, progress=log
            )
        await seed.seed_consumables(rt, fx, workdir, _consumable_count(opts), "scaled" if scale else "again")
        return timings
    finally:
        await rt.db.dispose()


def _consumable_count(opts: Options) -> int:
    return int((opts.duration + opts.warmup + 2) * RATE_CEILING)


def _post(base: str, path: str, form: dict[str, str]) -> tuple[int, bytes]:
    req = urllib.request.Request(base + path, data=urllib.parse.urlencode(form).encode(), method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _get(base: str, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(base + path, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _preflight(s: Scenario, base: str, req: wrk.WrkRequest) -> str | None:
    """Send the scenario's request once (not for consumable lists); the problem, or None when it answers right."""
    if req.items is not None:
        return None
    if req.method == "GET":
        status, body = _get(base, req.path)
    else:
        status, body = _post(base, req.path, dict(urllib.parse.parse_qsl(req.body)))
    if status == 404 and s.name == "introspection":
        return "skip: /oauth/introspect is not available in this build"
    if status != 200 or (req.expect and req.expect.encode() not in body):
        return f"preflight answered HTTP {status}: {body[:300]!r}"
    return None


def _access_token(base: str, fx: seed.Fixture) -> str:
    status, body = _post(
        base,
        "/oauth/token",
        {
            "grant_type": "client_credentials",
            "client_id": fx.m2m_id,
            "client_secret": fx.m2m_secret,
            "audience": seed.API,
        },
    )
    if status != 200:
        raise RuntimeError(f"client_credentials preflight failed: HTTP {status} {body[:300]!r}")
    return str(json.loads(body)["access_token"])


def load_cpu() -> float:
    """CPU seconds of the load generator so far: the flow driver (this process) and the reaped wrk runs."""
    children = os.times()
    return time.process_time() + children.children_user + children.children_system


def argon2_verify_cpu_ms(rounds: int = 8) -> float:
    """CPU of one argon2id verification with the server's parameters (``login.passwords``), in this process."""
    from consentry.login.passwords import hash_password, verify_password

    stored = hash_password("bench-password")
    started = time.process_time()
    for _ in range(rounds):
        verify_password(stored, "bench-password")
    return (time.process_time() - started) * 1000 / rounds


def run_scenario(
    s: Scenario, srv: server.Server, fx: seed.Fixture, opts: Options, workdir: Path, token: str
) -> dict[str, Any]:
    row: dict[str, Any] = {"target": s.target, "p99_target_ms": s.p99_ms, "description": s.description}
    cpu_before, load_before = srv.cpu(), load_cpu()
    if s.kind == "wrk":
        req = wrk_request(s, fx, token)
        problem = _preflight(s, srv.base_url, req)
        if problem and problem.startswith("skip:"):
            row["skipped"] = problem[5:].strip()
            return row
        if problem:
            m = Measurement(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1, {"preflight": 1}, problem)
        else:
            if opts.warmup > 0 and req.items is None:
                wrk.run(
                    srv.base_url,
                    req,
                    duration=opts.warmup,
                    connections=opts.connections,
                    threads=opts.wrk_threads,
                    workdir=workdir,
                    name=f"{s.name}-warmup",
                )
            cpu_before, load_before = srv.cpu(), load_cpu()
            m = wrk.run(
                srv.base_url,
                req,
                duration=opts.duration,
                connections=opts.connections,
                threads=opts.wrk_threads,
                workdir=workdir,
                name=s.name,
            )
    else:
        concurrency = opts.login_concurrency if s.kind == "login" else opts.flow_concurrency
        m = driver.run(srv.base_url, fx, s.kind, concurrency=concurrency, duration=opts.duration, warmup=opts.warmup)
    row["result"] = m.as_dict()
    row["server_cpu_s"] = round(srv.cpu() - cpu_before, 2)
    done = max(1.0, m.rate * (opts.duration + (opts.warmup if s.kind != "wrk" else 0)))
    row["server_cpu_ms_per_op"] = round(row["server_cpu_s"] * 1000 / done, 3)
    # The load generator shares the two cores: if its CPU per operation moves, the rate moves with it.
    row["load_cpu_ms_per_op"] = round((load_cpu() - load_before) * 1000 / done, 3)
    row["met"] = m.errors == 0 and m.rate >= s.target and (s.p99_ms is None or m.p99_ms <= s.p99_ms)
    if s.kind == "login" and m.rate:
        # The login's cost beside its hash's (target: server CPU per login ≤ 1.3 × one verification).
        row["argon2_verify_cpu_ms"] = round(argon2_verify_cpu_ms(), 2)
        row["cpu_per_hash"] = round(row["server_cpu_ms_per_op"] / row["argon2_verify_cpu_ms"], 2)
        # The same, one flow at a time and per request: the login request itself beside its hash.
        steps = driver.login_steps(srv.base_url, fx, flows=opts.login_step_flows, cpu=srv.cpu)
        row["step_cpu_ms"] = steps
        row["login_request_per_hash"] = round(steps["POST /u/login"] / row["argon2_verify_cpu_ms"], 2)
    log(
        f"  {s.name:<20} {m.rate:>9,.0f}/s  p50 {m.p50_ms:.1f} ms  p99 {m.p99_ms:.1f} ms  errors {m.errors}  "
        f"server CPU {row['server_cpu_ms_per_op']:.2f} ms/op, load {row['load_cpu_ms_per_op']:.2f}"
        + (f" {m.error_kinds} {m.note}" if m.errors else "")
    )
    if "cpu_per_hash" in row:
        log(
            f"  {'':<20} one argon2id verification {row['argon2_verify_cpu_ms']:.2f} ms CPU: a login flow costs "
            f"{row['cpu_per_hash']:.2f} × its hash under load; one at a time, per request (ms): "
            + ", ".join(f"{k} {v:.2f}" for k, v in row["step_cpu_ms"].items())
            + f"; the login request {row['login_request_per_hash']:.2f} × its hash (target ≤ 1.3)"
        )
    return row


def _run_all(srv: server.Server, fx: seed.Fixture, opts: Options, workdir: Path) -> dict[str, Any]:
    token = _access_token(srv.base_url, fx)
    rows = {}
    for name in opts.scenarios:
        rows[name] = run_scenario(BY_NAME[name], srv, fx, opts, workdir, token)
        time.sleep(0.5)
    return rows


def measure_scaling(
    db: str, start: Callable[[int, str], server.Server], fx: seed.Fixture, opts: Options, workdir: Path
) -> dict[str, Any]:
    """client_credentials with one worker and with ``opts.workers``, run back to back as 1, N, N, 1.

    This machine's pace drifts by tens of percent over minutes (performance.md); comparing the main table's
    figure with a one-worker run made minutes later measured the drift as much as the scaling. The
    symmetric order cancels a steady drift, and each side is the mean of its two runs.
    """
    rates: dict[int, list[float]] = {1: [], opts.workers: []}
    log(f"{db}: scaling, client_credentials with 1, {opts.workers}, {opts.workers}, 1 workers")
    for i, workers in enumerate((1, opts.workers, opts.workers, 1)):
        srv = start(workers, f"scaling-{i}-{workers}w")
        try:
            row = run_scenario(BY_NAME["client_credentials"], srv, fx, opts, workdir, _access_token(srv.base_url, fx))
        finally:
            srv.stop()
        rates[workers].append(row["result"]["rate"] if row["result"]["errors"] == 0 else 0.0)
    one, many = (sum(rates[w]) / len(rates[w]) for w in (1, opts.workers))
    ratio = many / one if one else 0.0
    return {
        "db": db,
        "workers": opts.workers,
        "one": one,
        "many": many,
        "ratio": round(ratio, 2),
        "runs": {"one": rates[1], "many": rates[opts.workers]},
        "met": ratio >= 1.7,
    }


def measure_hello(opts: Options, workdir: Path) -> dict[str, Any]:
    port = server.free_port()
    srv = server.hello_server(port=port, workers=opts.workers, cwd=workdir, log=workdir / "hello.log")
    srv.start("/")
    try:
        req = wrk.WrkRequest(path="/")
        if opts.warmup > 0:
            wrk.run(
                srv.base_url,
                req,
                duration=opts.warmup,
                connections=opts.connections,
                threads=opts.wrk_threads,
                workdir=workdir,
                name="hello-warmup",
            )
        m = wrk.run(
            srv.base_url,
            req,
            duration=opts.duration,
            connections=opts.connections,
            threads=opts.wrk_threads,
            workdir=workdir,
            name="hello",
        )
    finally:
        srv.stop()
    log(f"hello world: {m.rate:,.0f}/s (p99 {m.p99_ms:.1f} ms, errors {m.errors})")
    return m.as_dict()


def bench_database(db: str, url: str, opts: Options, workdir: Path, report: dict[str, Any]) -> None:
    from consentry.storage.migrate import upgrade

    data_dir = workdir / db
    data_dir.mkdir(parents=True, exist_ok=True)
    port = server.free_port()
    cfg = _settings(url, data_dir, port)
    log(f"{db}: migrating and seeding")
    upgrade(url)
    fx = asyncio.run(_seed(cfg, opts, workdir))

    def start(workers: int, tag: str) -> server.Server:
        srv = server.consentry_server(
            port=port,
            workers=workers,
            database_url=url,
            data_dir=data_dir,
            log=workdir / f"server-{db}-{tag}.log",
            kek=KEK,
        )
        srv.start("/.well-known/openid-configuration")
        return srv

    log(f"{db}: server with {opts.workers} workers on port {port}")
    srv = start(opts.workers, "main")
    try:
        block: dict[str, Any] = {"scenarios": _run_all(srv, fx, opts, workdir)}
        block["rss_mb"] = srv.rss()
        block["pss_mb"] = srv.pss()
    finally:
        srv.stop()
    report["databases"][db] = block
    if opts.scaling and opts.workers > 1 and db == "postgresql" and "client_credentials" in opts.scenarios:
        report["scaling"] = measure_scaling(db, start, fx, opts, workdir)
    if opts.scale:
        log(f"{db}: seeding the data-scale set")
        t0 = time.perf_counter()
        timings = asyncio.run(_seed_more(cfg, fx, opts, workdir, scale=True))
        seeded = round(time.perf_counter() - t0, 1)
        srv = start(opts.workers, "scaled")
        try:
            scaled = _run_all(srv, fx, opts, workdir)
            rss = srv.rss()
        finally:
            srv.stop()
        rows = {}
        for name, row in scaled.items():
            before = block["scenarios"].get(name) or {}
            empty = before.get("result")
            if not empty or "result" not in row:
                continue
            ratio = row["result"]["rate"] / empty["rate"] if empty["rate"] else 0.0
            rows[name] = {
                "empty": empty["rate"],
                "scaled": row["result"]["rate"],
                "errors": row["result"]["errors"],
                "p99_ms": row["result"]["p99_ms"],
                "met": ratio >= 0.9 and row["result"]["errors"] == 0,
                # what the data costs the server, apart from how fast the shared machine ran meanwhile
                "server_cpu_ms_per_op": [before.get("server_cpu_ms_per_op"), row.get("server_cpu_ms_per_op")],
                "load_cpu_ms_per_op": [before.get("load_cpu_ms_per_op"), row.get("load_cpu_ms_per_op")],
            }
        report["scale"][db] = {
            "summary": f"{opts.scale_users:,} users, {opts.scale_clients:,} clients, {opts.scale_grants:,} user "
            f"grants; seeded in {seeded} s",
            "seed_seconds": timings,
            "rss_mb": rss,
            "scenarios": rows,
            "raw": scaled,
        }


def run(opts: Options) -> dict[str, Any]:
    """Run the whole benchmark; returns the report (also written to ``opts.output``)."""
    if not wrk.available():
        raise wrk.WrkMissing("wrk is not installed (apt-get install wrk); the benchmark needs it")
    workdir = opts.workdir or Path(tempfile.mkdtemp(prefix="consentry-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_before": [round(x, 2) for x in os.getloadavg()],
        },
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(opts).items()},
        "databases": {},
        "scale": {},
    }
    log(
        f"work folder {workdir}; {opts.duration:g} s per scenario after {opts.warmup:g} s warm-up, "
        f"{opts.workers} workers, wrk -t{opts.wrk_threads} -c{opts.connections}"
    )
    report["hello"] = measure_hello(opts, workdir)
    pg: server.Postgres | None = None
    try:
        for db in opts.databases:
            if db == "sqlite":
                url = f"sqlite+aiosqlite:///{workdir / 'sqlite' / 'consentry.db'}"
            else:
                url = opts.postgres_url or ""
                if not url:
                    try:
                        pg = server.Postgres()
                        url = pg.start()
                    except (RuntimeError, OSError) as exc:
                        log(f"postgresql skipped: {exc}")
                        report["databases"]["postgresql"] = {"skipped": str(exc), "scenarios": {}}
                        continue
            bench_database(db, url, opts, workdir, report)
    finally:
        if pg is not None:
            pg.stop()
    report["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    report["machine"]["load_after"] = [round(x, 2) for x in os.getloadavg()]
    report["errors"] = sum(
        (row.get("result") or {}).get("errors", 0)
        for block in report["databases"].values()
        for row in block.get("scenarios", {}).values()
    )
    write_json(report, opts.output)
    print(table(report))
    print(f"\nwritten to {opts.output}")
    if opts.workdir is None and not report["errors"]:
        shutil.rmtree(workdir, ignore_errors=True)  # databases, logs, token lists (kept when a request failed)
    else:
        print(f"work folder kept: {workdir}")
    return report
