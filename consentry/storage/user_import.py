"""Writing one batch of imported users (``users``) inside the caller's write transaction.

``existing`` finds which of the batch's emails, usernames and user ids the connection already has (one select
each); the caller decides per user (insert, update with ``upsert``, or a duplicate error) and ``insert_in`` /
``update_in`` write them with executemany.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select, update

from consentry.storage.db import Unit
from consentry.storage.models import User

TABLE: Table = User.__table__  # type: ignore[assignment]
UPDATABLE = (
    "email_verified",
    "username",
    "password_hash",
    "blocked",
    "profile",
    "app_metadata",
    "user_metadata",
    "updated_at",
)
KEPT_WHEN_ABSENT = ("username", "password_hash")  # an upsert without them keeps the stored ones


def _param(name: str) -> Any:
    return bindparam(f"b_{name}", type_=TABLE.c[name].type)  # typed: JSON columns are serialised


_UPDATE = (
    update(TABLE)
    .where(TABLE.c.user_id == bindparam("b_user_id"))
    .values(
        {
            name: func.coalesce(_param(name), TABLE.c[name]) if name in KEPT_WHEN_ABSENT else _param(name)
            for name in UPDATABLE
        }
    )
)


async def existing(
    unit: Unit, connection_id: str, *, emails: list[str], usernames: list[str], user_ids: list[str]
) -> dict[str, str]:
    """``{"email:<e>" | "username:<u>" | "id:<user_id>": user_id}`` for what the connection already holds."""
    found: dict[str, str] = {}
    c = TABLE.c
    if emails:
        query = select(c.email, c.user_id).where(c.connection_id == connection_id, c.email.in_(emails))
        found.update({f"email:{e}": u for e, u in (await unit.execute(query)).all()})
    if usernames:
        query = select(c.username, c.user_id).where(c.connection_id == connection_id, c.username.in_(usernames))
        found.update({f"username:{n}": u for n, u in (await unit.execute(query)).all()})
    if user_ids:
        query = select(c.user_id).where(c.user_id.in_(user_ids))
        found.update({f"id:{u}": u for u in (await unit.execute(query)).scalars().all()})
    return found


async def insert_in(unit: Unit, rows: list[dict[str, Any]]) -> None:
    if rows:
        await unit.execute(insert(TABLE), rows)


async def update_in(unit: Unit, rows: list[dict[str, Any]]) -> None:
    if rows:
        params = [{"b_user_id": r["user_id"], **{f"b_{n}": r[n] for n in UPDATABLE}} for r in rows]
        await unit.execute(_UPDATE, params)
