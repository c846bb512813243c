"""Auth0 paging (``page``/``per_page``/``include_totals`` and ``from``/``take``) and field selection."""

from __future__ import annotations

from typing import Any

from fastapi import Query

from consentry.services.errors import invalid
from consentry.services.listing import Paging

__all__ = ["Paging", "checkpoint_page", "paged", "paging", "parse_bool", "select_fields"]

TRUE = {"true", "1"}
FALSE = {"false", "0", ""}


def parse_bool(value: str | None, name: str, default: bool = False) -> bool:
    if value is None:
        return default
    lowered = value.lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise invalid(f"Query validation error: '{name}' must be a boolean.", "invalid_query_string")


def paging(
    page: int = Query(0, ge=0, le=100000),
    per_page: int = Query(50, ge=1, le=100),
    include_totals: str | None = Query(None),
    from_: str | None = Query(None, alias="from", max_length=200),
    take: int | None = Query(None, ge=1, le=100),
) -> Paging:
    return Paging(page, per_page, parse_bool(include_totals, "include_totals"), from_, take)


def paged(key: str, items: list[dict[str, Any]], total: int, p: Paging, with_length: bool = True) -> Any:
    if not p.include_totals:
        return items
    body: dict[str, Any] = {"start": p.offset, "limit": p.per_page, "length": len(items), "total": total, key: items}
    if not with_length:
        body.pop("length")
    return body


def checkpoint_page(key: str, items: list[dict[str, Any]], next_from: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {key: items}
    if next_from:
        body["next"] = next_from
    return body


def select_fields(obj: dict[str, Any], fields: str | None, include_fields: str | None) -> dict[str, Any]:
    """Auth0's ``fields`` (comma list) with ``include_fields`` true (keep) or false (drop)."""
    if not fields:
        return obj
    names = {f.strip() for f in fields.split(",") if f.strip()}
    if parse_bool(include_fields, "include_fields", default=True):
        return {k: v for k, v in obj.items() if k in names}
    return {k: v for k, v in obj.items() if k not in names}
