"""Automatic cleanup of unused dynamically registered clients (SPEC §6 "Beyond Auth0").

DCR lets anyone create clients, and agents register a new one per install; most are used once or
never. A DCR client is *stale* when nobody holds a live user grant or refresh token for it and
either it never completed a flow (``last_used_at`` is unset; the token endpoint sets it) within
``dcr_prune_never_used_hours`` of its registration (or approval), or its last use is older than
``dcr_prune_idle_days``. The rule is the pure ``stale_reason``; ``prune`` applies it, re-checking
each client under a row lock in its own transaction so a client that is used meanwhile is kept. A client
used within the longest access token lifetime of the tenant's APIs is kept too: an access token issued at
its last use may still be live.

Pending registrations (``services.dcr_pending``: registered, never approved by a user) go when they expire,
all in one statement; they never had a grant or a token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from consentry.clock import iso
from consentry.runtime import Runtime
from consentry.services import audit, dcr_pending, rate_limit
from consentry.services.background import log_failure
from consentry.services.clients import delete_client
from consentry.services.dcr_admin import approved_at
from consentry.storage import dcr_prune as store
from consentry.storage import registrations
from consentry.storage.db import OrmUnit
from consentry.storage.models import Client

log = logging.getLogger("consentry.dcr")

LEASE = "dcr-prune"
COUNTER_RETENTION = 86400.0  # rate counters older than a day are dropped by the periodic task


@dataclass(frozen=True)
class PrunePolicy:
    never_used_hours: float
    idle_days: float
    access_token_lifetime: float = 0.0  # seconds: the longest of the APIs' token lifetimes


@dataclass(frozen=True)
class Usage:
    """What the rule needs to know about one DCR client."""

    created_at: float
    last_used_at: float | None
    live_grants: int = 0
    live_refresh_tokens: int = 0
    approved_at: float | None = None


def stale_reason(usage: Usage, policy: PrunePolicy, now: float) -> str | None:
    """Why the client may be removed, or None when it must be kept. Pure."""
    if usage.live_grants or usage.live_refresh_tokens:
        return None  # someone relies on it
    if usage.last_used_at is not None and now - usage.last_used_at <= policy.access_token_lifetime:
        return None  # an access token issued at its last use may still be live
    if usage.last_used_at is None:
        since = max(usage.created_at, usage.approved_at or 0.0)
        if now - since > policy.never_used_hours * 3600:
            return f"never used within {policy.never_used_hours:g} hours of registration"
        return None
    if now - usage.last_used_at > policy.idle_days * 86400:
        return f"not used for more than {policy.idle_days:g} days"
    return None


def is_stale(usage: Usage, policy: PrunePolicy, now: float) -> bool:
    return stale_reason(usage, policy, now) is not None


def policy_of(rt: Runtime, access_token_lifetime: float = 0.0) -> PrunePolicy:
    return PrunePolicy(rt.settings.dcr_prune_never_used_hours, rt.settings.dcr_prune_idle_days, access_token_lifetime)


async def current_policy(rt: Runtime) -> PrunePolicy:
    async with rt.db.read() as s:
        return policy_of(rt, await registrations.longest_access_token_lifetime(s))


def _window(policy: PrunePolicy, now: float) -> store.StaleWindow:
    """The clients old enough to be stale: never used for ``never_used_hours`` since registration, or idle for
    ``idle_days`` (``stale_reason`` then decides for each)."""
    return store.StaleWindow(now, now - policy.never_used_hours * 3600, now - policy.idle_days * 86400)


def _usage(found: store.Candidate) -> Usage:
    row = found.row
    grants, tokens = int(found.live_grants or 0), int(found.live_refresh_tokens or 0)
    return Usage(row.created_at, row.last_used_at, grants, tokens, approved_at(row))


def _entry(row: Client, reason: str) -> dict[str, Any]:
    return {
        "client_id": row.client_id,
        "name": row.name,
        "kind": "client",
        "status": row.status,
        "registration_ip": row.registration_ip,
        "created_at": iso(row.created_at),
        "last_used_at": iso(row.last_used_at),
        "reason": reason,
    }


async def count(rt: Runtime, listed: list[dict[str, Any]]) -> int:
    """How many a prune removes, given a dry run's list (which may name only some pending registrations)."""
    _, held = await dcr_pending.expired_entries(rt, 0)
    return held + sum(1 for e in listed if e.get("kind") == "client")


async def _prune_one(rt: Runtime, s: OrmUnit, client_id: str, policy: PrunePolicy, now: float) -> dict[str, Any] | None:
    """Re-check one client under a row lock (PostgreSQL) and delete it if it is still stale."""
    found = await store.candidate_for_update(s, client_id, _window(policy, now))
    if found is None:
        return None
    row = found.row
    reason = stale_reason(_usage(found), policy, now)
    if reason is None:
        return None
    entry = _entry(row, reason)
    await delete_client(rt, s, client_id, reason=f"pruned ({reason})")
    audit.record(
        s,
        now,
        audit.DCR_PRUNED,
        f"Unused dynamically registered client '{row.name}' removed",
        client_id=client_id,
        details={"reason": reason, "created_at": entry["created_at"], "last_used_at": entry["last_used_at"]},
    )
    return entry


async def prune(rt: Runtime, dry_run: bool = False, listed: int | None = None) -> list[dict[str, Any]]:
    """Remove (or with ``dry_run`` only list) the stale DCR clients and the expired pending registrations;
    returns what was (or would be) removed, each with its reason (a dry run lists at most ``listed`` pending
    registrations, when given)."""
    policy, now = await current_policy(rt), rt.clock.now()
    async with rt.db.read() as s:
        found = await store.candidates(s, _window(policy, now))
    stale = [(c.row, reason) for c in found if (reason := stale_reason(_usage(c), policy, now))]
    if dry_run:
        held, _ = await dcr_pending.expired_entries(rt, listed)
        return held + [_entry(row, reason) for row, reason in stale]
    removed = await dcr_pending.remove_expired(rt)
    for row, _ in stale:
        async with rt.db.transaction() as s:
            entry = await _prune_one(rt, s, row.client_id, policy, now)
        if entry:
            removed.append(entry)
            log.info("pruned DCR client %s (%s)", entry["client_id"], entry["reason"])
    return removed


async def run_once(rt: Runtime, holder: int) -> list[dict[str, Any]] | None:
    """One periodic round: prune only if this process holds the lease (several processes share one DB)."""
    ttl = max(float(rt.settings.dcr_prune_interval_seconds), 60.0)
    if not await rate_limit.lease(rt, LEASE, holder, ttl):
        return None
    await rate_limit.purge(rt, COUNTER_RETENTION)
    return await prune(rt, dry_run=False)


async def _loop(rt: Runtime, interval: float, first_delay: float) -> None:
    holder = secrets.randbelow(2**31 - 2) + 1
    await asyncio.sleep(first_delay)
    while True:
        try:
            await run_once(rt, holder)
        except Exception as exc:  # noqa: BLE001 - keep the task alive; the next round retries
            log_failure(log, f"pruning unused DCR clients failed; retrying in {interval} s", exc)
        await asyncio.sleep(interval)


def start_periodic(rt: Runtime, first_delay: float | None = None) -> asyncio.Task[None] | None:
    """Start the prune task (app lifespan); None when ``dcr_prune_interval_seconds`` is 0."""
    interval = rt.settings.dcr_prune_interval_seconds
    if interval <= 0:
        return None
    delay = min(float(interval), 60.0) if first_delay is None else first_delay
    return asyncio.create_task(_loop(rt, float(interval), delay), name="consentry-dcr-prune")


async def stop_periodic(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
