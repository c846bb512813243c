"""The tenant row (``tenant``, id 1): what the admin set over Auth0's defaults, read and written in the caller's
transaction."""

from __future__ import annotations

from sqlalchemy import select

from consentry.storage.db import OrmUnit
from consentry.storage.models import Tenant

TENANT_ROW_ID = 1


async def tenant_row(s: OrmUnit, *, lock: bool = False) -> Tenant | None:
    """The tenant row in the caller's session; with ``lock``, locked for the transaction (PostgreSQL), so two
    PATCHes merge one after the other."""
    query = select(Tenant).where(Tenant.id == TENANT_ROW_ID)
    return await s.scalar(query.with_for_update() if lock else query)


def add_tenant_row(s: OrmUnit, row: Tenant) -> None:
    """Store a tenant row made by the caller (bootstrap normally creates it)."""
    s.add(row)
