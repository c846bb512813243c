"""Admin side of Dynamic Client Registration: approving pending clients and reviewing registrations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from consentry.clock import iso
from consentry.runtime import Runtime
from consentry.services import audit
from consentry.services.clients import client_json, get_client
from consentry.storage.models import Client

CLIENT_APPROVED = "client.approved"
STATUS_FILTERS = ("pending", "unused")


def approved_at(row: Client) -> float | None:
    """When an admin approved the client (stored as ISO 8601 in its attributes), if ever."""
    value = (row.attributes or {}).get("approved_at")
    try:
        return datetime.fromisoformat(value).timestamp() if isinstance(value, str) else None
    except ValueError:
        return None


async def approve(rt: Runtime, client_id: str, actor: str | None) -> Client:
    """Make a pending client active (idempotent: an active client is returned unchanged)."""
    async with rt.db.transaction() as s:
        row = await get_client(s, client_id)
        if row.status == "pending":
            now = rt.clock.now()
            row.status, row.updated_at = "active", now
            row.attributes = {**(row.attributes or {}), "approved_at": iso(now)}
            audit.record(
                s,
                now,
                CLIENT_APPROVED,
                f"Client '{row.name}' approved",
                client_id=row.client_id,
                details={"actor": actor},
            )
    return row


def registration_json(rt: Runtime, row: Client) -> dict[str, Any]:
    return {
        **client_json(rt, row),
        "status": row.status,
        "registration_ip": row.registration_ip,
        "last_used_at": iso(row.last_used_at),
    }


async def list_registrations(rt: Runtime, *, status: str | None, offset: int, limit: int) -> tuple[list[Client], int]:
    """DCR clients, oldest first; ``pending`` awaits approval, ``unused`` never completed a flow."""
    query = select(Client).where(Client.registration_type == "dcr")
    if status == "pending":
        query = query.where(Client.status == "pending")
    elif status == "unused":
        query = query.where(Client.last_used_at.is_(None))
    async with rt.db.read() as s:
        total = await s.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = (await s.scalars(query.order_by(Client.created_at, Client.client_id).offset(offset).limit(limit))).all()
    return list(rows), total
