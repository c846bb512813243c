"""Client grants: which application may call which API, for user or client flows (SPEC T7, T8)."""

from __future__ import annotations

from typing import Any

from consentry.commands.client_grants import ClientGrantCreate, ClientGrantUpdate
from consentry.runtime import Runtime
from consentry.services import audit
from consentry.services.errors import conflict, invalid, not_found, refused
from consentry.storage import client_grants as stored_grants
from consentry.storage import clients as stored_clients
from consentry.storage.db import OrmUnit, write_now
from consentry.storage.models import ClientGrant, ResourceServer
from consentry.tokens import ids

# Stored and echoed only (Consentry has no organizations).
ECHO_FIELDS = ("organization_usage", "allow_any_organization", "authorization_details_types")


def client_grant_json(row: ClientGrant) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": row.id,
        "audience": row.audience,
        "scope": list(row.scope or []),
        "subject_type": row.subject_type,
        "allow_all_scopes": row.allow_all_scopes,
        "is_system": row.is_system,
        "organization_usage": "deny",
        "allow_any_organization": False,
        **(row.attributes or {}),
    }
    if row.client_id:
        body["client_id"] = row.client_id
    if row.default_for:
        body["default_for"] = row.default_for
    return body


def check_scopes(scopes: list[str], api: ResourceServer) -> None:
    defined = {s["value"] for s in api.scopes or []}
    unknown = [s for s in scopes if s not in defined]
    if unknown:
        raise invalid(f"Scopes are not defined on the resource server {api.identifier}: {' '.join(unknown)[:300]}")


async def create_client_grant(rt: Runtime, s: OrmUnit, body: ClientGrantCreate) -> ClientGrant:
    if bool(body.client_id) == bool(body.default_for):
        raise invalid("Payload validation error: exactly one of client_id and default_for is required.")
    api = await stored_grants.api(s, body.audience)
    if api is None:
        raise not_found("resource server", "inexistent_resource_server")
    if body.client_id:
        client = await stored_clients.client(s, body.client_id)
        if client is None:
            raise not_found("client", "inexistent_client")
        if api.is_system and not client.is_first_party:
            raise refused("Third-party applications cannot be granted the Management API.", "operation_not_supported")
    elif api.is_system:
        raise invalid("Default grants for third-party applications cannot target the Management API.")
    scopes = list(dict.fromkeys(body.scope or []))
    check_scopes(scopes, api)
    row = ClientGrant(
        id=ids.prefixed("cgr"),
        client_id=body.client_id,
        default_for=body.default_for,
        audience=body.audience,
        scope=scopes,
        allow_all_scopes=bool(body.allow_all_scopes),
        subject_type=body.subject_type or "client",
        is_system=False,
        attributes=body.model_dump(include=set(ECHO_FIELDS), exclude_none=True),
        created_at=rt.clock.now(),
    )
    if not await stored_grants.add_client_grant(s, row):
        raise conflict(
            "A client grant for this client (or default), audience and subject type already exists.",
            "client_grant_conflict",
        )
    _record(rt, s, audit.CLIENT_GRANT_CREATED, "created", row)
    return row


def _record(rt: Runtime, s: OrmUnit, type_: str, verb: str, row: ClientGrant) -> None:
    audit.record(
        s,
        rt.clock.now(),
        type_,
        f"Client grant for '{row.audience}' {verb}",
        client_id=row.client_id,
        details={
            "client_grant_id": row.id,
            "audience": row.audience,
            "scope": list(row.scope or []),
            "default_for": row.default_for,
            "subject_type": row.subject_type,
        },
    )


async def get_client_grant(s: OrmUnit, grant_id: str) -> ClientGrant:
    row = await stored_grants.client_grant(s, grant_id) if len(grant_id) <= 64 else None
    if row is None:
        raise not_found("client grant", "inexistent_client_grant")
    return row


def _ensure_not_system(row: ClientGrant) -> None:
    if row.is_system:
        raise refused("System client grants cannot be modified or deleted.", "operation_not_supported")


async def update_client_grant(rt: Runtime, s: OrmUnit, grant_id: str, body: ClientGrantUpdate) -> ClientGrant:
    """Only ``scope``, ``allow_all_scopes`` and the echoed organization fields change; the rest is immutable."""
    row = await get_client_grant(s, grant_id)
    _ensure_not_system(row)
    data = body.model_dump(exclude_unset=True)
    if data.get("scope") is not None:
        api = await stored_grants.api(s, row.audience)
        scopes = list(dict.fromkeys(data["scope"]))
        if api is not None:
            check_scopes(scopes, api)
        row.scope = scopes
    if data.get("allow_all_scopes") is not None:
        row.allow_all_scopes = data["allow_all_scopes"]
    attrs = dict(row.attributes or {})
    for key in ECHO_FIELDS:
        if key in data:
            if data[key] is None:
                attrs.pop(key, None)
            else:
                attrs[key] = data[key]
    row.attributes = attrs
    await write_now(s)
    _record(rt, s, audit.CLIENT_GRANT_UPDATED, "updated", row)
    return row


async def delete_client_grant(rt: Runtime, s: OrmUnit, grant_id: str) -> None:
    row = await get_client_grant(s, grant_id)
    _ensure_not_system(row)
    _record(rt, s, audit.CLIENT_GRANT_DELETED, "deleted", row)
    await stored_grants.delete_client_grant(s, row)


list_client_grants = stored_grants.client_grants_page  # a page of grants has no rule beyond its filters
