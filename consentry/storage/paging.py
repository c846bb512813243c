"""Lists of stored rows: Auth0's offset pages, keyset checkpoints (``from``/``take``) over a list's sort key, and
the LIKE patterns of their search filters.

A checkpoint is the sort key of the first row of the next page, as opaque base64url JSON. A value that is not one
this module made is ``InvalidCursor`` (the Management API answers it with a 400, never a 500).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from sqlalchemy import Select, tuple_

T = TypeVar("T")


class InvalidCursor(ValueError):
    """A ``from`` value that is not a checkpoint made by :func:`encode_cursor`."""


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
    """Parse a ``from`` value made by :func:`encode_cursor`; anything else is ``InvalidCursor``."""
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
        raise InvalidCursor("Query validation error: 'from' is not a valid checkpoint.")
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


def like_pattern(value: str, *, wildcard: bool = False, substring: bool = False) -> str:
    """A LIKE pattern (escape ``\\``) for ``value``: in a wildcard term ``*`` becomes ``%``; every other LIKE
    character is literal; ``substring`` matches anywhere."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    if wildcard:
        escaped = escaped.replace("*", "%")
    return f"%{escaped}%" if substring else escaped


def where_equal(query: Select[Any], *conditions: tuple[Any, object]) -> Select[Any]:
    """``query`` narrowed to rows whose column equals each value given; a ``None`` value is no condition (an
    omitted list filter)."""
    for column, value in conditions:
        if value is not None:
            query = query.where(column == value)
    return query
