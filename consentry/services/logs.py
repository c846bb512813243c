"""Audit events as Auth0 log events (``GET /api/v2/logs``), newest first, with a small ``q`` filter.

``type_codes`` (stored name → the code callers see, ``management.log_events``) makes ``type:`` match the code
shown; the stored name matches too, so ``type:client.created`` keeps working next to ``type:sapi``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from consentry.services.errors import invalid, not_found
from consentry.services.listing import Term, like_pattern, parse_query
from consentry.storage import logs as stored
from consentry.storage.db import OrmUnit
from consentry.storage.logs import EventMatch, Search
from consentry.storage.models import AuditEvent

SEARCH_FIELDS = {"type", "user_id", "client_id", "ip", "log_id", "description"}


def _matches(term: Term, value: str) -> bool:
    if not term.wildcard:
        return value == term.value
    return re.fullmatch(".*".join(re.escape(part) for part in term.value.split("*")), value) is not None


def _match(term: Term, type_codes: Mapping[str, str]) -> EventMatch:
    if term.field is None:  # a bare term: part of the description
        return EventMatch(None, like_pattern(Term(None, term.value.lower(), term.wildcard), substring=True), True)
    value = like_pattern(term) if term.wildcard else term.value
    coded = [name for name, code in type_codes.items() if _matches(term, code)] if term.field == "type" else []
    return EventMatch(term.field, value, term.wildcard, tuple(coded))


def _oldest_first(sort: str | None) -> bool:
    if sort in (None, "", "date:-1"):
        return False
    if sort == "date:1":
        return True
    raise invalid("Query validation error: sort must be 'date:1' or 'date:-1'.", "invalid_query_string")


def _search(q: str | None, type_codes: Mapping[str, str]) -> Search:
    if q is None or not q.strip():
        return []
    return [[_match(t, type_codes) for t in group] for group in parse_query(q, SEARCH_FIELDS)]


async def list_logs(
    s: OrmUnit,
    *,
    offset: int,
    limit: int,
    q: str | None = None,
    sort: str | None = None,
    type_codes: Mapping[str, str] | None = None,
) -> tuple[list[AuditEvent], int]:
    search = _search(q, type_codes or {})
    oldest_first = _oldest_first(sort)
    return await stored.events_page(s, search, oldest_first=oldest_first, offset=offset, limit=limit)


async def logs_after(
    s: OrmUnit, log_id: str, *, take: int, q: str | None = None, type_codes: Mapping[str, str] | None = None
) -> list[AuditEvent]:
    """Auth0's checkpoint read (``from``/``take``): the events recorded after ``log_id``, oldest first."""
    start = await stored.event(s, log_id)
    if start is None:
        raise invalid("Query validation error: 'from' is not the log_id of a log event.", "invalid_query_string")
    return await stored.events_after(s, start, _search(q, type_codes or {}), take=take)


async def user_names(s: OrmUnit, user_ids: Iterable[str]) -> dict[str, str]:
    """What Auth0 shows as ``user_name``: the user's email, else their username (deleted users are left out)."""
    wanted = {u for u in user_ids if u}
    if not wanted:
        return {}
    contacts = await stored.user_contacts(s, wanted)
    return {u: name for u, email, username in contacts if (name := email or username)}


async def get_log(s: OrmUnit, log_id: str) -> AuditEvent:
    row = await stored.event(s, log_id)
    if row is None:
        raise not_found("log event", "inexistent_log")
    return row
