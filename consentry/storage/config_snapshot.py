"""The SQL behind the per-process configuration cache (``config_cache.Catalog``): the rows of one cache entry.

Every read draws from the cache's own small pool (``Database.cache_read``): a cache miss happens inside requests
that already hold a pooled connection. The lookups read only the rows that concern the key, so their cost does not
grow with the number of applications.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from consentry.storage.db import Database
from consentry.storage.models import Client, ClientGrant, Connection, ConnectionClient, ResourceServer, Tenant


async def client(db: Database, client_id: str) -> Client | None:
    async with db.cache_read() as s:
        return await s.get(Client, client_id)


async def api(db: Database, identifier: str) -> ResourceServer | None:
    async with db.cache_read() as s:
        return await s.scalar(select(ResourceServer).where(ResourceServer.identifier == identifier))


async def client_grants(db: Database, audience: str, client_id: str | None) -> list[ClientGrant]:
    """The client grants for one API: all of them, or (``client_id`` given) that client's own grants, then the
    defaults (``client_id`` NULL)."""
    if client_id is None:
        queries = [select(ClientGrant).where(ClientGrant.audience == audience)]
    else:  # two lookups on the client_id index (an OR made SQLite scan every grant of the API)
        queries = [
            select(ClientGrant).where(ClientGrant.client_id == client_id, ClientGrant.audience == audience),
            select(ClientGrant).where(ClientGrant.client_id.is_(None), ClientGrant.audience == audience),
        ]
    async with db.cache_read() as s:
        return [row for query in queries for row in (await s.scalars(query)).all()]


async def connections(db: Database, client_id: str | None) -> tuple[list[Connection], list[tuple[str, str]]]:
    """Every connection, oldest first, and its ``(connection_id, client_id)`` links: all of them, or (``client_id``
    given) only that client's."""
    links_query = select(ConnectionClient.connection_id, ConnectionClient.client_id)
    async with db.cache_read() as s:
        rows = list((await s.scalars(select(Connection).order_by(Connection.created_at))).all())
        if client_id is not None:  # (connection_id, client_id) is the primary key: look each pair up
            links_query = links_query.where(
                ConnectionClient.connection_id.in_([r.id for r in rows]),
                ConnectionClient.client_id == client_id,
            )
        links = [(conn_id, cid) for conn_id, cid in (await s.execute(links_query)).all()]
    return rows, links


async def tenant_settings(db: Database) -> dict[str, Any]:
    """The tenant's stored settings (empty before the bootstrap created its row)."""
    async with db.cache_read() as s:
        row = await s.get(Tenant, 1)
        return row.settings if row else {}
