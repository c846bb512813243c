"""User grants (consents): user x application x API with the union of approved scopes (SPEC C2, C3, C8).

Used by the consent flow (``find_grant``/``upsert_grant``), the Management API ``/api/v2/grants``, the
dashboard and the connected-apps page (``revoke_grant``). Revoking a grant revokes every refresh token
issued under it in the same transaction, so a revoked app loses access at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from consentry.clock import iso
from consentry.runtime import Runtime
from consentry.services import audit, webhooks
from consentry.services import webhook_rules as events
from consentry.services.errors import invalid, not_found
from consentry.storage import refresh_tokens
from consentry.storage import user_grants as store
from consentry.storage.db import OrmUnit, write_now
from consentry.storage.models import UserGrant
from consentry.tokens import ids


def grant_json(row: UserGrant) -> dict[str, Any]:
    """Auth0's user grant shape; note the legacy camelCase ``clientID``. Consentry adds ``expires_at`` (ISO 8601,
    null: until revoked)."""
    return {
        "id": row.id,
        "clientID": row.client_id,
        "user_id": row.user_id,
        "audience": row.audience,
        "scope": list(row.scope or []),
        "expires_at": iso(row.expires_at),
    }


def expired(expires_at: float | None, now: float) -> bool:
    """A grant whose chosen duration has run out counts as no grant: the next /authorize asks again."""
    return expires_at is not None and expires_at <= now


async def find_grant(s: OrmUnit, user_id: str, client_id: str, audience: str) -> UserGrant | None:
    return await store.grant_for(s, user_id, client_id, audience)


class GrantRef(NamedTuple):
    """What ``/authorize`` needs of a live stored grant: its id (kept on the code) and scopes (the consent check)."""

    id: str
    scope: list[str]


async def find_grant_ref(rt: Runtime, user_id: str, client_id: str, audience: str) -> GrantRef | None:
    """``find_grant`` as one Core read (the hot path of every ``/authorize``); an expired grant is None."""
    row = await store.grant_ref(rt.db, user_id, client_id, audience)
    if row is None or expired(row.expires_at, rt.clock.now()):
        return None
    return GrantRef(row.id, list(row.scope or []))


def _union(current: Iterable[str], added: Iterable[str]) -> list[str]:
    return list(dict.fromkeys([*current, *added]))


async def upsert_grant(
    rt: Runtime,
    s: OrmUnit,
    *,
    user_id: str,
    client_id: str,
    audience: str,
    scopes: Iterable[str],
    expires_at: float | None = None,
) -> UserGrant:
    """Create the (user, client, audience) grant or extend its scopes (union, first-approval order kept).

    ``expires_at`` is the duration the user just chose (None: until revoked); the latest approval sets it for the
    whole grant. An expired grant is started afresh: only the scopes approved now, and the refresh tokens of its
    earlier life revoked, so they cannot come back to life with it.
    Race-safe across processes: ``INSERT … ON CONFLICT DO NOTHING`` then a locked read-modify-write.
    Queues the webhook events of the change in the same transaction: ``grant.created`` (also for the new life of
    an expired grant, after its ``grant.expired`` unless that was announced already), else ``grant.extended`` /
    ``grant.narrowed`` (``webhook_rules.grant_change``).
    """
    now = rt.clock.now()
    wanted = _union([], scopes)
    inserted = await store.insert_grant_if_absent(
        s,
        grant_id=ids.prefixed("ugr"),
        user_id=user_id,
        client_id=client_id,
        audience=audience,
        scope=wanted,
        now=now,
        expires_at=expires_at,
    )
    row = await store.locked_grant(s, user_id, client_id, audience)
    assert row is not None
    if inserted:
        await webhooks.emit(rt, s, events.GRANT_CREATED, _event_data(row))
        return row
    before = events.GrantState(scope=tuple(row.scope or []), expires_at=row.expires_at)
    changes: tuple[str, ...]
    if expired(row.expires_at, now):
        if row.expiry_notified_at is None:
            await webhooks.emit(rt, s, events.GRANT_EXPIRED, _event_data(row))
        await refresh_tokens.revoke_grant_families_in(s, now, row.id)
        row.scope, row.created_at = wanted, now
        changes = (events.GRANT_CREATED,)
    else:
        row.scope = _union(row.scope or [], wanted)
        changes = events.grant_change(before, events.GrantState(scope=tuple(row.scope), expires_at=expires_at))
    row.expires_at, row.updated_at, row.expiry_notified_at = expires_at, now, None
    await write_now(s)
    for change in changes:
        previous = {} if change == events.GRANT_CREATED else {"previous": _previous(before)}
        await webhooks.emit(rt, s, change, {**_event_data(row), **previous})
    return row


def _event_data(row: UserGrant) -> dict[str, Any]:
    return webhooks.grant_data(
        grant_id=row.id,
        user_id=row.user_id,
        client_id=row.client_id,
        audience=row.audience,
        scope=list(row.scope or []),
        expires_at=row.expires_at,
    )


def _previous(state: events.GrantState) -> dict[str, Any]:
    return {"scope": list(state.scope), "expires_at": iso(state.expires_at)}


async def get_grant(s: OrmUnit, grant_id: str) -> UserGrant:
    row = await store.grant(s, grant_id) if len(grant_id) <= 64 else None
    if row is None:
        raise not_found("grant", "inexistent_grant")
    return row


list_grants = store.grants_page  # a page of grants has no rule beyond its filters


async def _revoke(rt: Runtime, s: OrmUnit, row: UserGrant, *, actor: str | None, ip: str | None) -> int:
    """Delete one grant, revoke its refresh tokens, record the event; returns how many tokens were revoked."""
    now = rt.clock.now()
    revoked = await refresh_tokens.revoke_grant_families_in(s, now, row.id)
    audit.record(
        s,
        now,
        audit.GRANT_REVOKED,
        f"Grant for '{row.audience}' revoked",
        client_id=row.client_id,
        user_id=row.user_id,
        ip=ip,
        details={
            "grant_id": row.id,
            "audience": row.audience,
            "scope": list(row.scope or []),
            "actor": actor,
            "refresh_tokens_revoked": revoked,
        },
    )
    data = {**_event_data(row), "actor": actor, "refresh_tokens_revoked": revoked}
    await webhooks.emit(rt, s, events.GRANT_REVOKED, data)
    await store.delete_grant(s, row)
    return revoked


async def grant_exists(s: OrmUnit, grant_id: str) -> bool:
    return await store.grant(s, grant_id) is not None


async def revoke_grant(
    rt: Runtime, s: OrmUnit, grant_id: str, *, actor: str | None, ip: str | None = None
) -> UserGrant:
    """Revoke one grant by id (404 ``inexistent_grant`` when unknown); returns the deleted row."""
    row = await get_grant(s, grant_id)
    await _revoke(rt, s, row, actor=actor, ip=ip)
    await write_now(s)
    return row


async def revoke_user_grants(
    rt: Runtime,
    s: OrmUnit,
    user_id: str,
    *,
    actor: str | None,
    ip: str | None = None,
    client_id: str | None = None,
) -> int:
    """Revoke every grant of a user (optionally only for one client); returns how many were revoked."""
    if not user_id:
        raise invalid("Query validation error: 'user_id' is required.", "invalid_query_string")
    return await _revoke_all(rt, s, await store.user_grants(s, user_id, client_id), actor=actor, ip=ip)


async def revoke_audience_grants(rt: Runtime, s: OrmUnit, audience: str, *, actor: str | None) -> int:
    """Revoke every grant for an API (when the API is deleted)."""
    return await _revoke_all(rt, s, await store.audience_grants(s, audience), actor=actor, ip=None)


async def _revoke_all(rt: Runtime, s: OrmUnit, rows: list[UserGrant], *, actor: str | None, ip: str | None) -> int:
    for row in rows:
        await _revoke(rt, s, row, actor=actor, ip=ip)
    await write_now(s)
    return len(rows)
