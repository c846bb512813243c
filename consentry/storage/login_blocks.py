"""Which (identifier, IP) pairs the login throttle blocks now, and lifting those blocks (Auth0's user blocks).

The throttle counts failed password logins in ``rate_counters`` under ``login-fail:{ip}:{identifier}``
(``services.rate_limit.login_failure_key``); a pair is blocked while its window holds ``max_failures`` or more.
Deleting the counter lifts the block at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, or_, select

from consentry.storage.db import Database, Unit
from consentry.storage.models import RateCounter

PREFIX = "login-fail:"


@dataclass(frozen=True)
class Block:
    identifier: str
    ip: str


def _matching(identifiers: list[str]) -> ColumnElement[bool]:
    return or_(
        *(
            RateCounter.key.startswith(PREFIX, autoescape=True) & RateCounter.key.endswith(f":{i}", autoescape=True)
            for i in identifiers
        )
    )


async def blocked(db: Database, identifiers: list[str], *, now: float, window: float, max_failures: int) -> list[Block]:
    if not identifiers:
        return []
    query = select(RateCounter.key).where(
        _matching(identifiers), RateCounter.count >= max_failures, RateCounter.window_start > now - window
    )
    async with db.connect() as conn:
        keys = list((await conn.execute(query.order_by(RateCounter.key))).scalars().all())
    found = []
    for key in keys:
        for identifier in identifiers:
            if key.endswith(f":{identifier}"):
                found.append(Block(identifier, key[len(PREFIX) : -len(identifier) - 1]))
                break
    return found


async def unblock_in(unit: Unit, identifiers: list[str]) -> int:
    if not identifiers:
        return 0
    result = await unit.execute(delete(RateCounter).where(_matching(identifiers)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
