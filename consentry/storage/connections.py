"""Every statement on connections (user directories) and the clients each one is enabled for
(``connection_clients``): what the Management API, the dashboard and the tenant settings read and write.

Writes run in the caller's transaction; a connection's deletion takes its users with it, and what was issued to
them, as Auth0 does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, select

from consentry.storage.db import OrmUnit
from consentry.storage.models import (
    AuthorizationCode,
    Client,
    Connection,
    ConnectionClient,
    LoginSession,
    RefreshToken,
    User,
    UserGrant,
)
from consentry.storage.paging import Paging, checkpoint_select, checkpoint_split

ID_MAX_LENGTH = 64  # longer ids are never stored: answered as unknown without a query


async def connection(s: OrmUnit, connection_id: str) -> Connection | None:
    """The connection row in the caller's session (its changes are written with the transaction)."""
    return await s.get(Connection, connection_id) if len(connection_id) <= ID_MAX_LENGTH else None


async def id_of_named(s: OrmUnit, name: str) -> str | None:
    """The id of the connection called ``name`` (names are unique), if there is one."""
    return await s.scalar(select(Connection.id).where(Connection.name == name))


async def existing_clients(s: OrmUnit, client_ids: Sequence[str]) -> set[str]:
    """Which of ``client_ids`` name a stored client."""
    return set((await s.scalars(select(Client.client_id).where(Client.client_id.in_(client_ids)))).all())


async def enabled_clients(s: OrmUnit, connection_ids: list[str]) -> dict[str, list[str]]:
    """The clients enabled for each of the connections (every one given is a key, with no clients or some)."""
    found: dict[str, list[str]] = {cid: [] for cid in connection_ids}
    if connection_ids:
        rows = await s.execute(
            select(ConnectionClient.connection_id, ConnectionClient.client_id).where(
                ConnectionClient.connection_id.in_(connection_ids)
            )
        )
        for conn_id, client_id in rows.all():
            found[conn_id].append(client_id)
    return found


async def enabled_client_ids(s: OrmUnit, connection_id: str) -> set[str]:
    """The clients the connection is enabled for."""
    query = select(ConnectionClient.client_id).where(ConnectionClient.connection_id == connection_id)
    return set((await s.scalars(query)).all())


async def replace_enabled_clients(s: OrmUnit, connection_id: str, client_ids: Iterable[str]) -> None:
    """Enable the connection for exactly these clients (the previous list goes)."""
    await s.execute(delete(ConnectionClient).where(ConnectionClient.connection_id == connection_id))
    for client_id in client_ids:
        s.add(ConnectionClient(connection_id=connection_id, client_id=client_id))


def enable_client(s: OrmUnit, connection_id: str, client_id: str) -> None:
    s.add(ConnectionClient(connection_id=connection_id, client_id=client_id))


async def disable_client(s: OrmUnit, connection_id: str, client_id: str) -> None:
    await s.execute(
        delete(ConnectionClient).where(
            ConnectionClient.connection_id == connection_id, ConnectionClient.client_id == client_id
        )
    )


async def insert(s: OrmUnit, row: Connection) -> None:
    """Add a new connection and send it now (its enabled clients refer to it)."""
    s.add(row)
    await s.flush()


async def delete_with_users(s: OrmUnit, row: Connection) -> None:
    """Delete the connection, its users with their grants, refresh tokens, login sessions and codes, and the
    list of clients it is enabled for."""
    users = select(User.user_id).where(User.connection_id == row.id)
    for model in (UserGrant, RefreshToken, LoginSession, AuthorizationCode):
        await s.execute(delete(model).where(model.user_id.in_(users)))
    await s.execute(delete(User).where(User.connection_id == row.id))
    await s.execute(delete(ConnectionClient).where(ConnectionClient.connection_id == row.id))
    await s.delete(row)


async def connections_page(
    s: OrmUnit, p: Paging, *, strategies: list[str] | None = None, name: str | None = None
) -> tuple[list[Connection], int | None, str | None]:
    """Connections by creation, filtered by strategy and exact name: the rows, the total (offset paging) and the
    ``next`` cursor (checkpoint paging)."""
    query = select(Connection)
    if strategies:
        query = query.where(Connection.strategy.in_(strategies))
    if name is not None:
        query = query.where(Connection.name == name)
    if p.checkpoint:
        rows = (await s.scalars(checkpoint_select(query, (Connection.created_at, Connection.id), p))).all()
        page, next_from = checkpoint_split(rows, p, lambda r: (r.created_at, r.id))
        return page, None, next_from
    total = await s.scalar(select(func.count()).select_from(query.subquery())) or 0
    ordered = query.order_by(Connection.created_at, Connection.id).offset(p.offset).limit(p.per_page)
    return list((await s.scalars(ordered)).all()), total, None


async def enabled_clients_page(s: OrmUnit, connection_id: str, p: Paging) -> tuple[list[str], str | None]:
    """A checkpoint page of the clients the connection is enabled for, by client id, and the ``next`` cursor."""
    query = select(ConnectionClient.client_id).where(ConnectionClient.connection_id == connection_id)
    rows = (await s.scalars(checkpoint_select(query, (ConnectionClient.client_id,), p))).all()
    return checkpoint_split(rows, p, lambda c: (c,))
