"""SQLite faults on a live server: the database locked by another process, and the disk full.

- Locked: another process holds the write lock (``BEGIN EXCLUSIVE``) longer than ``WRITE_LOCK_TIMEOUT``. A
  write waits that long and then answers ``503 temporarily_unavailable`` (not a 500); meanwhile reads and
  JWKS answer at once (WAL, and the wait happens on the event loop, not in SQLite's busy handler, which
  with inline SQLite froze the whole worker: consentry/storage/db.py); once the lock is gone writes
  succeed again.
- Disk full: the database lives on a small tmpfs (``ENOSPC``), or its server process gets a file size
  limit (``prlimit RLIMIT_FSIZE``: ``EFBIG``). Writes answer 503, reads 200, and after space is freed
  writes succeed again without a restart.

After each, ``PRAGMA integrity_check`` is ``ok`` and everything acknowledged before the fault is there.
"""

from __future__ import annotations

import asyncio
import resource
import shutil
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from consentry.storage.db import WRITE_LOCK_TIMEOUT
from tests.load.report import record
from tests.load.world import World, seed
from tests.support.live_server import LiveProcess, free_port, live_server

pytestmark = pytest.mark.fault


@contextmanager
def sqlite_server(tmp_path: Path, db_dir: Path) -> Iterator[tuple[World, str, LiveProcess, Path]]:
    port = free_port()
    db = db_dir / "consentry.db"
    url = f"sqlite+aiosqlite:///{db}"
    world = seed(url, tmp_path / "data", f"http://127.0.0.1:{port}/", users=0)
    with live_server(tmp_path, {"CONSENTRY_PORT": str(port)}, database_url=url) as (base, process):
        yield world, base, process, db


async def _auth(http: httpx.AsyncClient, base: str, world: World) -> dict[str, str]:
    r = await http.post(
        f"{base}oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": world.m2m_id,
            "client_secret": world.m2m_secret,
            "audience": world.management_audience,
        },
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def _create(http: httpx.AsyncClient, base: str, auth: dict[str, str], name: str) -> httpx.Response:
    return await http.post(f"{base}api/v2/clients", headers=auth, json={"name": name, "app_type": "non_interactive"})


def _unavailable(r: httpx.Response) -> bool:
    return r.status_code == 503 and r.json().get("errorCode") == "temporarily_unavailable"


def _integrity(db: Path) -> tuple[str, int]:
    conn = sqlite3.connect(db)
    try:
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        return check, conn.execute("SELECT count(*) FROM clients").fetchone()[0]
    finally:
        conn.close()


def _hold_lock(db: Path, seconds: float, locked: threading.Event) -> None:
    conn = sqlite3.connect(db, timeout=30, isolation_level=None)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        locked.set()
        time.sleep(seconds)
        conn.execute("ROLLBACK")
    finally:
        conn.close()


async def _locked_scenario(world: World, base: str, db: Path) -> dict[str, float]:
    out: dict[str, float] = {}
    async with httpx.AsyncClient(timeout=60) as http:
        auth = await _auth(http, base, world)
        assert (await _create(http, base, auth, "before")).status_code == 201
        locked = threading.Event()
        holder = threading.Thread(target=_hold_lock, args=(db, WRITE_LOCK_TIMEOUT + 3, locked))
        holder.start()
        try:
            assert await asyncio.to_thread(locked.wait, 10)
            t0 = time.monotonic()
            write = asyncio.create_task(_create(http, base, auth, "during"))
            await asyncio.sleep(0.3)  # the write is now waiting for the lock
            t1 = time.monotonic()
            jwks = await http.get(f"{base}.well-known/jwks.json")
            out["jwks_delay"] = time.monotonic() - t1
            assert jwks.status_code == 200
            t1 = time.monotonic()
            reads = await http.get(f"{base}api/v2/clients", headers=auth)
            out["read_delay"] = time.monotonic() - t1
            assert reads.status_code == 200, reads.text  # WAL: readers do not wait for the writer
            r = await write
            out["write_wait"] = time.monotonic() - t0
            assert _unavailable(r), (r.status_code, r.text)
        finally:
            await asyncio.to_thread(holder.join)
        r = await _create(http, base, auth, "after")
        assert r.status_code == 201, r.text
    return out


