"""APIs (resource servers): registration and their Auth0 JSON shape."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from consentry.management.errors import ManagementError, bad_request, conflict, not_found
from consentry.management.schemas.resource_servers import ResourceServerCreate
from consentry.runtime import Runtime
from consentry.storage.models import ResourceServer
from consentry.tokens import ids

DEFAULT_POLICY = {"user": {"policy": "allow_all"}, "client": {"policy": "require_client_grant"}}
COLUMNS = {"identifier", "name", "scopes", "allow_offline_access", "skip_consent_for_verifiable_first_party_clients",
           "token_dialect", "token_lifetime", "signing_alg", "subject_type_authorization"}  # fmt: skip


def resource_server_json(row: ResourceServer) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "identifier": row.identifier,
        "is_system": row.is_system,
        "scopes": row.scopes or [],
        "signing_alg": row.signing_alg,
        "allow_offline_access": row.allow_offline_access,
        "skip_consent_for_verifiable_first_party_clients": row.skip_consent_for_verifiable_first_party_clients,
        "token_lifetime": row.token_lifetime,
        "token_lifetime_for_web": min(row.token_lifetime, 7200),
        "token_dialect": row.token_dialect,
        "enforce_policies": False,
        "subject_type_authorization": _policy(row.subject_type_authorization),
        **(row.attributes or {}),
    }
    return body


def _policy(stored: dict[str, Any] | None) -> dict[str, Any]:
    stored = stored or {}
    return {
        "user": {"policy": (stored.get("user") or {}).get("policy", "allow_all")},
        "client": {"policy": (stored.get("client") or {}).get("policy", "require_client_grant")},
    }


def identifier_problem(identifier: str) -> str | None:
    if identifier != identifier.strip() or any(ord(c) < 0x21 for c in identifier):
        return "identifier must not contain spaces or control characters"
    parts = urlsplit(identifier)
    if parts.fragment:
        return "identifier must not contain a fragment"
    return None


def scopes_problem(scopes: list[dict[str, Any]]) -> str | None:
    values = [s["value"] for s in scopes]
    if len(values) != len(set(values)):
        return "scopes contain duplicate values"
    if any(v in ("openid", "profile", "email", "offline_access") for v in values):
        return "openid, profile, email and offline_access are reserved and cannot be API scopes"
    return None


def scopes_dump(scopes: list[Any]) -> list[dict[str, Any]]:
    result = []
    for s in scopes:
        item = {"value": s.value, "description": s.description or ""}
        if s.optional:
            item["optional"] = True
        result.append(item)
    return result


async def create_resource_server(rt: Runtime, s: AsyncSession, body: ResourceServerCreate) -> ResourceServer:
    problem = identifier_problem(body.identifier)
    if problem:
        raise bad_request(f"Payload validation error: {problem}.")
    if body.name is not None and ("<" in body.name or ">" in body.name):
        raise bad_request("Payload validation error: name must not contain '<' or '>'.")
    scopes = scopes_dump(body.scopes or [])
    problem = scopes_problem(scopes)
    if problem:
        raise bad_request(f"Payload validation error: {problem}.")
    if await s.scalar(select(ResourceServer.id).where(ResourceServer.identifier == body.identifier)):
        raise conflict(f"A resource server with the same identifier already exists: {body.identifier[:200]}",
                       "resource_server_conflict")  # fmt: skip
    data = body.model_dump(exclude_unset=True, exclude_none=True)
    now = rt.clock.now()
    row = ResourceServer(
        id=ids.hex_id(),
        identifier=body.identifier,
        name=body.name or body.identifier,
        scopes=scopes,
        allow_offline_access=bool(body.allow_offline_access),
        skip_consent_for_verifiable_first_party_clients=body.skip_consent_for_verifiable_first_party_clients
        if body.skip_consent_for_verifiable_first_party_clients is not None
        else True,
        token_dialect=body.token_dialect or "rfc9068_profile",
        token_lifetime=body.token_lifetime or rt.settings.access_token_lifetime,
        signing_alg="RS256",
        subject_type_authorization=_policy(data.get("subject_type_authorization")),
        is_system=False,
        attributes={k: v for k, v in data.items() if k not in COLUMNS},
        created_at=now,
        updated_at=now,
    )
    s.add(row)
    await s.flush()
    return row


async def get_resource_server(s: AsyncSession, id_or_identifier: str) -> ResourceServer:
    """By ``id`` or by ``identifier`` (Auth0 accepts both in the path)."""
    row = await s.get(ResourceServer, id_or_identifier) if len(id_or_identifier) <= 64 else None
    if row is None:
        row = await s.scalar(select(ResourceServer).where(ResourceServer.identifier == id_or_identifier))
    if row is None:
        raise not_found("resource server", "inexistent_resource_server")
    return row


def ensure_not_system(row: ResourceServer) -> None:
    if row.is_system:
        raise ManagementError(403, "The system resource server cannot be modified or deleted.", "operation_not_supported")
