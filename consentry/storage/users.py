"""The SQL of users of database connections: their rows, the uniqueness checks, deletion, and ``q`` search.

A user's identity is their connection plus their email or username, each unique within the connection; the
checks read before the insert or update, and the database's unique keys settle a race (``add_user`` and
``save_changes`` answer False). Search turns the parsed terms of ``q`` (``services.listing``) into parameterized
conditions: values never reach the SQL text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import and_, delete, func, or_, select

from consentry.storage.db import OrmUnit, write_unless_taken
from consentry.storage.models import AuthorizationCode, Connection, LoginSession, RefreshToken, User, UserGrant
from consentry.storage.paging import like_pattern

# --- the connection of an identity -------------------------------------------------------------------------


async def connection_named(s: OrmUnit, name: str) -> Connection | None:
    return await s.scalar(select(Connection).where(Connection.name == name))


async def connection_name(s: OrmUnit, connection_id: str) -> str | None:
    return await s.scalar(select(Connection.name).where(Connection.id == connection_id))


async def connection_names(s: OrmUnit) -> dict[str, str]:
    """Every connection's name by id (a user's ``identities`` name their connection)."""
    return {cid: name for cid, name in (await s.execute(select(Connection.id, Connection.name))).all()}


# --- user rows -------------------------------------------------------------------------------------------


async def user(s: OrmUnit, user_id: str) -> User | None:
    return await s.get(User, user_id)


async def identity_taken(
    s: OrmUnit, *, connection_id: str, email: str | None, username: str | None, user_id: str
) -> bool:
    """Whether a new user would collide: the same ``user_id``, or the email or username in the connection."""
    if await s.get(User, user_id) is not None:
        return True
    if email and await s.scalar(select(User.user_id).where(User.connection_id == connection_id, User.email == email)):
        return True
    return bool(
        username
        and await s.scalar(select(User.user_id).where(User.connection_id == connection_id, User.username == username))
    )


async def _taken_by_other(s: OrmUnit, row: User, condition: Any) -> bool:
    found = await s.scalar(
        select(User.user_id).where(User.connection_id == row.connection_id, User.user_id != row.user_id, condition)
    )
    return found is not None


async def email_taken(s: OrmUnit, row: User, email: str) -> bool:
    """Whether another user of ``row``'s connection has ``email``."""
    return await _taken_by_other(s, row, User.email == email)


async def username_taken(s: OrmUnit, row: User, username: str) -> bool:
    """Whether another user of ``row``'s connection has ``username``."""
    return await _taken_by_other(s, row, User.username == username)


async def add_user(s: OrmUnit, row: User) -> bool:
    """Insert the user now; False when a unique key refused it (another request created the same user first)."""
    s.add(row)
    return await write_unless_taken(s)


async def remove_user(s: OrmUnit, row: User) -> None:
    """Delete what was issued to the user (grants, refresh tokens, sessions, codes) and mark the user deleted; the
    row goes at the caller's ``flush``."""
    for model in (UserGrant, RefreshToken, LoginSession, AuthorizationCode):
        await s.execute(delete(model).where(model.user_id == row.user_id))
    await s.delete(row)


async def users_with_email(s: OrmUnit, email: str) -> list[User]:
    """Users of every connection with ``email`` (case-insensitive), oldest first."""
    rows = await s.scalars(select(User).where(func.lower(User.email) == email.lower()).order_by(User.created_at))
    return list(rows.all())


# --- search (``GET /api/v2/users?q=``) -------------------------------------------------------------------------


class SearchTerm(Protocol):
    """One parsed term of ``q`` (``services.listing.Term``): ``field`` None for a bare term."""

    @property
    def field(self) -> str | None: ...
    @property
    def value(self) -> str: ...
    @property
    def wildcard(self) -> bool: ...


SORT_COLUMNS = {
    "created_at": User.created_at,
    "updated_at": User.updated_at,
    "email": User.email,
    "user_id": User.user_id,
    "last_login": User.last_login,
    "logins_count": User.logins_count,
    "username": User.username,
}
SORTABLE = frozenset(SORT_COLUMNS)


def _lower_match(column: Any, term: SearchTerm, *, substring: bool = False) -> Any:
    if term.wildcard or substring:
        pattern = like_pattern(term.value.lower(), wildcard=term.wildcard, substring=substring)
        return func.lower(column).like(pattern, escape="\\")
    return func.lower(column) == term.value.lower()


def _term_clause(term: SearchTerm) -> Any:
    """One search term as a condition; ``email_verified``/``blocked`` values are ``true``/``false`` (checked by
    the caller)."""
    name = User.profile["name"].as_string()
    field = term.field
    if field is None:  # a bare term: substring of email, name or username
        return or_(*(_lower_match(c, term, substring=True) for c in (User.email, name, User.username)))
    if field == "email":
        return _lower_match(User.email, term)
    if field == "username":
        return _lower_match(User.username, term)
    if field == "name":
        return or_(_lower_match(name, term), and_(name.is_(None), _lower_match(User.email, term)))
    if field == "nickname":
        return _lower_match(User.profile["nickname"].as_string(), term)
    if field == "user_id":
        if term.wildcard:
            return User.user_id.like(like_pattern(term.value, wildcard=True), escape="\\")
        return User.user_id == term.value
    if field in ("email_verified", "blocked"):
        return getattr(User, field) == (term.value.lower() == "true")
    names = select(Connection.id).where(Connection.name == term.value)  # identities.connection / connection
    return User.connection_id.in_(names)


def _order(sort: tuple[str, bool] | None) -> list[Any]:
    if sort is None:
        return [User.created_at, User.user_id]
    column = SORT_COLUMNS[sort[0]]
    return [column.desc() if sort[1] else column.asc(), User.user_id]


async def users_page(
    s: OrmUnit,
    *,
    groups: Sequence[Sequence[SearchTerm]],
    connection: str | None,
    sort: tuple[str, bool] | None,
    offset: int,
    limit: int,
) -> tuple[list[User], int]:
    """A page of the users matching any group of ``groups`` (all of its terms) and in the connection named
    ``connection``, and how many match; ``sort`` is (a ``SORTABLE`` field, descending), else by creation."""
    query = select(User)
    if groups:
        query = query.where(or_(*(and_(*(_term_clause(t) for t in group)) for group in groups)))
    if connection is not None:
        query = query.where(User.connection_id.in_(select(Connection.id).where(Connection.name == connection)))
    total = await s.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await s.scalars(query.order_by(*_order(sort)).offset(offset).limit(limit))
    return list(rows.all()), total
