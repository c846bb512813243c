"""``consentry serve`` migrates and bootstraps in a child process, then becomes the bare supervisor that forks the
workers: it stays small, and a database it cannot migrate still stops it at once with the one-line reason and a
non-zero exit."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.live_server import live_server


def test_serve_stops_with_the_reason_when_the_database_cannot_be_migrated(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CONSENTRY_DATA_DIR": str(tmp_path),
        "CONSENTRY_PORT": "1",
        "CONSENTRY_DATABASE_URL": "postgresql+asyncpg://nobody:secret@127.0.0.1:9/none",
    }
    done = subprocess.run(
        [sys.executable, "-m", "consentry", "serve"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "cannot migrate the database at postgresql+asyncpg://nobody:***@127.0.0.1:9/none" in done.stderr
    assert "secret" not in done.stderr and "Traceback" not in done.stderr
    assert "listening" not in done.stderr  # nothing was served


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _maps(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def _wait_for_workers(pid: int, count: int) -> list[int]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        workers = _children(pid)
        if len(workers) == count and all("pydantic_core" in _maps(w) for w in workers):
            return workers
        time.sleep(0.2)
    raise AssertionError(f"{count} workers did not come up: {_children(pid)}")


def test_the_supervisor_is_bare_and_forks_its_workers(tmp_path: Path) -> None:
    """The process that stays up is ``consentry.supervisor`` with uvicorn only; its two children are the workers
    (no resource tracker), a killed worker is replaced, and SIGTERM stops them all."""
    with live_server(tmp_path, {"CONSENTRY_WORKERS": "2"}) as (base_url, process):
        cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes()
        assert b"consentry.supervisor" in cmdline
        # Native modules the application needs and the supervisor must not load: pydantic's core, SQLite, argon2's.
        assert not re.search(r"pydantic_core|_sqlite3|_argon2|_sodium", _maps(process.pid))
        workers = _wait_for_workers(process.pid, 2)
        assert all(b"resource_tracker" not in Path(f"/proc/{w}/cmdline").read_bytes() for w in workers)

        os.kill(workers[0], signal.SIGKILL)
        deadline = time.monotonic() + 60
        while set(_children(process.pid)) & {workers[0]} or len(_children(process.pid)) < 2:
            assert time.monotonic() < deadline, "the killed worker was not replaced"
            time.sleep(0.2)
        replaced = _wait_for_workers(process.pid, 2)
        assert workers[1] in replaced and workers[0] not in replaced
        for _ in range(4):  # both workers answer (the kernel spreads connections over them)
            assert httpx.get(f"{base_url}.well-known/openid-configuration", timeout=10).status_code == 200

        os.kill(process.pid, signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert not any(Path(f"/proc/{w}").exists() for w in replaced)
