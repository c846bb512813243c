"""The SQL of user grants (consents): one row per (user, client, API), its scopes and chosen expiry.

Every ``/authorize`` reads a grant with one prebuilt Core statement (``grant_ref``). The consent flow writes with
``INSERT … ON CONFLICT DO NOTHING`` then a locked read of the row (``insert_grant_if_absent``, ``locked_grant``),
so two approvals racing across processes extend one grant. Revocation deletes the rows the caller read; their
refresh tokens are revoked by ``storage/refresh_tokens.py`` in the same transaction.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, select

from consentry.storage.db import Database, OrmUnit, dialect_insert
from consentry.storage.models import UserGrant
from consentry.storage.paging import where_equal


async def grant(s: OrmUnit, grant_id: str) -> UserGrant | None:
    return await s.get(UserGrant, grant_id)


async def grant_for(s: OrmUnit, user_id: str, client_id: str, audience: str) -> UserGrant | None:
    """The grant of ``user_id`` to ``client_id`` for the API ``audience``, expired or not."""
    return await s.scalar(
        select(UserGrant).where(
            UserGrant.user_id == user_id, UserGrant.client_id == client_id, UserGrant.audience == audience
        )
    )


class StoredGrantRef(NamedTuple):
    """A grant's id, scopes and expiry (None: until revoked), as the hot read returns them."""

    id: str
    scope: list[str] | None
    expires_at: float | None


_GRANT_REF = select(UserGrant.id, UserGrant.scope, UserGrant.expires_at).where(
    UserGrant.user_id == bindparam("user_id"),
    UserGrant.client_id == bindparam("client_id"),
    UserGrant.audience == bindparam("audience"),
)


async def grant_ref(db: Database, user_id: str, client_id: str, audience: str) -> StoredGrantRef | None:
    """``grant_for`` as one Core read on its own connection (the hot path of every ``/authorize``)."""
    async with db.connect() as conn:
        params = {"user_id": user_id, "client_id": client_id, "audience": audience}
        row = (await conn.execute(_GRANT_REF, params)).first()
    return None if row is None else StoredGrantRef(row.id, row.scope, row.expires_at)


async def insert_grant_if_absent(
    s: OrmUnit,
    *,
    grant_id: str,
    user_id: str,
    client_id: str,
    audience: str,
    scope: list[str],
    now: float,
    expires_at: float | None,
) -> bool:
    """Insert the (user, client, audience) grant unless one exists (also one another transaction is inserting);
    True when this call inserted it."""
    inserted = await s.execute(
        dialect_insert(s.get_bind().dialect.name)(UserGrant)
        .values(
            id=grant_id,
            user_id=user_id,
            client_id=client_id,
            audience=audience,
            scope=scope,
            created_at=now,
            updated_at=now,
            expires_at=expires_at,
        )
        .on_conflict_do_nothing(index_elements=["user_id", "client_id", "audience"])
    )
    return bool(getattr(inserted, "rowcount", 0))


async def locked_grant(s: OrmUnit, user_id: str, client_id: str, audience: str) -> UserGrant | None:
    """The grant, locked until the caller's transaction ends (``FOR UPDATE`` on PostgreSQL) and read afresh even
    when the unit already holds it, for a read-modify-write."""
    return await s.scalar(
        select(UserGrant)
        .where(UserGrant.user_id == user_id, UserGrant.client_id == client_id, UserGrant.audience == audience)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def grants_page(
    s: OrmUnit,
    *,
    offset: int,
    limit: int,
    user_id: str | None = None,
    client_id: str | None = None,
    audience: str | None = None,
) -> tuple[list[UserGrant], int]:
    """Grants by creation, filtered by whichever of user, client and API is given, and how many match."""
    query = where_equal(
        select(UserGrant),
        (UserGrant.user_id, user_id),
        (UserGrant.client_id, client_id),
        (UserGrant.audience, audience),
    )
    total = await s.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await s.scalars(query.order_by(UserGrant.created_at, UserGrant.id).offset(offset).limit(limit))
    return list(rows.all()), total


async def _by_creation(s: OrmUnit, query: Any) -> list[UserGrant]:
    return list((await s.scalars(query.order_by(UserGrant.created_at, UserGrant.id))).all())


async def user_grants(s: OrmUnit, user_id: str, client_id: str | None = None) -> list[UserGrant]:
    """A user's grants (only those to ``client_id`` when given), oldest first."""
    query = select(UserGrant).where(UserGrant.user_id == user_id)
    if client_id is not None:
        query = query.where(UserGrant.client_id == client_id)
    return await _by_creation(s, query)


async def audience_grants(s: OrmUnit, audience: str) -> list[UserGrant]:
    """Every grant for the API ``audience``, oldest first."""
    return await _by_creation(s, select(UserGrant).where(UserGrant.audience == audience))


async def delete_grant(s: OrmUnit, row: UserGrant) -> None:
    """Mark the grant deleted; the row goes at the caller's flush."""
    await s.delete(row)
