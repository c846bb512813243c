"""The one record of a user that the protocol paths carry (``UserRecord``), and how it is read.

What the tokens say about a user (ID token claims, ``/userinfo``), what a mint re-checks (blocked, connection)
and what the SSO paths need (the dashboard role) are columns of one row: the token grants, the session lookup
and the federated paths read the same record, joined into their own statements with ``columns(prefix)``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Label, Table, bindparam, select

from consentry.storage.db import Database
from consentry.storage.models import User

USERS: Table = User.__table__  # type: ignore[assignment]


@dataclass(frozen=True, kw_only=True)
class UserRecord:
    user_id: str
    connection_id: str
    email: str | None
    username: str | None
    email_verified: bool
    profile: dict[str, Any] | None
    updated_at: float
    blocked: bool
    is_admin: bool


FIELDS = tuple(f.name for f in fields(UserRecord))


def columns(prefix: str) -> tuple[Label[Any], ...]:
    """The record's columns for a joined select, labelled ``prefix + field`` (the joined row has its own names)."""
    return tuple(USERS.c[name].label(prefix + name) for name in FIELDS)


def from_row(row: Any, prefix: str) -> UserRecord | None:
    """The record in a row selected with ``columns(prefix)``; None when the (outer-joined) user is gone."""
    values = row._mapping
    if values[prefix + "user_id"] is None:
        return None
    return UserRecord(
        user_id=values[prefix + "user_id"],
        connection_id=values[prefix + "connection_id"],
        email=values[prefix + "email"],
        username=values[prefix + "username"],
        email_verified=bool(values[prefix + "email_verified"]),
        profile=values[prefix + "profile"],
        updated_at=values[prefix + "updated_at"],
        blocked=bool(values[prefix + "blocked"]),
        is_admin=bool(values[prefix + "is_admin"]),
    )


def of(user: User) -> UserRecord:
    """The record of a user the ORM already loaded (password grant, login)."""
    return UserRecord(**{name: getattr(user, name) for name in FIELDS})


_FIND = select(*columns("")).where(USERS.c.user_id == bindparam("uid"))


async def find(db: Database, user_id: str) -> UserRecord | None:
    async with db.connect() as conn:
        row = (await conn.execute(_FIND, {"uid": user_id})).first()
    return None if row is None else from_row(row, "")
