"""An application's public keys for ``private_key_jwt`` (the ``client_credentials`` table).

Not cached: client authentication reads the few keys of one application by its indexed ``client_id``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Table, delete, insert, select, update

from consentry.storage.db import Database, Unit
from consentry.storage.models import ClientCredential

TABLE: Table = ClientCredential.__table__  # type: ignore[assignment]


@dataclass(frozen=True, kw_only=True)
class StoredCredential:
    id: str
    client_id: str
    name: str | None
    credential_type: str
    kid: str
    alg: str
    pem: str
    created_at: float
    updated_at: float
    expires_at: float | None


def _row(mapping: object) -> StoredCredential:
    return StoredCredential(**dict(mapping))  # type: ignore[call-overload]


async def insert_in(unit: Unit, credential: StoredCredential) -> None:
    await unit.execute(insert(TABLE).values(**credential.__dict__))


async def list_in(unit: Unit, client_id: str) -> list[StoredCredential]:
    query = select(TABLE).where(TABLE.c.client_id == client_id).order_by(TABLE.c.created_at, TABLE.c.id)
    return [_row(r._mapping) for r in (await unit.execute(query)).all()]


async def get_in(unit: Unit, client_id: str, credential_id: str) -> StoredCredential | None:
    query = select(TABLE).where(TABLE.c.client_id == client_id, TABLE.c.id == credential_id)
    row = (await unit.execute(query)).first()
    return _row(row._mapping) if row is not None else None


async def set_expiry_in(unit: Unit, client_id: str, credential_id: str, expires_at: float | None, now: float) -> int:
    statement = (
        update(TABLE)
        .where(TABLE.c.client_id == client_id, TABLE.c.id == credential_id)
        .values(expires_at=expires_at, updated_at=now)
    )
    return int((await unit.execute(statement)).rowcount or 0)  # type: ignore[attr-defined]


async def delete_in(unit: Unit, client_id: str, credential_id: str) -> int:
    statement = delete(TABLE).where(TABLE.c.client_id == client_id, TABLE.c.id == credential_id)
    return int((await unit.execute(statement)).rowcount or 0)  # type: ignore[attr-defined]


async def for_assertion(db: Database, client_id: str, credential_ids: tuple[str, ...]) -> list[StoredCredential]:
    """The keys a client assertion may be signed with: those the application lists for ``private_key_jwt``."""
    if not credential_ids:
        return []
    query = select(TABLE).where(TABLE.c.client_id == client_id, TABLE.c.id.in_(credential_ids))
    async with db.connect() as conn:
        return [_row(r._mapping) for r in (await conn.execute(query)).all()]
