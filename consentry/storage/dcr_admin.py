"""What the review of dynamic registrations reads from stored clients (the pending ones are read through
``storage.pending_registrations``)."""

from __future__ import annotations

from sqlalchemy import func, select

from consentry.storage.db import OrmUnit
from consentry.storage.models import Client


async def stored_registrations(s: OrmUnit, *, status: str | None, limit: int) -> tuple[list[Client], int]:
    """The first ``limit`` stored DCR clients, oldest first, and how many there are: all of them, or only those
    awaiting approval (``pending``) or that never completed a flow (``unused``)."""
    query = select(Client).where(Client.registration_type == "dcr")
    if status == "pending":
        query = query.where(Client.status == "pending")
    elif status == "unused":
        query = query.where(Client.last_used_at.is_(None))
    total = await s.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = (await s.scalars(query.order_by(Client.created_at, Client.client_id).limit(limit))).all()
    return list(rows), total
