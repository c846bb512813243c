"""Register-on-consent DCR: a dynamically registered client is held as a pending registration until a user
first approves it, and only then becomes a stored client (SPEC §6 "Beyond Auth0").

Agents register one client per install and most are never authorized by anyone. A pending registration writes
no configuration (no ``clients`` row, no cache invalidation on any worker, no connection links, no audit row);
it has a hard cap and expires after ``dcr_pending_hours``, when the prune removes every expired one in one
statement. It still works like a client: its RFC 7591 response is the same, its RFC 7592 endpoint and
registration access token work, and ``/authorize`` resolves it (``find_client``) through login and consent.
The first approval promotes it (``promote_in``) in the transaction that records the user grant, under the
``client_id`` issued at registration. The tenant settings ``dcr_require_approval``, ``dcr_pending_max`` and
``dcr_pending_hours`` override the server's settings of the same name.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

from consentry.clock import iso
from consentry.config_records import ClientInfo
from consentry.runtime import Runtime
from consentry.services import audit
from consentry.services.clients import store_client
from consentry.settings import Settings
from consentry.storage import pending_registrations as store
from consentry.storage.db import OrmUnit
from consentry.storage.dcr_models import PendingRegistration
from consentry.storage.models import Client

log = logging.getLogger("consentry.dcr")
_KEPT = tuple(c.name for c in Client.__table__.columns if c.name != "last_used_at")


@dataclass(frozen=True)
class HoldPolicy:
    """How registrations are held: at all, how many at most, for how long, and whether an admin approves."""

    enabled: bool
    max_pending: int
    hours: float
    require_approval: bool


def _number(value: Any, default: float) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
    return float(value) if ok else default


def hold_policy(settings: Settings, tenant: dict[str, Any]) -> HoldPolicy:
    """The tenant's values over the server's settings (a stored value of the wrong type is ignored). Pure."""
    approval = tenant.get("dcr_require_approval")
    return HoldPolicy(
        enabled=settings.dcr_hold_until_consent,
        max_pending=int(_number(tenant.get("dcr_pending_max"), settings.dcr_pending_max)),
        hours=_number(tenant.get("dcr_pending_hours"), settings.dcr_pending_hours),
        require_approval=approval if isinstance(approval, bool) else settings.dcr_require_approval,
    )


async def current_policy(rt: Runtime) -> HoldPolicy:
    return hold_policy(rt.settings, await rt.catalog.tenant())


def as_client(held: PendingRegistration) -> Client:
    """The ``clients`` row the registration becomes (not in any session)."""
    return Client(**{k: held.client[k] for k in _KEPT if k in held.client}, last_used_at=None)


def columns_of(row: Client) -> dict[str, Any]:
    return {k: getattr(row, k) for k in _KEPT}


def live(held: PendingRegistration | None, now: float) -> PendingRegistration | None:
    return held if held is not None and held.expires_at > now else None


async def hold(rt: Runtime, s: OrmUnit, row: Client, policy: HoldPolicy) -> bool:
    """Keep ``row`` (validated, with its registration access token digest) as a pending registration; False
    when the hard cap of live pending registrations is reached (nothing is written)."""
    now = rt.clock.now()
    await store.serialise_registrations(s)
    if await store.live_count(s, now) >= policy.max_pending:
        return False
    store.add(
        s,
        PendingRegistration(
            client_id=row.client_id,
            name=row.name,
            status=row.status,
            registration_ip=row.registration_ip,
            registration_token_hash=row.registration_token_hash or "",
            client=columns_of(row),
            created_at=now,
            expires_at=now + policy.hours * 3600,
        ),
    )
    return True


def rewrite(held: PendingRegistration, row: Client) -> None:
    """Store the changed row (an RFC 7592 update) in the registration, inside the caller's transaction."""
    held.client, held.name, held.status = columns_of(row), row.name, row.status


async def resolve(rt: Runtime, client_id: str) -> ClientInfo | None:
    """The live pending registration as the client ``/authorize``, login and consent see, or None."""
    held = live(await store.read(rt.db, client_id), rt.clock.now())
    if held is None:
        return None
    return dataclasses.replace(ClientInfo.from_row(as_client(held)), registration_pending=True)


async def find_client(rt: Runtime, client_id: str) -> ClientInfo | None:
    """A stored client (the catalog) or else a live pending registration."""
    return await rt.catalog.client(client_id) or await resolve(rt, client_id)


async def promote_in(rt: Runtime, s: OrmUnit, client_id: str, actor: str | None) -> bool:
    """Store the registration as a client inside the caller's transaction (the first consent's). True when the
    client is stored afterwards (also when a concurrent first consent promoted it); False when it expired or
    was deleted meanwhile."""
    held = await store.get_for_update(s, client_id)
    if held is None:
        return await store.stored_client_exists(s, client_id)
    if held.expires_at <= rt.clock.now() or held.status != "active":
        return False
    row = as_client(held)
    await s.delete(held)  # its pending requests stay: the consent being answered is one of them
    await store_client(rt, s, row, actor=actor)
    log.info("DCR client %s stored at its first consent", client_id)
    return True


def _reason(created_at: float, expires_at: float) -> str:
    return f"no user approved it within {(expires_at - created_at) / 3600:g} hours of its registration"


def _entry(
    *, client_id: str, name: str, status: str, registration_ip: str | None, created_at: float, expires_at: float
) -> dict[str, Any]:
    """One line of ``consentry dcr prune`` and the dashboard's cleanup list (the shape of ``dcr_prune``'s)."""
    return {
        "client_id": client_id,
        "name": name,
        "kind": "pending_registration",
        "status": status,
        "registration_ip": registration_ip,
        "created_at": iso(created_at),
        "last_used_at": None,
        "reason": _reason(created_at, expires_at),
    }


async def expired_entries(rt: Runtime, limit: int | None) -> tuple[list[dict[str, Any]], int]:
    """What the next prune removes of the pending registrations (the first ``limit``) and how many."""
    async with rt.db.read() as s:
        rows, total = await store.expired(s, rt.clock.now(), limit if limit is not None else 10_000_000)
    listed = [
        _entry(
            client_id=r.client_id,
            name=r.name,
            status=r.status,
            registration_ip=r.registration_ip,
            created_at=r.created_at,
            expires_at=r.expires_at,
        )
        for r in rows
    ]
    return listed, total


async def remove_expired(rt: Runtime) -> list[dict[str, Any]]:
    """Delete every expired pending registration in one transaction (one audit event for all of them)."""
    now = rt.clock.now()
    async with rt.db.transaction() as s:
        gone = await store.delete_expired(s, now)
        if gone:
            audit.record(
                s,
                now,
                audit.DCR_PRUNED,
                f"{len(gone)} dynamic registrations no user approved removed",
                details={"pending_registrations": len(gone)},
            )
    if gone:
        log.info("removed %d expired pending DCR registrations", len(gone))
    return [_entry(**r) for r in gone]
