"""What a password login reads and writes on the ``users`` table: the candidate, and the login count."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Table, bindparam, or_, select, update

from consentry.storage.db import Database, Unit
from consentry.storage.models import User

_USERS: Table = User.__table__  # type: ignore[assignment]
_FIND = (
    select(User.user_id, User.password_hash, User.blocked)
    .where(
        User.connection_id.in_(bindparam("connections", expanding=True)),
        or_(User.email == bindparam("login"), User.username == bindparam("login")),
    )
    .limit(1)
)
_COUNT = (
    update(_USERS)
    .where(_USERS.c.user_id == bindparam("uid"))
    .values(logins_count=_USERS.c.logins_count + 1, last_login=bindparam("now"), last_ip=bindparam("ip"))
)


@dataclass(frozen=True)
class Candidate:
    """The user a login names: what the password check and the blocked check need, nothing more."""

    user_id: str
    password_hash: str | None
    blocked: bool


async def find_candidate(unit: Unit, login: str, connection_ids: list[str]) -> Candidate | None:
    """The user whose email or username is ``login`` in one of the connections, or None."""
    row = (await unit.execute(_FIND, {"connections": connection_ids, "login": login})).first()
    return None if row is None else Candidate(row.user_id, row.password_hash, bool(row.blocked))


async def count_login_in(unit: Unit, user_id: str, now: float, ip: str) -> None:
    """One more login for the user, when and from where (inside the login's transaction)."""
    await unit.execute(_COUNT, {"uid": user_id, "now": now, "ip": ip})


async def find_user(db: Database, connection_id: str, login: str) -> User | None:
    """The whole user whose email or username is ``login`` in the connection (the password grant needs every
    claim), detached from its session, or None."""
    async with db.read() as s:
        named = or_(User.email == login, User.username == login)
        return await s.scalar(select(User).where(User.connection_id == connection_id, named).limit(1))
