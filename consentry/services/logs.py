"""Audit events as Auth0 log events (``GET /api/v2/logs``), newest first, with a small ``q`` filter.

``type_codes`` (stored name → the code callers see, ``management.log_events``) makes ``type:`` match the code
shown; the stored name matches too, so ``type:client.created`` keeps working next to ``type:sapi``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import and_, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from consentry.services.errors import invalid, not_found
from consentry.services.listing import Term, like_pattern, parse_query
from consentry.storage.models import AuditEvent, User

SEARCH_FIELDS = {"type", "user_id", "client_id", "ip", "log_id", "description"}
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


def _matches(term: Term, value: str) -> bool:
    if not term.wildcard:
        return value == term.value
    return re.fullmatch(".*".join(re.escape(part) for part in term.value.split("*")), value) is not None


def _clause(term: Term, type_codes: Mapping[str, str]) -> Any:
    if term.field is None:  # a bare term: part of the description
        return func.lower(AuditEvent.description).like(
            like_pattern(Term(None, term.value.lower(), term.wildcard), substring=True), escape="\\"
        )
    column = COLUMNS[term.field]
    direct = column.like(like_pattern(term), escape="\\") if term.wildcard else column == term.value
    if term.field != "type":
        return direct
    coded = [name for name, code in type_codes.items() if _matches(term, code)]
    return or_(direct, column.in_(coded)) if coded else direct


def _order(sort: str | None) -> tuple[Any, ...]:
    if sort in (None, "", "date:-1"):
        return NEWEST_FIRST
    if sort == "date:1":
        return OLDEST_FIRST
    raise invalid("Query validation error: sort must be 'date:1' or 'date:-1'.", "invalid_query_string")


def _filtered(q: str | None, type_codes: Mapping[str, str]) -> Any:
    query = select(AuditEvent)
    if q is not None and q.strip():
        groups = parse_query(q, SEARCH_FIELDS)
        query = query.where(or_(*(and_(*(_clause(t, type_codes) for t in group)) for group in groups)))
    return query


async def list_logs(
    s: AsyncSession,
    *,
    offset: int,
    limit: int,
    q: str | None = None,
    sort: str | None = None,
    type_codes: Mapping[str, str] | None = None,
) -> tuple[list[AuditEvent], int]:
    query = _filtered(q, type_codes or {})
    total = await s.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await s.scalars(query.order_by(*_order(sort)).offset(offset).limit(limit))
    return list(rows.all()), total


async def logs_after(
    s: AsyncSession, log_id: str, *, take: int, q: str | None = None, type_codes: Mapping[str, str] | None = None
) -> list[AuditEvent]:
    """Auth0's checkpoint read (``from``/``take``): the events recorded after ``log_id``, oldest first."""
    start = await s.get(AuditEvent, log_id) if len(log_id) <= 64 else None
    if start is None:
        raise invalid("Query validation error: 'from' is not the log_id of a log event.", "invalid_query_string")
    after = tuple_(AuditEvent.date, AuditEvent.log_id) > tuple_(start.date, start.log_id)
    rows = await s.scalars(_filtered(q, type_codes or {}).where(after).order_by(*OLDEST_FIRST).limit(take))
    return list(rows.all())


async def user_names(s: AsyncSession, user_ids: Iterable[str]) -> dict[str, str]:
    """What Auth0 shows as ``user_name``: the user's email, else their username (deleted users are left out)."""
    wanted = {u for u in user_ids if u}
    if not wanted:
        return {}
    rows = await s.execute(select(User.user_id, User.email, User.username).where(User.user_id.in_(wanted)))
    return {r.user_id: r.email or r.username for r in rows if r.email or r.username}


async def get_log(s: AsyncSession, log_id: str) -> AuditEvent:
    row = await s.get(AuditEvent, log_id) if len(log_id) <= 64 else None
    if row is None:
        raise not_found("log event", "inexistent_log")
    return row
