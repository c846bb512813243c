"""Single-request scenarios with ``wrk`` (Debian's package) and a generated Lua script.

The script sends either a fixed request, or one whose body takes the next item of a list (refresh
tokens, authorization codes: each is valid once), optionally checks each body for a marker, and
prints one JSON line from ``done()`` with the request count, latency percentiles and every error.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from consentry.bench.results import Measurement


class WrkMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class WrkRequest:
    method: str = "GET"
    path: str = "/"
    body: str = ""  # fixed body, or the text before the list item
    suffix: str = ""  # text after the list item
    items: Path | None = None  # one item per line, each used once
    expect: str = ""  # a marker every response body must contain
    content_type: str = "application/x-www-form-urlencoded"


DONE_FORMAT = (
    'WRKJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,'
    '"timeout":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d,"exhausted":%d,"bad":%d}\\n'
)


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal for these ASCII values


def lua_script(req: WrkRequest, threads: int) -> str:
    lines = [f"wrk.method = {_lua_string(req.method)}", f"wrk.path = {_lua_string(req.path)}"]
    if req.method == "POST":
        lines.append(f'wrk.headers["Content-Type"] = {_lua_string(req.content_type)}')
        if req.items is None:
            lines.append(f"wrk.body = {_lua_string(req.body)}")
    lines += [
        "local threads, nthreads = {}, 0",
        "exhausted, bad = 0, 0",
        "function setup(thread)",
        "  thread:set('tid', nthreads)",
        "  nthreads = nthreads + 1",
        "  table.insert(threads, thread)",
        "end",
    ]
    if req.items is not None:
        lines += [
            "local items, pos = {}, 0",
            "function init(args)",
            "  local i = 0",
            f"  for line in io.lines({_lua_string(str(req.items))}) do",
            f"    if i % {threads} == tid and line ~= '' then items[#items + 1] = line end",
            "    i = i + 1",
            "  end",
            "end",
            "function request()",
            "  pos = pos + 1",
            "  local item = items[pos]",
            "  if item == nil then exhausted = exhausted + 1; item = 'exhausted' end",
            f"  return wrk.format(nil, nil, nil, {_lua_string(req.body)} .. item .. {_lua_string(req.suffix)})",
            "end",
        ]
    if req.expect:
        lines += [
            "function response(status, headers, body)",
            f"  if status ~= 200 or not string.find(body, {_lua_string(req.expect)}, 1, true) then bad = bad + 1 end",
            "end",
        ]
    lines += [
        "function done(summary, latency, requests)",
        "  local ex, b = 0, 0",
        "  for _, t in ipairs(threads) do ex = ex + (t:get('exhausted') or 0); b = b + (t:get('bad') or 0) end",
        "  local e = summary.errors",
        "  io.write(string.format('" + DONE_FORMAT + "',",
        "    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,",
        "    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, ex, b))",
        "end",
    ]
    return "\n".join(lines) + "\n"


def available() -> bool:
    return shutil.which("wrk") is not None


def run(
    base_url: str, req: WrkRequest, *, duration: float, connections: int, threads: int, workdir: Path, name: str
) -> Measurement:
    """Drive ``req`` for ``duration`` seconds; returns the measurement (errors include wrong bodies)."""
    exe = shutil.which("wrk")
    if exe is None:
        raise WrkMissing("wrk is not installed (apt-get install wrk)")
    script = workdir / f"{name}.lua"
    script.write_text(lua_script(req, threads))
    cmd = [
        exe,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        base_url,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}"[:2000])
    data = json.loads(line[len("WRKJSON ") :])
    seconds = data["duration_us"] / 1e6
    errors = {k: data[k] for k in ("connect", "read", "write", "status", "timeout", "exhausted", "bad") if data[k]}
    if data["requests"] == 0:
        errors["no_response"] = 1
    return Measurement(
        requests=data["requests"],
        seconds=seconds,
        rate=data["requests"] / seconds if seconds else 0.0,
        p50_ms=data["p50"] / 1000,
        p90_ms=data["p90"] / 1000,
        p99_ms=data["p99"] / 1000,
        max_ms=data["max"] / 1000,
        errors=sum(errors.values()),
        error_kinds=errors,
    )
