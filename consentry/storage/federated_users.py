"""Users of enterprise connections, linked by ``(connection, upstream sub)``: the ``user_id`` is
``oidc|<connection name>|<sub>`` (Auth0's format), so the primary key is the link.

Each sign-in refreshes the stored profile from the ID token, inside the login's transaction. The email is
kept only when no other user of the connection holds it (``uq_user_email``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update

from consentry.storage.db import Unit
from consentry.storage.models import User

_USERS: Table = User.__table__  # type: ignore[assignment]
_GET = select(_USERS.c.user_id, _USERS.c.blocked, _USERS.c.connection_id).where(_USERS.c.user_id == bindparam("uid"))
_EMAIL_TAKEN = (
    select(_USERS.c.user_id)
    .where(
        _USERS.c.connection_id == bindparam("cid"),
        _USERS.c.email == bindparam("email"),
        _USERS.c.user_id != bindparam("uid"),
    )
    .limit(1)
)
_INSERT = insert(_USERS)
_UPDATE = update(_USERS).where(_USERS.c.user_id == bindparam("uid"))


def user_id_for(strategy: str, connection_name: str, sub: str) -> str:
    return f"{strategy}|{connection_name}|{sub}"


async def link_in(
    unit: Unit,
    *,
    user_id: str,
    connection_id: str,
    email: str | None,
    email_verified: bool,
    profile: dict[str, Any],
    now: float,
) -> bool:
    """Create or refresh the linked user inside the caller's transaction; True when the user is blocked."""
    if email and (await unit.execute(_EMAIL_TAKEN, {"cid": connection_id, "email": email, "uid": user_id})).first():
        email = None
    row = (await unit.execute(_GET, {"uid": user_id})).first()
    if row is None:
        await unit.execute(
            _INSERT,
            {
                "user_id": user_id,
                "connection_id": connection_id,
                "email": email,
                "username": None,
                "password_hash": None,
                "email_verified": email_verified,
                "blocked": False,
                "is_admin": False,
                "profile": profile,
                "app_metadata": {},
                "user_metadata": {},
                "logins_count": 0,
                "created_at": now,
                "updated_at": now,
            },
        )
        return False
    await unit.execute(
        _UPDATE,
        {"uid": user_id, "email": email, "email_verified": email_verified, "profile": profile, "updated_at": now},
    )
    return bool(row.blocked)
