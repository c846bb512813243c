"""The SQL of the audit log's reads (``GET /api/v2/logs``, the dashboard's log page): pages, checkpoints, names.

A search arrives as OR-groups of AND-ed ``EventMatch``es, already in SQL's terms (LIKE patterns escaped with
``\\``); the ``q`` language itself is parsed in ``services/listing.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select, tuple_

from consentry.storage.db import OrmUnit
from consentry.storage.models import AuditEvent, User

COLUMNS = {
    "type": AuditEvent.type,
    "user_id": AuditEvent.user_id,
    "client_id": AuditEvent.client_id,
    "ip": AuditEvent.ip,
    "log_id": AuditEvent.log_id,
    "description": AuditEvent.description,
}
NEWEST_FIRST = (AuditEvent.date.desc(), AuditEvent.log_id.desc())
OLDEST_FIRST = (AuditEvent.date.asc(), AuditEvent.log_id.asc())


@dataclass(frozen=True)
class EventMatch:
    """One search term: ``field`` (a key of ``COLUMNS``; None: part of the lowercased description) equals
    ``value``, or matches it as a LIKE pattern when ``like``; ``types``: stored type names that match as well."""

    field: str | None
    value: str
    like: bool
    types: tuple[str, ...] = ()


Search = Sequence[Sequence[EventMatch]]  # OR-groups of AND-ed matches; empty: every event


def _clause(m: EventMatch) -> Any:
    if m.field is None:
        return func.lower(AuditEvent.description).like(m.value, escape="\\")
    column = COLUMNS[m.field]
    direct = column.like(m.value, escape="\\") if m.like else column == m.value
    return or_(direct, column.in_(m.types)) if m.types else direct


def _filtered(search: Search) -> Any:
    query = select(AuditEvent)
    if search:
        query = query.where(or_(*(and_(*(_clause(m) for m in group)) for group in search)))
    return query


async def events_page(
    s: OrmUnit, search: Search, *, oldest_first: bool, offset: int, limit: int
) -> tuple[list[AuditEvent], int]:
    """One offset page of the matching events, and how many match in all."""
    query = _filtered(search)
    total = await s.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await s.scalars(
        query.order_by(*(OLDEST_FIRST if oldest_first else NEWEST_FIRST)).offset(offset).limit(limit)
    )
    return list(rows.all()), total


async def events_after(s: OrmUnit, start: AuditEvent, search: Search, *, take: int) -> list[AuditEvent]:
    """The matching events recorded after ``start``, oldest first (Auth0's ``from``/``take`` checkpoints)."""
    after = tuple_(AuditEvent.date, AuditEvent.log_id) > tuple_(start.date, start.log_id)
    rows = await s.scalars(_filtered(search).where(after).order_by(*OLDEST_FIRST).limit(take))
    return list(rows.all())


async def event(s: OrmUnit, log_id: str) -> AuditEvent | None:
    """The event ``log_id`` (an id longer than the column's 64 characters names none)."""
    return await s.get(AuditEvent, log_id) if len(log_id) <= 64 else None


async def user_contacts(s: OrmUnit, user_ids: Iterable[str]) -> list[tuple[str, str | None, str | None]]:
    """``(user_id, email, username)`` of the users that still exist among ``user_ids``."""
    rows = await s.execute(select(User.user_id, User.email, User.username).where(User.user_id.in_(user_ids)))
    return [(r.user_id, r.email, r.username) for r in rows]
