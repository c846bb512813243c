#!/usr/bin/env python3
"""Side-by-side benchmark: Consentry against node-oidc-provider and django-oauth-toolkit (and a hello world).

Stdlib only. Expects `setup.sh` to have run (it installs and seeds everything under $PB_DATA).
Every comparison alternates peer and Consentry runs (A B A B A B); before each pair it waits (up to
--max-wait s) for the 1-minute load average to fall under --load; it records that load, the machine's
CPU used by processes other than the server under test and wrk during each run, the server's CPU per
request (utime+stime of its process tree from /proc, plus Redis for node-oidc-provider) and RSS per worker.

Usage: python3 bench.py [--duration 10] [--blocks code,refresh,cc32,intro,jwks,cc64,disc] [--pairs 3]
"""

from __future__ import annotations

import argparse
import json
import re
import os
import tempfile
import resource
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("PB_DATA", os.path.join(tempfile.gettempdir(), "pb-data")))
CONSENTRY = Path(os.environ.get("PB_CONSENTRY", os.path.join(tempfile.gettempdir(), "pb-clone")))
RESULTS = HERE / "results"
TICK = os.sysconf("SC_CLK_TCK")
PORTS = {"hello": 9100, "consentry": 9101, "oidc-provider": 9102, "dot": 9103, "dot-hashed": 9103, "consentry-pg": 9104}
SUBJECTS = ("consentry", "consentry-pg")  # Consentry on SQLite and on PostgreSQL


