"""The SQL of client grants (the ``client_grants`` table): which application may call which API.

One grant per client (or per default, ``default_for``), audience and subject type: the unique constraints refuse a
second one, and ``add_client_grant`` turns that refusal into False for the service to answer as a conflict.
"""

from __future__ import annotations

from sqlalchemy import Select, func, select

from consentry.storage.db import OrmUnit, write_unless_taken
from consentry.storage.models import ClientGrant, ResourceServer
from consentry.storage.paging import Paging, checkpoint_select, checkpoint_split, where_equal


async def api(s: OrmUnit, audience: str) -> ResourceServer | None:
    """The API a grant names, by its identifier (the grant's ``audience``)."""
    return await s.scalar(select(ResourceServer).where(ResourceServer.identifier == audience))


async def client_grant(s: OrmUnit, grant_id: str) -> ClientGrant | None:
    """The stored grant (a row of the caller's session, to change in place)."""
    return await s.get(ClientGrant, grant_id)


async def add_client_grant(s: OrmUnit, row: ClientGrant) -> bool:
    """Insert ``row`` now; False when the client (or default) already has a grant for this audience and subject
    type."""
    s.add(row)
    return await write_unless_taken(s)


async def delete_client_grant(s: OrmUnit, row: ClientGrant) -> None:
    await s.delete(row)
    await s.flush()


def _filtered(
    audience: str | None, client_id: str | None, subject_type: str | None, default_for: str | None
) -> Select[ClientGrant]:
    return where_equal(
        select(ClientGrant),
        (ClientGrant.audience, audience),
        (ClientGrant.client_id, client_id),
        (ClientGrant.subject_type, subject_type),
        (ClientGrant.default_for, default_for),
    )


async def client_grants_page(
    s: OrmUnit,
    p: Paging,
    *,
    audience: str | None = None,
    client_id: str | None = None,
    subject_type: str | None = None,
    default_for: str | None = None,
) -> tuple[list[ClientGrant], int | None, str | None]:
    """Grants by creation matching every filter given: the rows, the total (offset paging) and the ``next``
    cursor (checkpoint paging); a bad cursor is ``InvalidCursor``."""
    query = _filtered(audience, client_id, subject_type, default_for)
    if p.checkpoint:
        rows = (await s.scalars(checkpoint_select(query, (ClientGrant.created_at, ClientGrant.id), p))).all()
        page, next_from = checkpoint_split(rows, p, lambda r: (r.created_at, r.id))
        return page, None, next_from
    total = await s.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = (
        await s.scalars(query.order_by(ClientGrant.created_at, ClientGrant.id).offset(p.offset).limit(p.per_page))
    ).all()
    return list(rows), total, None
