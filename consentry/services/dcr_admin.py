"""Admin side of Dynamic Client Registration: the approval queue (approve, reject) and the review listing.

Registrations awaiting a first consent (``services.dcr_pending``) are listed with the stored DCR clients;
approving one makes it visible to users (its pending expiry starts again), rejecting one deletes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from consentry.clock import iso
from consentry.runtime import Runtime
from consentry.services import audit, dcr_pending
from consentry.services.clients import client_json, delete_client, get_client
from consentry.services.errors import refused
from consentry.storage import dcr_admin as store
from consentry.storage import pending_registrations
from consentry.storage.dcr_models import PendingRegistration
from consentry.storage.models import Client

CLIENT_APPROVED = "client.approved"
CLIENT_REJECTED = "client.rejected"
STATUS_FILTERS = ("pending", "unused", "held")
LISTED_AT_MOST = 10_000  # a page of the merged listing reads at most this far into each table


def approved_at(row: Client) -> float | None:
    """When an admin approved the client (stored as ISO 8601 in its attributes), if ever."""
    value = (row.attributes or {}).get("approved_at")
    try:
        return datetime.fromisoformat(value).timestamp() if isinstance(value, str) else None
    except ValueError:
        return None


def _approve_held(held: PendingRegistration, now: float, hours: float) -> None:
    attrs = {**(held.client.get("attributes") or {}), "approved_at": iso(now)}
    held.client = {**held.client, "status": "active", "updated_at": now, "attributes": attrs}
    held.status, held.expires_at = "active", now + hours * 3600  # its users get the whole wait again


async def approve(rt: Runtime, client_id: str, actor: str | None) -> Client:
    """Make a client awaiting approval active, stored or pending (idempotent: an active one is unchanged)."""
    hours = (await dcr_pending.current_policy(rt)).hours
    async with rt.db.transaction() as s:
        now = rt.clock.now()
        held = dcr_pending.live(await pending_registrations.get(s, client_id), now)
        if held is not None:
            was = held.status
            if was == "pending":
                _approve_held(held, now, hours)
            row = dcr_pending.as_client(held)
        else:
            row = await get_client(s, client_id)
            was = row.status
            if was == "pending":
                row.status, row.updated_at = "active", now
                row.attributes = {**(row.attributes or {}), "approved_at": iso(now)}
        if was == "pending":
            audit.record(
                s, now, CLIENT_APPROVED, f"Client '{row.name}' approved", client_id=client_id, details={"actor": actor}
            )
    return row


async def reject(rt: Runtime, client_id: str, actor: str | None) -> None:
    """Delete a registration awaiting approval (pending or stored); an approved client is refused."""
    async with rt.db.transaction() as s:
        now = rt.clock.now()
        held = dcr_pending.live(await pending_registrations.get(s, client_id), now)
        name = held.name if held is not None else None
        if held is not None and held.status == "pending":
            await pending_registrations.delete_one(s, client_id)
        elif held is None and (row := await get_client(s, client_id)).status == "pending":
            name = row.name
            await delete_client(rt, s, client_id, reason="rejected by an administrator")
        else:
            raise refused("Only a registration awaiting approval can be rejected.", "not_pending")
        audit.record(
            s, now, CLIENT_REJECTED, f"Client '{name}' rejected", client_id=client_id, details={"actor": actor}
        )


@dataclass(frozen=True)
class Listed:
    """One row of the review listing: the client (or what a pending registration becomes) and, for a pending
    registration, when it expires."""

    row: Client
    held_until: float | None = None


def registration_json(rt: Runtime, item: Listed) -> dict[str, Any]:
    row = item.row
    body = {
        **client_json(rt, row),
        "status": row.status,
        "registration_ip": row.registration_ip,
        "last_used_at": iso(row.last_used_at),
    }
    if item.held_until is not None:
        body["held_until_first_consent"] = True
        body["expires_at"] = iso(item.held_until)
    return body


async def list_registrations(rt: Runtime, *, status: str | None, offset: int, limit: int) -> tuple[list[Listed], int]:
    """DCR registrations, oldest first: ``pending`` awaits an admin's approval, ``unused`` is stored and never
    completed a flow, ``held`` awaits a first consent; no filter lists stored and held ones together."""
    reach = min(offset + limit, LISTED_AT_MOST)
    stored: list[Listed] = []
    held: list[Listed] = []
    total = 0
    async with rt.db.read() as s:
        if status != "held":
            rows, count = await store.stored_registrations(s, status=status, limit=reach)
            total += count
            stored = [Listed(r) for r in rows]
        if status != "unused":
            pending, count = await pending_registrations.listing(
                s, awaiting_approval=status == "pending", now=rt.clock.now(), limit=reach
            )
            total += count
            held = [Listed(dcr_pending.as_client(p), p.expires_at) for p in pending]
    merged = sorted(stored + held, key=lambda i: (i.row.created_at, i.row.client_id))
    return merged[offset : offset + limit], total