def test_sqlite_locked_by_another_process_is_a_clean_503_and_recovers(tmp_path: Path) -> None:
    with sqlite_server(tmp_path, tmp_path / "data") as (world, base, process, db):
        out = asyncio.run(_locked_scenario(world, base, db))
        assert process.poll() is None
        assert "Traceback" not in process.log_tail(200)
    check, clients = _integrity(db)
    assert check == "ok" and clients == 2 + 2  # bootstrap's M2M "ops" and the app, then "before" and "after"
    assert WRITE_LOCK_TIMEOUT - 0.5 < out["write_wait"] < WRITE_LOCK_TIMEOUT + 5
    assert out["jwks_delay"] < 3.0 and out["read_delay"] < 3.0, out  # not frozen for the 10 s of the wait
    record(
        f"sqlite locked: a write waited {out['write_wait']:.1f} s for another process's lock and got a clean "
        f"503; meanwhile JWKS answered in {out['jwks_delay'] * 1000:.0f} ms and a Management API read in "
        f"{out['read_delay'] * 1000:.0f} ms (the wait is on the event loop); integrity_check ok"
    )


@contextmanager
def small_tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _fill(directory: Path) -> Path:
    """Fill the file system until writing fails (ENOSPC)."""
    filler = directory / "filler"
    with open(filler, "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass
    return filler


async def _full_scenario(world: World, base: str, make_full: object, make_room: object) -> dict[str, int]:
    seen = {"503": 0, "reads": 0}
    async with httpx.AsyncClient(timeout=60) as http:
        auth = await _auth(http, base, world)
        for i in range(5):
            assert (await _create(http, base, auth, f"before-{i}")).status_code == 201
        await asyncio.to_thread(make_full)  # type: ignore[arg-type]
        for i in range(20):  # enough writes to need new pages in the WAL
            r = await _create(http, base, auth, f"full-{i}" + "x" * 200)
            if r.status_code == 201:
                continue
            assert _unavailable(r), (r.status_code, r.text)
            seen["503"] += 1
        r = await http.get(f"{base}api/v2/clients", headers=auth, params={"per_page": "50"})
        assert r.status_code == 200, r.text
        seen["reads"] += 1
        await asyncio.to_thread(make_room)  # type: ignore[arg-type]
        r = await _create(http, base, auth, "after")
        assert r.status_code == 201, r.text
    assert seen["503"] > 0, "the disk never filled up"
    return seen


@pytest.mark.parametrize("how", ["tmpfs-enospc", "rlimit-efbig"])
def test_sqlite_disk_full_is_a_clean_503_nothing_is_corrupted_and_writes_recover(tmp_path: Path, how: str) -> None:
    if how == "tmpfs-enospc":
        with small_tmpfs(tmp_path / "disk", "3m") as disk, sqlite_server(tmp_path, disk) as (world, base, proc, db):
            filler: list[Path] = []
            seen = asyncio.run(
                _full_scenario(world, base, lambda: filler.append(_fill(disk)), lambda: filler[0].unlink())
            )
            assert proc.poll() is None
            check, clients = _integrity(db)
            shutil.copy(db, tmp_path / "copy.db")
    else:
        with sqlite_server(tmp_path, tmp_path / "data") as (world, base, proc, db):

            def cap() -> None:
                size = sum(p.stat().st_size for p in db.parent.glob("consentry.db*"))
                resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (size // 2, resource.RLIM_INFINITY))  # soft limit

            def uncap() -> None:
                resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

            seen = asyncio.run(_full_scenario(world, base, cap, uncap))
            assert proc.poll() is None
            check, clients = _integrity(db)
    assert check == "ok"
    assert clients >= 2 + 5 + 1
    record(
        f"sqlite disk full ({how}): {seen['503']} writes answered a clean 503, reads kept working, "
        f"writes recovered without a restart; integrity_check ok ({clients} clients)"
    )
