"""Audit events as Auth0 log events (``GET /api/v2/logs``), newest first, with a small ``q`` filter."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from consentry.services.errors import invalid, not_found
from consentry.services.listing import Term, like_pattern, parse_query
from consentry.storage.models import AuditEvent

SEARCH_FIELDS = {"type", "user_id", "client_id", "ip", "log_id", "description"}
COLUMNS = {"type": AuditEvent.type, "user_id": AuditEvent.user_id, "client_id": AuditEvent.client_id,
           "ip": AuditEvent.ip, "log_id": AuditEvent.log_id, "description": AuditEvent.description}  # fmt: skip


def _clause(term: Term) -> Any:
    if term.field is None:  # a bare term: part of the description
        return func.lower(AuditEvent.description).like(
            like_pattern(Term(None, term.value.lower(), term.wildcard), substring=True), escape="\\"
        )
    column = COLUMNS[term.field]
    return column.like(like_pattern(term), escape="\\") if term.wildcard else column == term.value


def _order(sort: str | None) -> list[Any]:
    if sort in (None, "", "date:-1"):
        return [AuditEvent.date.desc(), AuditEvent.log_id.desc()]
    if sort == "date:1":
        return [AuditEvent.date.asc(), AuditEvent.log_id.asc()]
    raise invalid("Query validation error: sort must be 'date:1' or 'date:-1'.", "invalid_query_string")


async def list_logs(
    s: AsyncSession, *, offset: int, limit: int, q: str | None = None, sort: str | None = None
) -> tuple[list[AuditEvent], int]:
    query = select(AuditEvent)
    if q is not None and q.strip():
        groups = parse_query(q, SEARCH_FIELDS)
        query = query.where(or_(*(and_(*(_clause(t) for t in group)) for group in groups)))
    total = await s.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await s.scalars(query.order_by(*_order(sort)).offset(offset).limit(limit))
    return list(rows.all()), total


async def get_log(s: AsyncSession, log_id: str) -> AuditEvent:
    row = await s.get(AuditEvent, log_id) if len(log_id) <= 64 else None
    if row is None:
        raise not_found("log event", "inexistent_log")
    return row
