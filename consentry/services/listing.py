"""Listing in the product's terms: pages and keyset checkpoints, and the small safe query language of ``q``.

The Management API turns its query string into a ``Paging`` and these functions' ``ServiceError`` into Auth0's
error body (``management/pagination.py``, ``management/errors.py``).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from sqlalchemy import Select, tuple_

from consentry.services.errors import invalid

T = TypeVar("T")


@dataclass(frozen=True)
class Paging:
    page: int
    per_page: int
    include_totals: bool
    from_: str | None
    take: int | None

    @property
    def offset(self) -> int:
        return self.page * self.per_page

    @property
    def checkpoint(self) -> bool:
        return self.take is not None or self.from_ is not None

    @property
    def limit(self) -> int:
        """Page size: ``take`` for checkpoint paging, ``per_page`` otherwise."""
        return self.take if self.take is not None else self.per_page


# --- checkpoint paging (``from``/``take``): an opaque keyset cursor over the list's sort key ---------------


def encode_cursor(*key: str | float) -> str:
    """The ``next`` value: the sort key of the first item of the next page, base64url JSON (opaque to callers)."""
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).rstrip(b"=").decode()


def decode_cursor(value: str, types: tuple[type, ...]) -> tuple[Any, ...]:
    """Parse a ``from`` value made by :func:`encode_cursor`; anything else is a 400, never a 500."""
    try:
        raw = orjson.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (ValueError, TypeError):
        raw = None
    ok = isinstance(raw, list) and len(raw) == len(types)
    if ok:
        raw = [
            float(v) if t is float and isinstance(v, int | float) and not isinstance(v, bool) else v
            for v, t in zip(raw, types, strict=True)
        ]
        ok = all(isinstance(v, t) for v, t in zip(raw, types, strict=True))
    if not ok:
        raise invalid("Query validation error: 'from' is not a valid checkpoint.", "invalid_query_string")
    return tuple(raw)


def _python_type(column: Any) -> type:
    try:
        return float if column.type.python_type is float else str
    except NotImplementedError:
        return str


def checkpoint_select(query: Select[Any], columns: tuple[Any, ...], p: Paging) -> Select[Any]:
    """Keyset paging: rows from the cursor on (inclusive), ordered by ``columns``, one extra to detect a next page."""
    if p.from_:
        types = tuple(_python_type(c) for c in columns)
        key = decode_cursor(p.from_, types)
        query = query.where(tuple_(*columns) >= tuple_(*key)) if len(columns) > 1 else query.where(columns[0] >= key[0])
    return query.order_by(*columns).limit(p.limit + 1)


def checkpoint_split(
    rows: Sequence[T], p: Paging, key: Callable[[T], tuple[str | float, ...]]
) -> tuple[list[T], str | None]:
    """The page's rows and the ``next`` cursor (``None`` on the last page)."""
    if len(rows) <= p.limit:
        return list(rows), None
    return list(rows[: p.limit]), encode_cursor(*key(rows[p.limit]))


# --- ``q``: the small, safe subset of Auth0's Lucene syntax the list endpoints accept -------------------------


@dataclass(frozen=True)
class Term:
    """``field:value`` (``field`` is ``None`` for a bare term); ``wildcard`` when an unquoted ``*`` was used."""

    field: str | None
    value: str
    wildcard: bool = False


FORBIDDEN = set('()[]{}~^"\\:')


def _invalid(reason: str) -> Exception:
    return invalid(f"Query validation error: invalid q ({reason}).", "invalid_query_string")


def _tokens(q: str) -> list[Term | str]:
    out: list[Term | str] = []
    i, n = 0, len(q)
    while i < n:
        if q[i].isspace():
            i += 1
            continue
        start = i
        field = None
        while i < n and (q[i].isalnum() or q[i] in "_."):
            i += 1
        if i < n and q[i] == ":" and i > start:
            field, i = q[start:i].lower(), i + 1
        else:
            i = start
        if i < n and q[i] == '"':
            i += 1
            chars: list[str] = []
            while i < n and q[i] != '"':
                if q[i] == "\\" and i + 1 < n:
                    i += 1
                chars.append(q[i])
                i += 1
            if i >= n:
                raise _invalid("unterminated quote")
            i += 1
            value, wildcard = "".join(chars), False
        else:
            end = i
            while end < n and not q[end].isspace():
                end += 1
            value, i = q[i:end], end
            if field is None and value in ("AND", "OR"):
                out.append(value)
                continue
            if FORBIDDEN.intersection(value) or value[:1] in ("-", "+", "!") or value.strip("*") == "":
                raise _invalid(f"unsupported term '{value[:40]}'")
            wildcard = "*" in value
        if not value:
            raise _invalid("empty value")
        out.append(Term(field, value, wildcard))
    return out


def parse_query(q: str, fields: set[str], *, max_terms: int = 10) -> list[list[Term]]:
    """``q`` as OR-groups of AND-ed terms. Unknown fields, operators in the wrong place and any syntax beyond
    ``field:value``, ``field:"quoted"``, ``*`` wildcards, bare terms, ``AND`` and ``OR`` are a 400."""
    groups: list[list[Term]] = [[]]
    expect_term = True
    count = 0
    for token in _tokens(q):
        if isinstance(token, str):
            if expect_term:
                raise _invalid(f"misplaced {token}")
            if token == "OR":
                groups.append([])
            expect_term = True
            continue
        if token.field is not None and token.field not in fields:
            raise _invalid(f"unknown field '{token.field[:40]}'")
        count += 1
        if count > max_terms:
            raise _invalid("too many terms")
        groups[-1].append(token)
        expect_term = False
    if expect_term:
        raise _invalid("empty query" if count == 0 else "dangling operator")
    return groups


def like_pattern(term: Term, *, substring: bool = False) -> str:
    """A LIKE pattern (escape ``\\``) for ``term``: ``*`` becomes ``%``; other LIKE characters are literal."""
    escaped = term.value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    if term.wildcard:
        escaped = escaped.replace("*", "%")
    return f"%{escaped}%" if substring else escaped
