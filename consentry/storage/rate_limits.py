"""The SQL of the shared ``rate_counters`` table: fixed-window counters and leases (``services.rate_limit``).

Each write is ONE atomic ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` statement, which both SQLite (≥ 3.35) and
PostgreSQL run without a read-modify-write race. Keys are cut to the column's 255 characters.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, case, delete, select

from consentry.storage.db import OrmUnit, Unit, dialect_insert
from consentry.storage.models import RateCounter

_COUNT = select(RateCounter.count, RateCounter.window_start).where(RateCounter.key == bindparam("key"))
_RESET = delete(RateCounter).where(RateCounter.key == bindparam("key"))


def _insert(sqlite: bool) -> Any:
    return dialect_insert("sqlite" if sqlite else "postgresql")(RateCounter)


async def count_event(unit: Unit, key: str, now: float, window: float, *, sqlite: bool) -> int:
    """Count one event for ``key`` and return the count of its window. A window started ``window`` seconds ago
    or earlier has ended: the event opens a new one at ``now`` with a count of 1."""
    expired = RateCounter.window_start <= now - window
    stmt = (
        _insert(sqlite)
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
    return int((await unit.execute(stmt)).scalar_one())


async def counter(unit: Unit, key: str) -> tuple[int, float] | None:
    """The stored count of ``key`` and when its window started (None: nothing counted)."""
    row = (await unit.execute(_COUNT, {"key": key[:255]})).first()
    return None if row is None else (int(row[0]), float(row[1]))


async def forget(unit: Unit, key: str) -> None:
    await unit.execute(_RESET, {"key": key[:255]})


async def take_lease(s: OrmUnit, key: str, holder: int, now: float, ttl: float, *, sqlite: bool) -> bool:
    """Take or renew the lease ``key`` until ``now + ttl``; False while another holder has it.

    The row stores the lease's expiry in ``window_start`` and the holder in ``count``; the update applies only when
    the lease has expired or is already ours, so exactly one process wins.
    """
    stmt = (
        _insert(sqlite)
        .values(key=key, window_start=now + ttl, count=holder)
        .on_conflict_do_update(
            index_elements=[RateCounter.key],
            set_={"window_start": now + ttl, "count": holder},
            where=(RateCounter.window_start <= now) | (RateCounter.count == holder),
        )
        .returning(RateCounter.count)
    )
    return (await s.execute(stmt)).first() is not None


async def delete_started_before(s: OrmUnit, cutoff: float) -> int:
    """Delete the counters (and leases) whose window started before ``cutoff``; how many were deleted."""
    result = await s.execute(delete(RateCounter).where(RateCounter.window_start < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
