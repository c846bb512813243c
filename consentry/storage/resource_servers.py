"""Every statement on APIs (resource servers) that the Management API and the dashboard make: lookups by ``id`` or
``identifier``, the listing, and the writes, in the caller's transaction.

An API's deletion takes its client grants and the permissions roles and users hold for it (``storage.rbac``);
its users' grants are revoked before, by the user grant service.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select

from consentry.storage import rbac
from consentry.storage.db import OrmUnit
from consentry.storage.models import ClientGrant, ResourceServer

ID_MAX_LENGTH = 64  # longer values cannot be an ``id``: only the identifier is looked up


async def id_with_identifier(s: OrmUnit, identifier: str) -> str | None:
    """The id of the API whose ``identifier`` (audience) this is, if there is one."""
    return await s.scalar(select(ResourceServer.id).where(ResourceServer.identifier == identifier))


async def by_id_or_identifier(s: OrmUnit, id_or_identifier: str) -> ResourceServer | None:
    """The API by ``id``, else by ``identifier`` (Auth0 accepts both in the path), in the caller's session."""
    row = await s.get(ResourceServer, id_or_identifier) if len(id_or_identifier) <= ID_MAX_LENGTH else None
    if row is None:
        row = await s.scalar(select(ResourceServer).where(ResourceServer.identifier == id_or_identifier))
    return row


async def resource_servers_page(
    s: OrmUnit, *, offset: int, limit: int, identifiers: list[str] | None = None
) -> tuple[list[ResourceServer], int]:
    """APIs by creation (only those with one of ``identifiers``, when given) and how many match."""
    query = select(ResourceServer)
    if identifiers:
        query = query.where(ResourceServer.identifier.in_(identifiers))
    total = await s.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await s.scalars(query.order_by(ResourceServer.created_at, ResourceServer.id).offset(offset).limit(limit))
    return list(rows.all()), total


async def insert(s: OrmUnit, row: ResourceServer) -> None:
    """Add a new API and send it now (a duplicate identifier fails here, not at commit)."""
    s.add(row)
    await s.flush()


async def delete_with_client_grants(s: OrmUnit, row: ResourceServer) -> None:
    """Delete the API, the client grants for its audience and the permissions roles and users hold for it."""
    await s.execute(delete(ClientGrant).where(ClientGrant.audience == row.identifier))
    await rbac.forget_api(s, row.identifier)
    await s.delete(row)
