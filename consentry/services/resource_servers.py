"""APIs (resource servers): registration and their Auth0 JSON shape."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from consentry.commands.resource_servers import ResourceServerCreate, ResourceServerUpdate
from consentry.runtime import Runtime
from consentry.services import audit
from consentry.services.errors import conflict, invalid, not_found, refused
from consentry.services.user_grants import revoke_audience_grants
from consentry.storage import resource_servers as store
from consentry.storage.db import OrmUnit, write_now
from consentry.storage.models import ResourceServer
from consentry.tokens import ids

API_CREATED = "api.created"
API_UPDATED = "api.updated"
API_DELETED = "api.deleted"

DEFAULT_POLICY = {"user": {"policy": "allow_all"}, "client": {"policy": "require_client_grant"}}
COLUMNS = {
    "identifier",
    "name",
    "scopes",
    "allow_offline_access",
    "skip_consent_for_verifiable_first_party_clients",
    "token_dialect",
    "token_lifetime",
    "signing_alg",
    "subject_type_authorization",
}


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
    if identifier != identifier.strip() or any(ord(c) < 0x21 or c.isspace() or not c.isprintable() for c in identifier):
        return "identifier must not contain spaces, control or invisible characters"
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


def _check_name(name: str | None) -> None:
    if name is not None and ("<" in name or ">" in name or not name.strip()):
        raise invalid("Payload validation error: name must not be blank or contain '<' or '>'.")


def _check_web_lifetime(row: ResourceServer) -> None:
    """Auth0: ``token_lifetime_for_web`` (implicit/hybrid) may not exceed ``token_lifetime``."""
    web = (row.attributes or {}).get("token_lifetime_for_web")
    if isinstance(web, int) and web > row.token_lifetime:
        raise invalid(
            f"Payload validation error: token_lifetime_for_web must not exceed token_lifetime ({row.token_lifetime})."
        )


def _check_default_duration(row: ResourceServer) -> None:
    """The API's default consent duration must be one of its choices, whichever of the two this write set."""
    attrs = row.attributes or {}
    offered, default = attrs.get("consent_durations"), attrs.get("default_consent_duration")
    if isinstance(offered, list) and default is not None and default not in offered:
        raise invalid(
            f"Payload validation error: default_consent_duration must be one of consent_durations ({offered})."
        )


def _checked_scopes(scopes: list[Any]) -> list[dict[str, Any]]:
    dumped = scopes_dump(scopes)
    problem = scopes_problem(dumped)
    if problem:
        raise invalid(f"Payload validation error: {problem}.")
    return dumped


async def create_resource_server(
    rt: Runtime, s: OrmUnit, body: ResourceServerCreate, *, actor: str | None = None
) -> ResourceServer:
    problem = identifier_problem(body.identifier)
    if problem:
        raise invalid(f"Payload validation error: {problem}.")
    _check_name(body.name)
    scopes = _checked_scopes(body.scopes or [])
    if await store.id_with_identifier(s, body.identifier):
        raise conflict(
            f"A resource server with the same identifier already exists: {body.identifier[:200]}",
            "resource_server_conflict",
        )
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
        signing_alg=body.signing_alg or "RS256",
        subject_type_authorization=_policy(data.get("subject_type_authorization")),
        is_system=False,
        attributes={k: v for k, v in data.items() if k not in COLUMNS},
        created_at=now,
        updated_at=now,
    )
    _check_web_lifetime(row)
    await store.insert(s, row)
    audit.record(
        s, now, API_CREATED, f"API '{row.name}' created", details={"identifier": row.identifier, "actor": actor}
    )
    return row


async def get_resource_server(s: OrmUnit, id_or_identifier: str) -> ResourceServer:
    """By ``id`` or by ``identifier`` (Auth0 accepts both in the path)."""
    row = await store.by_id_or_identifier(s, id_or_identifier)
    if row is None:
        raise not_found("resource server", "inexistent_resource_server")
    return row


def ensure_not_system(row: ResourceServer) -> None:
    if row.is_system:
        message = "The system resource server cannot be modified or deleted."
        raise refused(message, "operation_not_supported")


async def list_resource_servers(
    s: OrmUnit, *, offset: int, limit: int, identifiers: list[str] | None = None
) -> tuple[list[ResourceServer], int]:
    return await store.resource_servers_page(s, offset=offset, limit=limit, identifiers=identifiers)


async def update_resource_server(
    rt: Runtime, s: OrmUnit, id_or_identifier: str, body: ResourceServerUpdate, *, actor: str | None = None
) -> ResourceServer:
    """PATCH: set fields replace, ``subject_type_authorization`` merges per subject; ``null`` clears echo-only
    fields and is ignored for the rest. The identifier is immutable (refused by the schema)."""
    row = await get_resource_server(s, id_or_identifier)
    ensure_not_system(row)
    data = body.model_dump(exclude_unset=True)
    _check_name(data.get("name"))
    if data.get("name") is not None:
        row.name = data["name"].strip()
    if body.scopes is not None:
        row.scopes = _checked_scopes(body.scopes)
    for field in (
        "allow_offline_access",
        "skip_consent_for_verifiable_first_party_clients",
        "token_dialect",
        "token_lifetime",
        "signing_alg",
    ):
        if data.get(field) is not None:
            setattr(row, field, data[field])
    if data.get("subject_type_authorization") is not None:
        merged = {
            **_policy(row.subject_type_authorization),
            **{k: v for k, v in data["subject_type_authorization"].items() if v is not None},
        }
        row.subject_type_authorization = _policy(merged)
    attrs = dict(row.attributes or {})
    for key, value in data.items():
        if key in COLUMNS:
            continue
        if value is None:
            attrs.pop(key, None)
        else:
            attrs[key] = value
    row.attributes = attrs
    _check_web_lifetime(row)
    _check_default_duration(row)
    row.updated_at = rt.clock.now()
    audit.record(
        s,
        row.updated_at,
        API_UPDATED,
        f"API '{row.name}' updated",
        details={"identifier": row.identifier, "actor": actor},
    )
    await write_now(s)
    return row


async def delete_resource_server(rt: Runtime, s: OrmUnit, id_or_identifier: str, *, actor: str | None) -> None:
    """Delete an API with its client grants and the permissions roles and users hold for it; users' grants for it
    are revoked (with their refresh tokens)."""
    row = await get_resource_server(s, id_or_identifier)
    ensure_not_system(row)
    await revoke_audience_grants(rt, s, row.identifier, actor=actor)
    await store.delete_with_client_grants(s, row)
    audit.record(
        s,
        rt.clock.now(),
        API_DELETED,
        f"API '{row.name}' deleted",
        details={"identifier": row.identifier, "actor": actor},
    )
    await write_now(s)
