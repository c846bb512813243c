"""The SQL of the dashboard's read models (``services/dashboard_reads.py``): connected apps, users, overview
counts, client grants with their applications. Reads only."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select

from consentry.config_records import THIRD_PARTY_DEFAULT
from consentry.storage.db import Database, OrmUnit
from consentry.storage.logs import user_contacts
from consentry.storage.models import (
    AuditEvent,
    Client,
    ClientGrant,
    Connection,
    RefreshToken,
    ResourceServer,
    User,
    UserGrant,
)

# --- connected apps ----------------------------------------------------------------------------------------


async def grants_with_clients(s: OrmUnit, user_id: str) -> list[tuple[UserGrant, Client]]:
    """The user's grants with their application, oldest consent first."""
    rows = await s.execute(
        select(UserGrant, Client)
        .join(Client, Client.client_id == UserGrant.client_id)
        .where(UserGrant.user_id == user_id)
        .order_by(UserGrant.created_at, UserGrant.id)
    )
    return [(g, c) for g, c in rows.all()]


async def live_refresh_tokens(s: OrmUnit, grant_ids: Sequence[str], now: float) -> dict[str, int]:
    """Per grant: how many refresh tokens can still be used (neither revoked, rotated nor expired)."""
    rows = await s.execute(
        select(RefreshToken.grant_id, func.count())
        .where(
            RefreshToken.grant_id.in_(grant_ids),
            RefreshToken.revoked_at.is_(None),
            RefreshToken.rotated_at.is_(None),
            RefreshToken.expires_at > now,
        )
        .group_by(RefreshToken.grant_id)
    )
    return {g: int(n) for g, n in rows.all() if g}


async def last_refresh_issued(s: OrmUnit, grant_ids: Sequence[str]) -> dict[str, float]:
    """Per grant: when its latest refresh token was issued (a refresh is a use of the grant)."""
    rows = await s.execute(
        select(RefreshToken.grant_id, func.max(RefreshToken.created_at))
        .where(RefreshToken.grant_id.in_(grant_ids))
        .group_by(RefreshToken.grant_id)
    )
    return {g: float(t) for g, t in rows.all() if g and t is not None}


async def has_event_since(db: Database, *, user_id: str, client_id: str, type_: str, since: float) -> bool:
    """Whether the audit log holds an event of ``type_`` for this user and app at ``since`` or later."""
    query = select(AuditEvent.log_id).where(
        AuditEvent.user_id == user_id,
        AuditEvent.client_id == client_id,
        AuditEvent.type == type_,
        AuditEvent.date >= since,
    )
    async with db.read() as s:
        return await s.scalar(query.limit(1)) is not None


# --- applications and their API access -------------------------------------------------------------------


async def apis_by_creation(db: Database) -> list[ResourceServer]:
    async with db.read() as s:
        return list((await s.scalars(select(ResourceServer).order_by(ResourceServer.created_at))).all())


async def own_and_default_grants(db: Database, client_id: str) -> tuple[list[ClientGrant], list[ClientGrant]]:
    """The client's own client grants (oldest first) and the defaults third-party apps inherit, in one read."""
    async with db.read() as s:
        own = (
            await s.scalars(
                select(ClientGrant).where(ClientGrant.client_id == client_id).order_by(ClientGrant.created_at)
            )
        ).all()
        defaults = (await s.scalars(select(ClientGrant).where(ClientGrant.default_for == THIRD_PARTY_DEFAULT))).all()
    return list(own), list(defaults)


async def client_grants_with_apps(s: OrmUnit, audience: str | None = None) -> list[tuple[ClientGrant, Client | None]]:
    """Every client grant (of one API when ``audience`` is given) with its application (None for a default), oldest
    first."""
    query = select(ClientGrant, Client).outerjoin(Client, Client.client_id == ClientGrant.client_id)
    if audience is not None:
        query = query.where(ClientGrant.audience == audience)
    return [(g, c) for g, c in (await s.execute(query.order_by(ClientGrant.created_at))).all()]


async def default_user_grant_id(s: OrmUnit, audience: str) -> str | None:
    """The ``default_for: third_party_clients`` user-flow grant of one API, if any."""
    return await s.scalar(
        select(ClientGrant.id).where(
            ClientGrant.default_for == THIRD_PARTY_DEFAULT,
            ClientGrant.audience == audience,
            ClientGrant.subject_type == "user",
        )
    )


# --- names, counts, users ----------------------------------------------------------------------------------


async def names(
    db: Database, client_ids: Iterable[str], user_ids: Iterable[str]
) -> tuple[list[tuple[str, str]], list[tuple[str, str | None, str | None]]]:
    """``(client_id, name)`` of the applications and ``(user_id, email, username)`` of the users that still exist."""
    async with db.read() as s:
        clients = (await s.execute(select(Client.client_id, Client.name).where(Client.client_id.in_(client_ids)))).all()
        people = await user_contacts(s, user_ids)
    return [(c, n) for c, n in clients], people


@dataclass(frozen=True)
class Overview:
    applications: int
    third_party: int
    apis: int
    default_grants: int
    domain_connections: int
    users: int
    grants: int
    pending_registrations: int


async def overview(db: Database) -> Overview:
    """The dashboard's home counts, one statement each."""
    async with db.read() as s:

        async def count(query: object) -> int:
            return int(await s.scalar(query) or 0)  # type: ignore[call-overload]

        return Overview(
            applications=await count(select(func.count()).select_from(Client)),
            third_party=await count(select(func.count()).select_from(Client).where(Client.is_first_party.is_(False))),
            apis=await count(
                select(func.count()).select_from(ResourceServer).where(ResourceServer.is_system.is_(False))
            ),
            default_grants=await count(
                select(func.count()).select_from(ClientGrant).where(ClientGrant.default_for.is_not(None))
            ),
            domain_connections=await count(
                select(func.count()).select_from(Connection).where(Connection.is_domain_connection.is_(True))
            ),
            users=await count(select(func.count()).select_from(User)),
            grants=await count(select(func.count()).select_from(UserGrant)),
            pending_registrations=await count(
                select(func.count()).select_from(Client).where(Client.status == "pending")
            ),
        )


async def users_page(db: Database, like: str | None, *, offset: int, limit: int) -> tuple[list[tuple[User, str]], int]:
    """Users with their connection's name, oldest first; ``like`` (a lowercase LIKE pattern) matches the email,
    the username or the user id."""
    query = select(User, Connection.name).join(Connection, Connection.id == User.connection_id)
    if like:
        query = query.where(
            or_(func.lower(User.email).like(like), func.lower(User.username).like(like), User.user_id.like(like))
        )
    async with db.read() as s:
        total = int(await s.scalar(select(func.count()).select_from(query.subquery())) or 0)
        rows = (await s.execute(query.order_by(User.created_at, User.user_id).offset(offset).limit(limit))).all()
    return [(u, name) for u, name in rows], total


async def user_with_connection(db: Database, user_id: str) -> tuple[User, str] | None:
    """The user and their connection's name."""
    async with db.read() as s:
        found = (
            await s.execute(
                select(User, Connection.name)
                .join(Connection, Connection.id == User.connection_id)
                .where(User.user_id == user_id)
            )
        ).first()
    return (found[0], found[1]) if found else None
