"""Webhook subscriptions (create, read, update, delete) and ``emit``: an event queued in the caller's transaction.

``emit`` is the outbox: it inserts one delivery per subscription that asked for the event, in the same
transaction as the change it reports, so an event is sent if and only if its change committed, and survives a
restart (``services.webhook_dispatch`` sends it). Used by the Management API ``/api/v2/webhooks`` and the
dashboard (``admin/webhooks.py``); events come from ``user_grants``, ``clients``, ``cimd_registration``,
``oauth/cimd/store.py`` and the refresh and code grants.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from consentry.clock import iso
from consentry.runtime import Runtime
from consentry.services import webhook_rules as rules
from consentry.services import webhook_signing as signing
from consentry.services.errors import invalid, not_found
from consentry.storage import webhooks as store
from consentry.storage.db import Unit
from consentry.tokens import ids

MAX_DESCRIPTION = 255


def subscription_json(row: Any, secret: str | None = None) -> dict[str, Any]:
    """A subscription as the Management API and the dashboard show it; the secret only when just made."""
    body = {
        "id": row.id,
        "url": row.url,
        "description": row.description,
        "event_types": list(row.event_types or []),
        "enabled": bool(row.enabled),
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }
    if secret is not None:
        body["secret"] = secret
    return body


def delivery_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "subscription_id": row.subscription_id,
        "event_type": row.event_type,
        "status": row.status,
        "attempts": row.attempts,
        "created_at": iso(row.created_at),
        "last_attempt_at": iso(row.last_attempt_at),
        "next_attempt_at": iso(row.next_attempt_at) if row.status == rules.PENDING else None,
        "last_status": row.last_status,
        "last_error": row.last_error,
        "delivered_at": iso(row.delivered_at),
        "payload": orjson.loads(row.payload),
    }


def _check_url(rt: Runtime, url: str) -> str:
    problem = rules.url_problem(url, allow_http_loopback=rt.settings.webhooks_allow_http_loopback)
    if problem:
        raise invalid(f"Payload validation error: {problem}.")
    return url


def _check_event_types(event_types: Sequence[str]) -> list[str]:
    problem = rules.event_types_problem(event_types)
    if problem:
        raise invalid(f"Payload validation error: {problem}.")
    return list(event_types)


def _check_description(description: str | None) -> str | None:
    if description is not None and (len(description) > MAX_DESCRIPTION or not description.isprintable()):
        raise invalid(f"Payload validation error: description must be at most {MAX_DESCRIPTION} printable characters.")
    return description or None


async def create_subscription(
    rt: Runtime,
    unit: Unit,
    *,
    url: str,
    event_types: Sequence[str],
    description: str | None = None,
    enabled: bool = True,
) -> tuple[dict[str, Any], str]:
    """Store a subscription with a new secret; returns its JSON (with the secret) and the secret."""
    now, secret = rt.clock.now(), signing.new_secret()
    values = {
        "id": ids.prefixed("whk"),
        "url": _check_url(rt, url),
        "description": _check_description(description),
        "event_types": _check_event_types(event_types),
        "secret_encrypted": signing.seal(rt.keys.kek, secret),
        "enabled": enabled,
        "created_at": now,
        "updated_at": now,
    }
    await store.insert_subscription_in(unit, values)
    return subscription_json(_Row(values), secret), secret


class _Row:
    """Attribute access over a dict of column values (a row not read back)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


async def get_subscription(rt: Runtime, subscription_id: str) -> Any:
    row = await store.subscription(rt.db, subscription_id) if len(subscription_id) <= 64 else None
    if row is None:
        raise not_found("webhook", "inexistent_webhook")
    return row


async def list_subscriptions(rt: Runtime, *, offset: int, limit: int) -> tuple[list[Any], int]:
    return await store.subscriptions(rt.db, offset=offset, limit=limit)


