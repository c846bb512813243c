"""The SQL of the first-start setup (``bootstrap.py``): is a bootstrapped row there yet, and adding it."""

from __future__ import annotations

from sqlalchemy import select

from consentry.storage import connections
from consentry.storage.db import OrmUnit
from consentry.storage.models import Base, ResourceServer, Tenant


async def has_tenant(s: OrmUnit) -> bool:
    return await s.scalar(select(Tenant.id).where(Tenant.id == 1)) is not None


async def has_api(s: OrmUnit, identifier: str) -> bool:
    return await s.scalar(select(ResourceServer.id).where(ResourceServer.identifier == identifier)) is not None


async def has_connection_named(s: OrmUnit, name: str) -> bool:
    return await connections.id_of_named(s, name) is not None


def add(s: OrmUnit, row: Base) -> None:
    """A new row, inserted when the caller's transaction commits (a duplicate key is then the caller's to handle)."""
    s.add(row)


async def api_by_identifier(s: OrmUnit, identifier: str) -> ResourceServer | None:
    return await s.scalar(select(ResourceServer).where(ResourceServer.identifier == identifier))
