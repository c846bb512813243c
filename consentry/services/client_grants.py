"""Client grants: which application may call which API, for user or client flows (SPEC T7, T8)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from consentry.management.errors import ManagementError, bad_request, conflict, not_found
from consentry.management.schemas.client_grants import ClientGrantCreate
from consentry.runtime import Runtime
from consentry.storage.models import Client, ClientGrant, ResourceServer
from consentry.tokens import ids


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
        raise bad_request(f"Scopes are not defined on the resource server {api.identifier}: {' '.join(unknown)[:300]}")


async def create_client_grant(rt: Runtime, s: AsyncSession, body: ClientGrantCreate) -> ClientGrant:
    if bool(body.client_id) == bool(body.default_for):
        raise bad_request("Payload validation error: exactly one of client_id and default_for is required.")
    api = await s.scalar(select(ResourceServer).where(ResourceServer.identifier == body.audience))
    if api is None:
        raise not_found("resource server", "inexistent_resource_server")
    if body.client_id:
        client = await s.get(Client, body.client_id)
        if client is None:
            raise not_found("client", "inexistent_client")
        if api.is_system and not client.is_first_party:
            raise ManagementError(403, "Third-party applications cannot be granted the Management API.",
                                  "operation_not_supported")  # fmt: skip
    elif api.is_system:
        raise bad_request("Default grants for third-party applications cannot target the Management API.")
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
        attributes={},
        created_at=rt.clock.now(),
    )
    s.add(row)
    try:
        await s.flush()
    except IntegrityError:
        raise conflict("A client grant for this client (or default), audience and subject type already exists.",
                       "client_grant_conflict") from None  # fmt: skip
    return row


async def get_client_grant(s: AsyncSession, grant_id: str) -> ClientGrant:
    row = await s.get(ClientGrant, grant_id) if len(grant_id) <= 64 else None
    if row is None:
        raise not_found("client grant", "inexistent_client_grant")
    return row