def log(msg: str) -> None:
    print(f"[peer-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- /proc helpers
def proc_stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()


def children(pid: int) -> list[int]:
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            st = proc_stat(int(p.name))
            if st and int(st[1]) == pid:
                out.append(int(p.name))
    return out


def tree(pid: int) -> list[int]:
    todo, seen = [pid], []
    while todo:
        p = todo.pop()
        seen.append(p)
        todo.extend(children(p))
    return seen


def cpu_s(pids: list[int], reaped: list[int] | None = None) -> float:
    """utime+stime of pids; for those in ``reaped`` also their waited-for children (Redis's snapshot forks)."""
    total = 0
    for p in pids:
        st = proc_stat(p)
        if st:
            total += int(st[11]) + int(st[12])
            if reaped and p in reaped:
                total += int(st[13]) + int(st[14])
    return total / TICK


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


def machine_busy_s() -> float:
    """Busy CPU seconds of the whole machine so far (all cores), from /proc/stat."""
    f = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = f[3] + f[4]
    return (sum(f[:8]) - idle) / TICK


def load1() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


# ---------------------------------------------------------------- servers
@dataclass
class Server:
    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    ready: str
    extra_pids: list[int] = field(default_factory=list)  # e.g. Redis: counted in the server's CPU
    proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{PORTS[self.name]}"

    def start(self) -> None:
        logf = (DATA / f"{self.name}.log").open("ab")
        self.proc = subprocess.Popen(self.argv, env={**os.environ, **self.env}, cwd=self.cwd, stdout=logf,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 90
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited {self.proc.returncode}; see {DATA}/{self.name}.log")
            try:
                with urllib.request.urlopen(self.base + self.ready, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        else:
            raise RuntimeError(f"{self.name} not ready")
        time.sleep(1.5)  # every worker up
        log(f"{self.name}: pid {self.proc.pid}, workers {self.workers()}")

    def workers(self) -> list[int]:
        assert self.proc
        kids = children(self.proc.pid)
        if self.name in ("hello", *SUBJECTS):  # uvicorn's spawned workers, Consentry's forked ones
            kids = [k for k in kids if re.search(rb"spawn_main|consentry\.supervisor", Path(f"/proc/{k}/cmdline").read_bytes())
                    and b"resource_tracker" not in Path(f"/proc/{k}/cmdline").read_bytes()]
        return sorted(kids) or [self.proc.pid]

    def all_pids(self) -> list[int]:
        assert self.proc
        return tree(self.proc.pid) + self.extra_pids

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # its own PID only
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


def consentry_env(variant: str) -> dict[str, str]:
    """``consentry`` on SQLite (9101) or ``consentry-pg`` on the throwaway PostgreSQL of run-all.sh (9104)."""
    port = PORTS[variant]
    url = (json.loads((DATA / "pg.json").read_text())["url"] if variant == "consentry-pg"
           else f"sqlite+aiosqlite:///{DATA}/c.db")
    return {"CONSENTRY_HOST": "127.0.0.1", "CONSENTRY_PORT": str(port), "CONSENTRY_ISSUER": f"http://127.0.0.1:{port}/",
            "CONSENTRY_WORKERS": "2", "CONSENTRY_DATABASE_URL": url, "CONSENTRY_DATA_DIR": str(DATA / variant),
            "CONSENTRY_LOG_LEVEL": "warning"}


def make_servers(redis_pid: int) -> dict[str, Server]:
    cv = CONSENTRY / ".venv/bin"
    dv = HERE / "dot/.venv/bin"
    return {
        "hello": Server("hello", [str(cv / "python"), "-m", "uvicorn", "consentry.bench.hello:app", "--host",
                                  "127.0.0.1", "--port", "9100", "--workers", "2", "--no-access-log", "--log-level",
                                  "warning", "--loop", "uvloop", "--http", "httptools", "--no-server-header"],
                        {}, CONSENTRY, "/"),
        **{v: Server(v, [str(cv / "consentry"), "serve"], consentry_env(v), CONSENTRY,
                     "/.well-known/openid-configuration") for v in SUBJECTS},
        "oidc-provider": Server("oidc-provider", ["node", "server.mjs"], {"PORT": "9102", "WORKERS": "2",
                                "REDIS_URL": "redis://127.0.0.1:6390", "NODE_ENV": "production"},
                                HERE / "oidc-provider", "/.well-known/openid-configuration", [redis_pid]),
        "dot": Server("dot", [str(dv / "gunicorn"), "-c", "gunicorn.conf.py", "benchsite.wsgi:application"],
                      {"PB_DATA": str(DATA), "DOT_PORT": "9103"}, HERE / "dot", "/o/.well-known/jwks.json"),
    }


# ---------------------------------------------------------------- requests
@dataclass
class Req:
    method: str
    path: str
    body: str = ""
    expect: str = ""
    items: list[str] | None = None  # single-use values appended to body (refresh tokens)


def consentry_requests(c: dict, variant: str) -> dict[str, Req]:
    """The write scenarios of one Consentry (SQLite or PostgreSQL): the same requests, its own seeded items."""
    auth = f"client_id={c['app'][0]}&client_secret={c['app'][1]}"
    return {
        "refresh": Req("POST", "/oauth/token", f"grant_type=refresh_token&{auth}&refresh_token=", '"refresh_token"',
                       (DATA / variant / "consentry-refresh.txt").read_text().split()),
        "code": Req("POST", "/oauth/token", f"grant_type=authorization_code&{auth}&redirect_uri={c['redirect_uri']}"
                    f"&code_verifier={c['verifier']}&code=", '"id_token"',
                    (DATA / variant / "consentry-codes.txt").read_text().split()),
    }


def requests_for(fx: dict) -> dict[str, dict[str, Req]]:
    c, o, d = fx["consentry"], fx["oidc-provider"], fx["dot"]
    api_c = c["api"]
    writes = {v: consentry_requests(fx[v], v) for v in SUBJECTS}
    return {
        "cc": {
            "consentry": Req("POST", "/oauth/token", f"grant_type=client_credentials&client_id={c['m2m'][0]}"
                             f"&client_secret={c['m2m'][1]}&audience={api_c}&scope=read:data", '"access_token"'),
            "oidc-provider": Req("POST", "/token", f"grant_type=client_credentials&client_id=bench-m2m"
                                 f"&client_secret={o['m2m']}&resource=https://api.bench.example/&scope=read:data",
                                 '"access_token"'),
            "dot": Req("POST", "/o/token/", f"grant_type=client_credentials&client_id={d['m2m_plain'][0]}"
                       f"&client_secret={d['m2m_plain'][1]}&scope=read", '"access_token"'),
            "dot-hashed": Req("POST", "/o/token/", f"grant_type=client_credentials&client_id={d['m2m_hashed'][0]}"
                              f"&client_secret={d['m2m_hashed'][1]}&scope=read", '"access_token"'),
        },
        "intro": {
            "consentry": Req("POST", "/oauth/introspect", f"token={c['token']}&client_id={c['rs'][0]}"
                             f"&client_secret={c['rs'][1]}", '"active":true'),
            "oidc-provider": Req("POST", "/token/introspection", f"token={o['opaque_token']}&client_id=bench-rs"
                                 f"&client_secret={o['rs']}", '"active":true'),
            "dot": Req("POST", "/o/introspect/", f"token={d['introspect_token']}&client_id={d['rs_plain'][0]}"
                       f"&client_secret={d['rs_plain'][1]}", '"active": true'),
        },
        "jwks": {
            "consentry": Req("GET", "/.well-known/jwks.json"),
            "oidc-provider": Req("GET", "/jwks"),
            "dot": Req("GET", "/o/.well-known/jwks.json"),
            "hello": Req("GET", "/"),
        },
        "disc": {
            "consentry": Req("GET", "/.well-known/openid-configuration"),
            "oidc-provider": Req("GET", "/.well-known/openid-configuration"),
            "dot": Req("GET", "/o/.well-known/openid-configuration"),
        },
        "code": {
            **{v: writes[v]["code"] for v in SUBJECTS},
            "oidc-provider": Req("POST", "/token", f"grant_type=authorization_code&client_id=bench-app"
                                 f"&client_secret={o['app']}&redirect_uri=https://partner.bench.example/callback"
                                 f"&code_verifier={OP_VERIFIER}&code=", '"id_token"',
                                 (DATA / "op-codes.txt").read_text().split()),
        },
        "refresh": {
            **{v: writes[v]["refresh"] for v in SUBJECTS},
            "oidc-provider": Req("POST", "/token", f"grant_type=refresh_token&client_id=bench-app"
                                 f"&client_secret={o['app']}&refresh_token=", '"refresh_token"',
                                 (DATA / "op-refresh.txt").read_text().split()),
            "dot": Req("POST", "/o/token/", f"grant_type=refresh_token&client_id={d['app'][0]}"
                       f"&client_secret={d['app'][1]}&refresh_token=", '"refresh_token"',
                       (DATA / "dot-refresh.txt").read_text().split()),
        },
    }


OP_VERIFIER = "peer-bench-pkce-verifier-0123456789-abcdefghijklmnopqrstuvwxyz"  # oidc-provider/seed.mjs

DONE = ('WRKJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,'
        '"timeout":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d,"bad":%d,"exhausted":%d,"maxpos":%d}\\n')


def lua(req: Req, items_file: Path | None, threads: int) -> str:
    q = json.dumps
    lines = [f"wrk.method = {q(req.method)}", f"wrk.path = {q(req.path)}"]
    if req.method == "POST":
        lines.append('wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"')
        if items_file is None:
            lines.append(f"wrk.body = {q(req.body)}")
    lines += ["local threads, n = {}, 0", "bad, exhausted = 0, 0",
              "function setup(t) t:set('tid', n); n = n + 1; table.insert(threads, t) end"]
    if items_file is not None:
        lines += ["local items = {}", "pos = 0", "function init(args)", "  local i = 0",
                  f"  for line in io.lines({q(str(items_file))}) do",
                  f"    if i % {threads} == tid and line ~= '' then items[#items + 1] = line end",
                  "    i = i + 1", "  end", "end",
                  "function request()", "  pos = pos + 1", "  local it = items[pos]",
                  "  if it == nil then exhausted = exhausted + 1; it = 'exhausted' end",
                  f"  return wrk.format(nil, nil, nil, {q(req.body)} .. it)", "end"]
    if req.expect:
        lines += ["function response(status, headers, body)",
                  f"  if status ~= 200 or not string.find(body, {q(req.expect)}, 1, true) then bad = bad + 1 end",
                  "end"]
    lines += ["function done(s, lat, r)", "  local b, ex, mp = 0, 0, 0",
              "  for _, t in ipairs(threads) do b = b + (t:get('bad') or 0); ex = ex + (t:get('exhausted') or 0);"
              " mp = math.max(mp, t:get('pos') or 0) end",
              "  local e = s.errors",
              f"  io.write(string.format('{DONE}', s.requests, s.duration, e.connect, e.read, e.write, e.status,",
              "    e.timeout, lat:percentile(50), lat:percentile(90), lat:percentile(99), lat.max, b, ex, mp))", "end"]
    return "\n".join(lines) + "\n"


class Runner:
    def __init__(self, servers: dict[str, Server], reqs: dict, args: argparse.Namespace) -> None:
        self.servers, self.reqs, self.args = servers, reqs, args
        self.cursor: dict[str, int] = {}
        self.rows: list[dict] = []
        self.deadline = time.time() + args.budget * 60

    def server_for(self, name: str) -> Server:
        return self.servers["dot" if name == "dot-hashed" else name]

    def wrk(self, block: str, name: str, conns: int, duration: float, tag: str) -> dict:
        req = self.reqs[block][name]
        srv = self.server_for(name)
        items_file = None
        if req.items is not None:
            start = self.cursor.get(name, 0)
            left = req.items[start:]
            if len(left) < 100:
                raise RuntimeError(f"{name}: refresh tokens used up")
            items_file = DATA / "lua" / f"items-{name}.txt"
            items_file.parent.mkdir(exist_ok=True)
            items_file.write_text("\n".join(left) + "\n")
        script = DATA / "lua" / f"{block}-{name}.lua"
        script.parent.mkdir(exist_ok=True)
        script.write_text(lua(req, items_file, self.args.threads))
        pids = srv.all_pids()
        reaped = srv.extra_pids
        cpu0, busy0, ru0, t0 = cpu_s(pids, reaped), machine_busy_s(), resource.getrusage(resource.RUSAGE_CHILDREN), time.time()
        load0 = load1()
        proc = subprocess.run(["wrk", f"-t{self.args.threads}", f"-c{conns}", f"-d{int(duration)}s", "--timeout", "10s",
                               "-s", str(script), srv.base], capture_output=True, text=True, timeout=duration + 60)
        cpu1, busy1, ru1, t1 = cpu_s(pids, reaped), machine_busy_s(), resource.getrusage(resource.RUSAGE_CHILDREN), time.time()
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
        if line is None:
            raise RuntimeError(f"wrk failed: {proc.stdout[-500:]} {proc.stderr[-500:]}")
        d = json.loads(line[8:])
        errors = {k: d[k] for k in ("connect", "read", "write", "status", "timeout", "bad", "exhausted") if d[k]}
        if req.items is not None:
            # thread k took lines k, k+T, ... of this run's file: skip past the furthest one any thread reached
            self.cursor[name] = self.cursor.get(name, 0) + self.args.threads * (d["maxpos"] + 1)
        secs = d["duration_us"] / 1e6
        wrk_cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        server_cpu = cpu1 - cpu0
        other = max(0.0, (busy1 - busy0) - server_cpu - wrk_cpu)
        ok = d["requests"] - sum(v for k, v in errors.items() if k in ("status", "bad", "exhausted"))
        row = {"block": block, "server": name, "conns": conns, "tag": tag, "requests": d["requests"],
               "rate": round(d["requests"] / secs, 1), "ok_rate": round(ok / secs, 1),
               "p50_ms": d["p50"] / 1000, "p99_ms": d["p99"] / 1000, "max_ms": d["max"] / 1000, "errors": errors,
               "server_cpu_ms_per_req": round(server_cpu * 1000 / max(d["requests"], 1), 3),
               "server_cores": round(server_cpu / (t1 - t0), 2), "wrk_cores": round(wrk_cpu / (t1 - t0), 2),
               "other_cores": round(other / (t1 - t0), 2), "load_at_start": load0,
               "time": time.strftime("%H:%M:%S", time.localtime(t0))}
        row["drain_s"] = self.drain(pids)
        if tag != "warmup":
            self.rows.append(row)
            with (RESULTS / "runs.jsonl").open("a") as f:
                f.write(json.dumps(row) + "\n")
        log(f"  {block:8s} c{conns} {name:14s} {row['rate']:>9,.0f}/s p50 {row['p50_ms']:.1f} p99 {row['p99_ms']:.1f} ms "
            f"cpu {row['server_cpu_ms_per_req']:.3f} ms/req  other {row['other_cores']:.2f} cores  load {load0:.2f} "
            f"{errors or ''} [{tag}]")
        return row

    @staticmethod
    def drain(pids: list[int]) -> float:
        """Wait until the server is idle (requests queued past wrk's end, e.g. PBKDF2, would load the next run)."""
        t0 = time.time()
        while time.time() - t0 < 60:
            try:  # a Redis snapshot in progress belongs to node-oidc-provider's run, not the next one
                info = subprocess.run(["redis-cli", "-p", "6390", "info", "persistence"], capture_output=True,
                                      text=True, timeout=5).stdout
                if "rdb_bgsave_in_progress:1" in info:
                    time.sleep(0.5)
                    continue
            except (OSError, subprocess.SubprocessError):
                pass
            c0 = cpu_s(pids)
            time.sleep(0.5)
            if cpu_s(pids) - c0 < 0.03:
                break
        return round(time.time() - t0, 1)

    def wait_quiet(self, pairs_left: int) -> float:
        per_pair = 2 * self.args.duration + 4
        share = (self.deadline - time.time() - pairs_left * per_pair) / max(pairs_left, 1)
        cap = max(10.0, min(self.args.max_wait, share))
        t0 = time.time()
        while load1() >= self.args.load and time.time() - t0 < cap:
            time.sleep(2)
        lv = load1()
        log(f"waited {time.time() - t0:.0f} s (cap {cap:.0f}); load {lv:.2f}")
        return lv

    def block(self, block: str, peers: list[str], conns: int, pairs_left_after: int, subjects: list[str]) -> None:
        """Warm every server up, then per round and peer: the peer's run, then each Consentry's run right after."""
        log(f"block {block} c{conns}: peers {peers}, Consentry {subjects}")
        for name in [*subjects, *peers]:
            self.wrk(block, name, conns, self.args.warmup, "warmup")
        for i in range(self.args.pairs):
            for peer in peers:
                left = pairs_left_after + (self.args.pairs - i) * len(peers)
                lv = self.wait_quiet(left)
                pair = f"pair{i + 1}"
                a = self.wrk(block, peer, conns, self.args.duration, pair)
                a["pair_load"], a["pair_with"] = lv, subjects[0]
                for subject in subjects:
                    b = self.wrk(block, subject, conns, self.args.duration, pair)
                    b["pair_load"], b["pair_with"] = lv, peer
                with (RESULTS / "runs.jsonl").open("a") as f:
                    f.write(json.dumps({"pair": pair, "block": block, "conns": conns, "peer": peer, "load": lv}) + "\n")


BLOCKS = {  # name -> (scenario, connections, peers, the Consentry servers measured beside each peer run)
    "code": ("code", 32, ["oidc-provider"], list(SUBJECTS)),
    "refresh": ("refresh", 32, ["oidc-provider", "dot"], list(SUBJECTS)),
    "cc32": ("cc", 32, ["oidc-provider", "dot", "dot-hashed"], ["consentry"]),
    "intro": ("intro", 32, ["oidc-provider", "dot"], ["consentry"]),
    "jwks": ("jwks", 32, ["oidc-provider", "dot", "hello"], ["consentry"]),
    "cc64": ("cc", 64, ["oidc-provider", "dot"], ["consentry"]),
    "disc": ("disc", 32, ["oidc-provider", "dot"], ["consentry"]),
}
DEFAULT_BLOCKS = "code,refresh,cc32,intro,jwks,disc"  # codes were seeded valid for one hour: code runs first


def summarize(rows: list[dict], rss: dict, totals: dict, fx_note: dict) -> str:
    """The table: per block and server the medians, and per peer the median of each Consentry/peer pair ratio."""
    def med(xs):
        return statistics.median(xs) if xs else float("nan")

    out = ["| scenario | server | req/s (median) | p99 ms (median) | server CPU ms/req | runs (req/s @ load, other cores) "
           "| Consentry/peer (median of pair ratios; medians of the pairs) | ×hello |", "|---|---|---|---|---|---|---|---|"]
    hello = med([r["rate"] for r in rows if r["server"] == "hello"])
    keys = []
    for r in rows:
        k = (r["block"], r["conns"])
        if k not in keys:
            keys.append(k)
    for block, conns in keys:
        sub = [r for r in rows if r["block"] == block and r["conns"] == conns]
        names = []
        for r in sub:
            if r["server"] not in names:
                names.append(r["server"])
        for n in names:
            rs = [r for r in sub if r["server"] == n]
            ratios = []
            for subject in (x for x in names if x in SUBJECTS and n not in SUBJECTS):
                pairs = [(a, b) for a in rs for b in sub if b["server"] == subject and b.get("pair_with") == n
                         and b["tag"] == a["tag"]]
                if pairs:
                    ratio = med([b["rate"] / a["rate"] for a, b in pairs if a["rate"]])
                    ratios.append(f"{LABEL[subject]} **{ratio:.2f}** ({med([b['rate'] for _, b in pairs]):,.0f} / "
                                  f"{med([a['rate'] for a, _ in pairs]):,.0f})")
            runs = ", ".join(f"{r['rate']:,.0f}@{r.get('pair_load', r['load_at_start']):.2f},{r['other_cores']:.2f}"
                             + ("!" + json.dumps(r["errors"]) if r["errors"] else "") for r in rs)
            out.append(f"| {block} c{conns} | {LABEL.get(n, n)} | {med([r['rate'] for r in rs]):,.0f} | "
                       f"{med([r['p99_ms'] for r in rs]):.1f} | {med([r['server_cpu_ms_per_req'] for r in rs]):.3f} | "
                       f"{runs} | {'; '.join(ratios)} | {_x_hello(med([r['rate'] for r in rs]), hello)} |")
    errors = sum(1 for r in rows if r["errors"])
    out += ["", f"Runs with failed requests: {errors}.", "",
            "| deployment | processes (RSS MB after the run) | total RSS MB |", "|---|---|---|"]
    for name, procs in totals.items():
        out.append(f"| {LABEL.get(name, name)} | {', '.join(f'{k} {v:.0f}' for k, v in procs.items())} | "
                   f"{sum(procs.values()):.0f} |")
    out.append("")
    out.append("RSS per worker after the run (MB): " + json.dumps(rss))
    out.append("")
    out.append("Notes: " + json.dumps(fx_note))
    return "\n".join(out) + "\n"


LABEL = {"consentry": "Consentry (SQLite)", "consentry-pg": "Consentry (PostgreSQL)"}


def _x_hello(rate: float, hello: float) -> str:
    """The rate as a share of the hello world's (– when no hello world ran in these blocks)."""
    return f"{rate / hello:.3f}" if hello == hello and hello else "–"


def deployment_rss(servers: dict[str, "Server"], redis_pid: int) -> dict[str, dict[str, float]]:
    """Every process of each deployment after the run: supervisor or primary or master, workers, Redis."""
    out: dict[str, dict[str, float]] = {}
    for name, srv in servers.items():
        if srv.proc is None or name == "hello":
            continue
        workers = srv.workers()
        procs = {"supervisor" if name in SUBJECTS else "primary" if name == "oidc-provider" else "master":
                 rss_mb(srv.proc.pid)}
        procs.update({f"worker {i + 1}": rss_mb(p) for i, p in enumerate(workers)})
        others = [p for p in tree(srv.proc.pid) if p != srv.proc.pid and p not in workers]
        procs.update({f"other {i + 1}": rss_mb(p) for i, p in enumerate(others)})  # e.g. a resource tracker
        if name == "oidc-provider":
            procs["redis"] = rss_mb(redis_pid)
        out[name] = procs
    return out


def http_post(url: str, body: str) -> dict:
    req = urllib.request.Request(url, data=body.encode(), method="POST",
                                 headers={"content-type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def main() -> None:
    global RESULTS
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--warmup", type=float, default=3, help="seconds of warm-up per server per block")
    ap.add_argument("--out", default=str(HERE / "results"), help="results folder")
    ap.add_argument("--load", type=float, default=0.7)
    ap.add_argument("--max-wait", type=float, default=180)
    ap.add_argument("--budget", type=float, default=50, help="minutes for the whole measuring part")
    ap.add_argument("--blocks", default=DEFAULT_BLOCKS)
    args = ap.parse_args()
    RESULTS = Path(args.out)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "runs.jsonl").write_text("")
    fx = json.loads((DATA / "fixture.json").read_text())
    redis_pid = int((DATA / "redis.pid").read_text())
    servers = make_servers(redis_pid)
    started = []
    try:
        for s in servers.values():
            s.start()
            started.append(s)
        # The tokens to introspect, each issued by the running server: Consentry's RS256 JWT access token for the
        # API; node-oidc-provider's opaque token for its opaque resource server (it refuses to introspect JWTs).
        c, o = fx["consentry"], fx["oidc-provider"]
        fx["consentry"]["token"] = http_post("http://127.0.0.1:9101/oauth/token", (
            f"grant_type=client_credentials&client_id={c['m2m'][0]}&client_secret={c['m2m'][1]}"
            f"&audience={c['api']}&scope=read:data"))["access_token"]
        fx["oidc-provider"]["opaque_token"] = http_post("http://127.0.0.1:9102/token", (
            f"grant_type=client_credentials&client_id=bench-m2m&client_secret={o['m2m']}"
            "&resource=https://api-opaque.bench.example/&scope=read:data"))["access_token"]
        reqs = requests_for(fx)
        r = Runner(servers, reqs, args)
        blocks = [b for b in args.blocks.split(",") if b]
        total_pairs = [len(BLOCKS[b][2]) * args.pairs for b in blocks]
        log(f"uptime: {Path('/proc/loadavg').read_text().strip()}; {sum(total_pairs)} pairs")
        for i, b in enumerate(blocks):
            scen, conns, peers, subjects = BLOCKS[b]
            r.block(scen, peers, conns, sum(total_pairs[i + 1:]), subjects)
        rss = {s.name: s.workers() and [rss_mb(p) for p in s.workers()] for s in started}
        totals = deployment_rss(servers, redis_pid)
        table = summarize(r.rows, rss, totals, {"load_threshold": args.load, "duration_s": args.duration,
                                                "wrk": f"-t{args.threads} --timeout 10s"})
        (RESULTS / "summary.md").write_text(table)
        (RESULTS / "rss.json").write_text(json.dumps({"workers": rss, "deployments": totals}))
        print(table)
    finally:
        for s in reversed(started):
            s.stop()


if __name__ == "__main__":
    main()
