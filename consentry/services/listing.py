"""Listing in the product's terms: pages and keyset checkpoints, and the small safe query language of ``q``.

The Management API turns its query string into a ``Paging`` and these functions' ``ServiceError`` into Auth0's
error body (``management/pagination.py``, ``management/errors.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from consentry.services.errors import invalid
from consentry.storage.paging import Paging
from consentry.storage.paging import like_pattern as stored_like_pattern

__all__ = ["Paging", "Term", "like_pattern", "parse_query"]


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
    """``term`` as a LIKE pattern (``storage.paging.like_pattern``): ``*`` is a wildcard only where one was typed."""
    return stored_like_pattern(term.value, wildcard=term.wildcard, substring=substring)
