"""The SQL of applications (the ``clients`` table): lookups, the insert, the delete with what hangs off a client,
and the Management API's list with its ``q`` search.

The ``q`` language is parsed and checked in ``services/listing.py`` and ``services/clients.py``; what reaches this
module is already a list of ``Match`` conditions, which it turns into parameterized clauses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import and_, delete, func, or_, select

from consentry.storage.db import OrmUnit, write_unless_taken
from consentry.storage.models import (
    AuthorizationCode,
    Client,
    Connection,
    ConnectionClient,
    Interaction,
    RefreshToken,
    UserGrant,
)

CIMD = "cimd"  # registration_type of clients registered from a metadata document
Field = Literal["name", "client_id", "external_client_id", "app_type", "is_first_party"]


async def client(s: OrmUnit, client_id: str) -> Client | None:
    """The stored client (a row of the caller's session, to change in place)."""
    return await s.get(Client, client_id)


async def add_client(s: OrmUnit, row: Client) -> bool:
    """Insert ``row`` now; False when its ``client_id`` is taken (another transaction committed it in between,
    e.g. an import of the same client)."""
    s.add(row)
    return await write_unless_taken(s)


async def enable_every_connection(s: OrmUnit, client_id: str) -> None:
    """Enable each of the tenant's connections for the client (``enable_client_connections``)."""
    for conn_id in (await s.scalars(select(Connection.id))).all():
        s.add(ConnectionClient(connection_id=conn_id, client_id=client_id))


async def delete_with_dependents(s: OrmUnit, row: Client) -> None:
    """Delete the client with its refresh tokens, user grants, codes and pending logins.

    Codes and pending logins go before the client row (its cascade would reach them after it): a code exchange
    or an /authorize locks its code or pending login and then checks the client, so this order cannot deadlock.
    """
    client_id = row.client_id
    await s.execute(delete(RefreshToken).where(RefreshToken.client_id == client_id))
    await s.execute(delete(UserGrant).where(UserGrant.client_id == client_id))
    await s.execute(delete(AuthorizationCode).where(AuthorizationCode.client_id == client_id))
    await s.execute(delete(Interaction).where(Interaction.client_id == client_id))
    await s.delete(row)


# --- the list and its search ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """One condition of a client search: ``field`` equals ``value``, or matches it as a LIKE pattern (escape
    ``\\``) when ``like``. ``name`` compares the lower-cased name (give ``value`` in lower case);
    ``external_client_id`` is the ``client_id`` of a metadata-document client."""

    field: Field
    value: str | bool
    like: bool = False


def _clause(m: Match) -> Any:
    if m.field == "is_first_party":
        return Client.is_first_party == m.value
    if m.field == "name":
        column: Any = func.lower(Client.name)
    else:
        column = Client.app_type if m.field == "app_type" else Client.client_id
    match = column.like(m.value, escape="\\") if m.like else column == m.value
    return and_(match, Client.registration_type == CIMD) if m.field == "external_client_id" else match


async def clients_page(
    s: OrmUnit,
    *,
    offset: int,
    limit: int,
    search: Sequence[Sequence[Match]] = (),
    external_client_id: str | None = None,
    is_first_party: bool | None = None,
    app_types: Sequence[str] | None = None,
) -> tuple[list[Client], int]:
    """Clients by creation, and how many match. ``search``: OR-groups of AND-ed matches (``q``)."""
    query = select(Client)
    if search:
        query = query.where(or_(*(and_(*(_clause(m) for m in group)) for group in search)))
    if external_client_id is not None:  # a metadata-document client's id is its document's URL
        query = query.where(Client.client_id == external_client_id, Client.registration_type == CIMD)
    if is_first_party is not None:
        query = query.where(Client.is_first_party == is_first_party)
    if app_types:
        query = query.where(Client.app_type.in_(app_types))
    total = await s.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = (await s.scalars(query.order_by(Client.created_at, Client.client_id).offset(offset).limit(limit))).all()
    return list(rows), total
