"""User tickets (the ``user_tickets`` table): single-use links, named by the digest of their secret.

Redemption is one conditional ``UPDATE … WHERE used_at IS NULL AND expires_at > now RETURNING``: of two requests
presenting the same link, exactly one gets the row. A password change redeems the ticket, sets the hash, ends the
user's sessions and voids the user's other open password tickets in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Table, bindparam, insert, select, update

from consentry.storage.db import Database, Unit
from consentry.storage.models import LoginSession, User, UserTicket

_TICKETS: Table = UserTicket.__table__  # type: ignore[assignment]
_USERS: Table = User.__table__  # type: ignore[assignment]
_SESSIONS: Table = LoginSession.__table__  # type: ignore[assignment]

PASSWORD_CHANGE = "password_change"
EMAIL_VERIFICATION = "email_verification"

_COLUMNS = (
    _TICKETS.c.id,
    _TICKETS.c.kind,
    _TICKETS.c.user_id,
    _TICKETS.c.client_id,
    _TICKETS.c.result_url,
    _TICKETS.c.mark_email_as_verified,
    _TICKETS.c.include_email_in_redirect,
    _TICKETS.c.expires_at,
)
_LIVE = (
    _TICKETS.c.token_hash == bindparam("b_hash"),
    _TICKETS.c.kind == bindparam("b_kind"),
    _TICKETS.c.used_at.is_(None),
    _TICKETS.c.expires_at > bindparam("b_now"),
)
_PEEK = (
    select(*_COLUMNS, _USERS.c.email, _USERS.c.connection_id)
    .join(_USERS, _USERS.c.user_id == _TICKETS.c.user_id)
    .where(*_LIVE)
)
_REDEEM = update(_TICKETS).where(*_LIVE).values(used_at=bindparam("b_now")).returning(*_COLUMNS)
_VOID_OTHERS = (
    update(_TICKETS)
    .where(
        _TICKETS.c.user_id == bindparam("b_user"),
        _TICKETS.c.kind == PASSWORD_CHANGE,
        _TICKETS.c.used_at.is_(None),
    )
    .values(used_at=bindparam("b_now"))
)
_END_SESSIONS = (
    update(_SESSIONS)
    .where(_SESSIONS.c.user_id == bindparam("b_user"), _SESSIONS.c.revoked_at.is_(None))
    .values(revoked_at=bindparam("b_now"))
)


@dataclass(frozen=True, kw_only=True)
class Ticket:
    """A live ticket as its pages need it (``email`` and ``connection_id`` only from ``peek``)."""

    id: str
    kind: str
    user_id: str
    client_id: str | None
    result_url: str | None
    mark_email_as_verified: bool
    include_email_in_redirect: bool
    expires_at: float
    email: str | None = None
    connection_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class NewTicket:
    id: str
    token_hash: str
    kind: str
    user_id: str
    client_id: str | None
    result_url: str | None
    mark_email_as_verified: bool
    include_email_in_redirect: bool
    created_at: float
    expires_at: float


def _ticket(row: object) -> Ticket:
    m = row._mapping  # type: ignore[attr-defined]
    return Ticket(
        id=m["id"],
        kind=m["kind"],
        user_id=m["user_id"],
        client_id=m["client_id"],
        result_url=m["result_url"],
        mark_email_as_verified=bool(m["mark_email_as_verified"]),
        include_email_in_redirect=bool(m["include_email_in_redirect"]),
        expires_at=m["expires_at"],
        email=m.get("email"),
        connection_id=m.get("connection_id"),
    )


async def insert_in(unit: Unit, ticket: NewTicket) -> None:
    await unit.execute(insert(_TICKETS).values(**ticket.__dict__, used_at=None))


async def peek(db: Database, token_hash: str, kind: str, now: float) -> Ticket | None:
    """The live ticket (unused, unexpired) with its user's email, without using it; None otherwise."""
    async with db.connect() as conn:
        row = (await conn.execute(_PEEK, {"b_hash": token_hash, "b_kind": kind, "b_now": now})).first()
    return None if row is None else _ticket(row)


async def redeem_in(unit: Unit, token_hash: str, kind: str, now: float) -> Ticket | None:
    """Use the ticket: the one caller that gets it back may act on it; None when unknown, used or expired."""
    row = (await unit.execute(_REDEEM, {"b_hash": token_hash, "b_kind": kind, "b_now": now})).first()
    return None if row is None else _ticket(row)


async def set_password_in(unit: Unit, user_id: str, password_hash: str, now: float, *, verify_email: bool) -> None:
    """The new password; the user's sessions end and their other open password links stop working."""
    values: dict[str, object] = {"password_hash": password_hash, "updated_at": now}
    if verify_email:
        values["email_verified"] = True
    await unit.execute(update(_USERS).where(_USERS.c.user_id == user_id).values(**values))
    await unit.execute(_END_SESSIONS, {"b_user": user_id, "b_now": now})
    await unit.execute(_VOID_OTHERS, {"b_user": user_id, "b_now": now})


async def mark_verified_in(unit: Unit, user_id: str, now: float) -> None:
    await unit.execute(update(_USERS).where(_USERS.c.user_id == user_id).values(email_verified=True, updated_at=now))
