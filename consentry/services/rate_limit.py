"""Fixed-window counters and leases in the shared ``rate_counters`` table.

Every process (and machine) on one database sees the same counts, so limits hold across workers.
Each operation is ONE atomic statement (``storage.rate_limits``), without a read-modify-write race.
"""

from __future__ import annotations

from consentry.runtime import Runtime
from consentry.storage import rate_limits
from consentry.storage.db import Unit

LEASE_PREFIX = "lease:"
LOGIN_FAILURE_PREFIX = "login-fail:"  # failed password logins per (IP, identifier): Auth0's brute-force blocks


def login_failure_key(ip: str, login: str) -> str:
    """The counter of failed logins of ``login`` (lowercased identifier) from ``ip`` (``storage.login_blocks``)."""
    return f"{LOGIN_FAILURE_PREFIX}{ip}:{login}"


async def hit(rt: Runtime, key: str, limit: int, window: float) -> bool:
    """Count one event for ``key``; True while the current window holds at most ``limit`` events.

    A window starts at the first event after the previous one ended; the count then restarts at 1.
    """
    async with rt.db.write() as conn:
        return await hit_in(rt, conn, key, limit, window)


async def hit_in(rt: Runtime, conn: Unit, key: str, limit: int, window: float) -> bool:
    """``hit`` inside the caller's write transaction."""
    count = await rate_limits.count_event(conn, key, rt.clock.now(), window, sqlite=rt.db.is_sqlite)
    return count <= limit


async def count(rt: Runtime, key: str, window: float) -> int:
    """Events counted for ``key`` in its current window (0 when the window has ended); does not count."""
    async with rt.db.connect() as conn:
        return await count_in(rt, conn, key, window)


async def count_in(rt: Runtime, conn: Unit, key: str, window: float) -> int:
    """``count`` on the caller's connection (one checkout for the several reads of a login)."""
    stored = await rate_limits.counter(conn, key)
    if stored is None:
        return 0
    events, window_start = stored
    return 0 if window_start <= rt.clock.now() - window else events


async def reset(rt: Runtime, key: str) -> None:
    """Forget ``key`` (e.g. after a successful login)."""
    async with rt.db.write() as conn:
        await reset_in(conn, key)


async def reset_in(conn: Unit, key: str) -> None:
    """``reset`` inside the caller's write transaction."""
    await rate_limits.forget(conn, key)


async def lease(rt: Runtime, name: str, holder: int, ttl: float) -> bool:
    """Take or renew the lease ``name`` for ``ttl`` seconds; False while another holder has it (exactly one
    process holds it at a time: ``storage.rate_limits.take_lease``)."""
    now = rt.clock.now()
    async with rt.db.transaction() as s:
        return await rate_limits.take_lease(s, f"{LEASE_PREFIX}{name}", holder, now, ttl, sqlite=rt.db.is_sqlite)


async def purge(rt: Runtime, older_than: float) -> int:
    """Delete counters (and expired leases) whose window started more than ``older_than`` seconds ago."""
    async with rt.db.transaction() as s:
        return await rate_limits.delete_started_before(s, rt.clock.now() - older_than)
