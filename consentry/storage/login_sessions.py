"""SSO login sessions (the ``login_sessions`` table), named by the digest of their cookie token.

Core statements built once: the session read runs on every ``/authorize`` (docs/performance.md: no ORM here).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Table, and_, bindparam, insert, select, update

from consentry.storage import user_records
from consentry.storage.db import Database, Unit
from consentry.storage.models import LoginSession, User, UserGrant
from consentry.storage.user_records import UserRecord

_SESSIONS: Table = LoginSession.__table__  # type: ignore[assignment]
USER = "user_"  # the prefix of the user's columns in a session row
_INSERT = insert(_SESSIONS)
_COLUMNS = (
    LoginSession.id,
    LoginSession.auth_time,
    LoginSession.expires_at,
    LoginSession.revoked_at,
    LoginSession.created_at,
    LoginSession.last_used_at,
    *user_records.columns(USER),
)
_TOUCH = update(_SESSIONS).where(_SESSIONS.c.id == bindparam("b_id")).values(last_used_at=bindparam("now"))
_LOOKUP = (
    select(*_COLUMNS)
    .join(User, User.user_id == LoginSession.user_id)
    .where(LoginSession.token_hash == bindparam("token_hash"))
)
# The same, with the user's grant for one (client, audience): /authorize needs both, and one statement on one
# connection costs less than two reads. The grant's expiry comes along: an expired grant counts as none.
_LOOKUP_WITH_GRANT = (
    select(
        *_COLUMNS,
        UserGrant.id.label("grant_id"),
        UserGrant.scope.label("grant_scope"),
        UserGrant.expires_at.label("grant_expires_at"),
    )
    .join(User, User.user_id == LoginSession.user_id)
    .outerjoin(
        UserGrant,
        and_(
            UserGrant.user_id == User.user_id,
            UserGrant.client_id == bindparam("client_id"),
            UserGrant.audience == bindparam("audience"),
        ),
    )
    .where(LoginSession.token_hash == bindparam("token_hash"))
)
_REVOKE = update(_SESSIONS).where(_SESSIONS.c.token_hash == bindparam("b_token_hash"), _SESSIONS.c.revoked_at.is_(None))


@dataclass(frozen=True, kw_only=True)
class SessionRow:
    """A session with its user and, when asked for, the user's grant."""

    id: str
    auth_time: float
    expires_at: float
    revoked_at: float | None
    created_at: float
    last_used_at: float | None
    user: UserRecord
    grant_id: str | None = None
    grant_scope: list[str] | None = None
    grant_expires_at: float | None = None  # None: until revoked


async def insert_in(unit: Unit, *, sid: str, token_hash: str, user_id: str, now: float, expires_at: float) -> None:
    await unit.execute(
        _INSERT,
        {
            "id": sid,
            "token_hash": token_hash,
            "user_id": user_id,
            "auth_time": now,
            "created_at": now,
            "last_used_at": now,
            "expires_at": expires_at,
        },
    )


async def find(db: Database, token_hash: str, grant_for: tuple[str, str] | None = None) -> SessionRow | None:
    """The session of a cookie digest (live or not) with its user; with ``grant_for=(client_id, audience)``
    also the user's grant for them, in the same statement."""
    async with db.connect() as conn:
        if grant_for is None:
            row = (await conn.execute(_LOOKUP, {"token_hash": token_hash})).first()
        else:
            params = {"token_hash": token_hash, "client_id": grant_for[0], "audience": grant_for[1]}
            row = (await conn.execute(_LOOKUP_WITH_GRANT, params)).first()
    if row is None:
        return None
    user = user_records.from_row(row, USER)
    assert user is not None  # an inner join
    values = {k: v for k, v in row._mapping.items() if not k.startswith(USER)}
    return SessionRow(**values, user=user)


async def touch(db: Database, sid: str, now: float) -> None:
    """Record use (the idle lifetime's clock)."""
    async with db.write() as conn:
        await conn.execute(_TOUCH, {"b_id": sid, "now": now})


async def revoke_in(unit: Unit, token_hash: str, now: float) -> None:
    await unit.execute(_REVOKE, {"b_token_hash": token_hash, "revoked_at": now})


_END = _REVOKE.returning(_SESSIONS.c.user_id)


async def end_in(unit: Unit, token_hash: str, now: float) -> str | None:
    """Revoke a live session; returns its user, or None when no live session had that digest (a logout)."""
    user_id = (await unit.execute(_END, {"b_token_hash": token_hash, "revoked_at": now})).scalar()
    return str(user_id) if user_id is not None else None
