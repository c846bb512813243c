"""What dynamic registration (DCR, ``oauth/registration.py``; CIMD, ``oauth/cimd/store.py``) reads and writes besides
the client services: governance checks, the client row a registration manages, its enabled connections."""

from __future__ import annotations

from sqlalchemy import func, select

from consentry.config_records import THIRD_PARTY_DEFAULT
from consentry.storage.db import OrmUnit
from consentry.storage.models import Client, ClientGrant, Connection, ConnectionClient, ResourceServer


async def default_user_grant_exists(s: OrmUnit) -> bool:
    """A ``default_for: third_party_clients`` client grant for user flows exists (DCR clients need one, T9)."""
    found = await s.scalar(
        select(ClientGrant.id)
        .where(ClientGrant.default_for == THIRD_PARTY_DEFAULT, ClientGrant.subject_type == "user")
        .limit(1)
    )
    return found is not None


async def registered_from(s: OrmUnit, ip: str) -> int:
    """How many clients registered dynamically from this address exist."""
    held = await s.scalar(
        select(func.count()).select_from(Client).where(Client.registration_type == "dcr", Client.registration_ip == ip)
    )
    return int(held or 0)


async def client(s: OrmUnit, client_id: str) -> Client | None:
    """The client row, in the caller's session (its changes are written with the transaction)."""
    return await s.get(Client, client_id)


async def enable_every_connection(s: OrmUnit, client_id: str) -> None:
    """Enable each connection of the tenant for a new client (the tenant flag ``enable_client_connections``)."""
    for conn_id in (await s.scalars(select(Connection.id))).all():
        s.add(ConnectionClient(connection_id=conn_id, client_id=client_id))


async def longest_access_token_lifetime(s: OrmUnit) -> float:
    """The longest access token lifetime of any API (seconds): how long a token minted at a client's last use
    may live (DCR pruning keeps the client that long)."""
    found = await s.scalar(select(func.max(ResourceServer.token_lifetime)))
    return float(found or 0)
