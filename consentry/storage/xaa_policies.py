"""The admin's Cross App Access policies at the enterprise IdP (``xaa_policies``): which app may ask for an ID-JAG
for which resource authorization server. Core statements only; each write is one transaction.

A write that names a client deleted meanwhile, or duplicates ``(client, audience, resource)``, raises the
database's error: ``services.xaa_policies`` tells the two apart with ``storage.gone``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Table, delete, insert, select, update

from consentry.storage.db import Database
from consentry.storage.models import AuditEvent, XaaPolicy

_TABLE: Table = XaaPolicy.__table__  # type: ignore[assignment]
_EVENTS: Table = AuditEvent.__table__  # type: ignore[assignment]
MAX_LIST = 1000


@dataclass(frozen=True)
class PolicyInfo:
    id: str
    client_id: str
    audience: str
    resource: str
    scope: tuple[str, ...]
    resource_client_id: str
    subject_client_id: str | None
    created_at: float
    updated_at: float


def _info(row: Row[Any]) -> PolicyInfo:
    scope = row.scope if isinstance(row.scope, list) else []
    return PolicyInfo(
        id=row.id,
        client_id=row.client_id,
        audience=row.audience,
        resource=row.resource,
        scope=tuple(s for s in scope if isinstance(s, str)),
        resource_client_id=row.resource_client_id,
        subject_client_id=row.subject_client_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def create(db: Database, values: dict[str, Any], event: dict[str, Any]) -> PolicyInfo:
    """Insert the policy and its audit event in one transaction."""
    async with db.write() as conn:
        await conn.execute(insert(_TABLE).values(**values))
        await conn.execute(insert(_EVENTS).values(**event))
        row = (await conn.execute(select(_TABLE).where(_TABLE.c.id == values["id"]))).one()
    return _info(row)


async def get(db: Database, policy_id: str) -> PolicyInfo | None:
    async with db.connect() as conn:
        row = (await conn.execute(select(_TABLE).where(_TABLE.c.id == policy_id))).first()
    return None if row is None else _info(row)


async def listed(db: Database, client_id: str | None = None, audience: str | None = None) -> list[PolicyInfo]:
    """Policies, oldest first, optionally of one app and/or one resource authorization server."""
    query = select(_TABLE).order_by(_TABLE.c.created_at, _TABLE.c.id).limit(MAX_LIST)
    if client_id is not None:
        query = query.where(_TABLE.c.client_id == client_id)
    if audience is not None:
        query = query.where(_TABLE.c.audience == audience)
    async with db.connect() as conn:
        return [_info(r) for r in (await conn.execute(query)).all()]


async def update_one(db: Database, policy_id: str, values: dict[str, Any], event: dict[str, Any]) -> PolicyInfo | None:
    """Change the policy and record the event in one transaction; None (nothing written) when it does not exist."""
    async with db.write() as conn:
        result = await conn.execute(update(_TABLE).where(_TABLE.c.id == policy_id).values(**values))
        if not result.rowcount:
            return None
        await conn.execute(insert(_EVENTS).values(**event))
        row = (await conn.execute(select(_TABLE).where(_TABLE.c.id == policy_id))).one()
    return _info(row)


async def delete_one(db: Database, policy_id: str, event: dict[str, Any]) -> bool:
    """Delete the policy and record the event in one transaction; False when it did not exist."""
    async with db.write() as conn:
        result = await conn.execute(delete(_TABLE).where(_TABLE.c.id == policy_id))
        if result.rowcount:
            await conn.execute(insert(_EVENTS).values(**event))
    return bool(result.rowcount)