async def update_subscription(rt: Runtime, unit: Unit, subscription_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Change url, event_types, description or enabled (only the keys given); returns the subscription."""
    current = await get_subscription(rt, subscription_id)
    values: dict[str, Any] = {"updated_at": rt.clock.now()}
    if "url" in changes:
        values["url"] = _check_url(rt, changes["url"])
    if "event_types" in changes:
        values["event_types"] = _check_event_types(changes["event_types"])
    if "description" in changes:
        values["description"] = _check_description(changes["description"])
    if "enabled" in changes:
        values["enabled"] = bool(changes["enabled"])
    if not await store.update_subscription_in(unit, subscription_id, values):
        raise not_found("webhook", "inexistent_webhook")
    merged = {**current._mapping, **values}
    return subscription_json(_Row(merged))


async def rotate_secret(rt: Runtime, unit: Unit, subscription_id: str) -> tuple[dict[str, Any], str]:
    """A new signing secret; deliveries from now on are signed with it (including retries of queued ones)."""
    current = await get_subscription(rt, subscription_id)
    secret = signing.new_secret()
    values = {"secret_encrypted": signing.seal(rt.keys.kek, secret), "updated_at": rt.clock.now()}
    if not await store.update_subscription_in(unit, subscription_id, values):
        raise not_found("webhook", "inexistent_webhook")
    return subscription_json(_Row({**current._mapping, **values}), secret), secret


async def delete_subscription(unit: Unit, subscription_id: str) -> None:
    if len(subscription_id) > 64 or not await store.delete_subscription_in(unit, subscription_id):
        raise not_found("webhook", "inexistent_webhook")


async def list_deliveries(rt: Runtime, subscription_id: str, *, offset: int, limit: int) -> tuple[list[Any], int]:
    await get_subscription(rt, subscription_id)
    return await store.deliveries(rt.db, subscription_id, offset=offset, limit=limit)


def body(event_type: str, now: float, data: dict[str, Any]) -> str:
    """The delivered JSON (Standard Webhooks' recommended ``type``/``timestamp``/``data`` shape)."""
    return orjson.dumps({"type": event_type, "timestamp": iso(now), "data": data}).decode()


async def emit(rt: Runtime, unit: Unit, event_type: str, data: dict[str, Any]) -> int:
    """Queue ``event_type`` for every enabled subscription that wants it, in the caller's transaction; returns
    how many deliveries were queued."""
    assert event_type in rules.EVENT_TYPES, event_type
    targets = await store.subscribers_in(unit, event_type)
    if not targets:
        return 0
    now = rt.clock.now()
    payload = body(event_type, now, data)
    rows = [
        {
            "id": ids.prefixed("msg"),
            "subscription_id": target,
            "event_type": event_type,
            "payload": payload,
            "status": rules.PENDING,
            "attempts": 0,
            "created_at": now,
            "next_attempt_at": now,
        }
        for target in targets
    ]
    await store.enqueue_in(unit, rows)
    return len(rows)


def grant_data(
    *, grant_id: str, user_id: str, client_id: str, audience: str, scope: Sequence[str], expires_at: float | None
) -> dict[str, Any]:
    """A user grant in an event (the shape of ``/api/v2/grants``)."""
    return {
        "grant_id": grant_id,
        "user_id": user_id,
        "client_id": client_id,
        "audience": audience,
        "scope": list(scope),
        "expires_at": iso(expires_at),
    }


def client_data(row: Any) -> dict[str, Any]:
    """An application in an event."""
    return {
        "client_id": row.client_id,
        "name": row.name,
        "app_type": row.app_type,
        "is_first_party": bool(row.is_first_party),
        "registration_type": row.registration_type,
        "status": row.status,
    }


async def announce_expired(rt: Runtime, unit: Unit, grant_id: str) -> bool:
    """A refresh (or code exchange) found the grant expired: announce it unless the sweep already did."""
    row = await store.mark_grant_expired_in(unit, grant_id, rt.clock.now())
    if row is None:
        return False
    await emit(rt, unit, rules.GRANT_EXPIRED, _expired_data(row))
    return True


def _expired_data(row: Any) -> dict[str, Any]:
    return grant_data(
        grant_id=row.id,
        user_id=row.user_id,
        client_id=row.client_id,
        audience=row.audience,
        scope=list(row.scope or []),
        expires_at=row.expires_at,
    )


async def sweep_expired(rt: Runtime, *, limit: int = 500) -> int:
    """Announce the grants that have expired since the last sweep (one transaction per batch); returns how many."""
    total = 0
    while True:
        async with rt.db.write() as conn:
            rows = await store.mark_expired_grants_in(conn, rt.clock.now(), limit)
            for row in rows:
                await emit(rt, conn, rules.GRANT_EXPIRED, _expired_data(row))
        total += len(rows)
        if len(rows) < limit:
            return total
