"""Fixed-window counters and leases in the shared ``rate_counters`` table.

Every process (and machine) on one database sees the same counts, so limits hold across workers.
Each operation is ONE atomic ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` statement, which both
SQLite (≥ 3.35) and PostgreSQL run without a read-modify-write race.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, case, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from consentry.runtime import Runtime
from consentry.storage.db import dialect_insert
from consentry.storage.models import RateCounter

LEASE_PREFIX = "lease:"
LOGIN_FAILURE_PREFIX = "login-fail:"  # failed password logins per (IP, identifier): Auth0's brute-force blocks


def login_failure_key(ip: str, login: str) -> str:
    """The counter of failed logins of ``login`` (lowercased identifier) from ``ip`` (``storage.login_blocks``)."""
    return f"{LOGIN_FAILURE_PREFIX}{ip}:{login}"


_COUNT = select(RateCounter.count, RateCounter.window_start).where(RateCounter.key == bindparam("key"))
_RESET = delete(RateCounter).where(RateCounter.key == bindparam("key"))


def _insert(rt: Runtime) -> Any:
    return dialect_insert("sqlite" if rt.db.is_sqlite else "postgresql")(RateCounter)


async def hit(rt: Runtime, key: str, limit: int, window: float) -> bool:
    """Count one event for ``key``; True while the current window holds at most ``limit`` events.

    A window starts at the first event after the previous one ended; the count then restarts at 1.
    """
    async with rt.db.write() as conn:
        return await hit_in(rt, conn, key, limit, window)


async def hit_in(rt: Runtime, conn: AsyncConnection, key: str, limit: int, window: float) -> bool:
    """``hit`` inside the caller's write transaction."""
    now = rt.clock.now()
    expired = RateCounter.window_start <= now - window
    stmt = (
        _insert(rt)
        .values(key=key[:255], window_start=now, count=1)
        .on_conflict_do_update(
            index_elements=[RateCounter.key],
            set_={
                "count": case((expired, 1), else_=RateCounter.count + 1),
                "window_start": case((expired, now), else_=RateCounter.window_start),
            },
        )
        .returning(RateCounter.count)
    )
    count = int((await conn.execute(stmt)).scalar_one())
    return count <= limit


async def count(rt: Runtime, key: str, window: float) -> int:
    """Events counted for ``key`` in its current window (0 when the window has ended); does not count."""
    async with rt.db.connect() as conn:
        return await count_in(rt, conn, key, window)


async def count_in(rt: Runtime, conn: AsyncConnection, key: str, window: float) -> int:
    """``count`` on the caller's connection (one checkout for the several reads of a login)."""
    row = (await conn.execute(_COUNT, {"key": key[:255]})).first()
    if row is None:
        return 0
    events, window_start = row
    return 0 if window_start <= rt.clock.now() - window else int(events)


async def reset(rt: Runtime, key: str) -> None:
    """Forget ``key`` (e.g. after a successful login)."""
    async with rt.db.write() as conn:
        await reset_in(conn, key)


async def reset_in(conn: AsyncConnection, key: str) -> None:
    """``reset`` inside the caller's write transaction."""
    await conn.execute(_RESET, {"key": key[:255]})


async def lease(rt: Runtime, name: str, holder: int, ttl: float) -> bool:
    """Take or renew the lease ``name`` for ``ttl`` seconds; False while another holder has it.

    The row stores the lease's expiry in ``window_start`` and the holder in ``count``; the update
    applies only when the lease has expired or is already ours, so exactly one process wins.
    """
    now = rt.clock.now()
    key = f"{LEASE_PREFIX}{name}"
    stmt = (
        _insert(rt)
        .values(key=key, window_start=now + ttl, count=holder)
        .on_conflict_do_update(
            index_elements=[RateCounter.key],
            set_={"window_start": now + ttl, "count": holder},
            where=(RateCounter.window_start <= now) | (RateCounter.count == holder),
        )
        .returning(RateCounter.count)
    )
    async with rt.db.transaction() as s:
        return (await s.execute(stmt)).first() is not None


async def purge(rt: Runtime, older_than: float) -> int:
    """Delete counters (and expired leases) whose window started more than ``older_than`` seconds ago."""
    async with rt.db.transaction() as s:
        result = await s.execute(delete(RateCounter).where(RateCounter.window_start < rt.clock.now() - older_than))
    return int(getattr(result, "rowcount", 0) or 0)
