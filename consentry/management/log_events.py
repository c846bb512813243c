"""Audit events as Auth0 log events: Auth0's type codes and field set, at the Management API edge.

Consentry records finer event names (``client.created``, ``refresh_token.revoked``); Auth0 clients expect its
log event type codes (``sapi`` for every Management API change, ``srrt`` for a revoked refresh token, …).
``AUTH0_TYPES`` maps each name that has a code; events already recorded under a code (``s``, ``f``,
``seacft``, ``sertft``, ``seccft``, ``sepft``, ``feacft``, ``fertft``, ``feccft``, ``slo``) and those Auth0 has
no code for (``consent.given``, ``consent.declined``, ``grant.revoked``, ``client.pruned``) keep their name.
A mapped event keeps its Consentry name in ``details.event``. Fields with no value are left out, never
``null`` (Auth0's shape).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from consentry.clock import iso
from consentry.storage.models import AuditEvent

MANAGEMENT_API = "sapi"  # Success API Operation
AUTH0_TYPES: Mapping[str, str] = {
    **{
        name: MANAGEMENT_API
        for name in (
            "client.created",
            "client.updated",
            "client.deleted",
            "client.secret_rotated",
            "client.credential_created",
            "client.credential_deleted",
            "client.approved",
            "client_grant.created",
            "client_grant.updated",
            "client_grant.deleted",
            "api.created",
            "api.updated",
            "api.deleted",
            "connection.created",
            "connection.updated",
            "connection.deleted",
            "user.created",
            "user.updated",
            "user.sessions_ended",
            "user.refresh_tokens_revoked",
            "users.imported",
            "tenant.settings_updated",
            "signing_key.rotated",
            "signing_key.revoked",
            "xaa_policy.created",
            "xaa_policy.updated",
            "xaa_policy.deleted",
            "ticket.created",
            "role.created",
            "role.updated",
            "role.deleted",
            "role.permissions_changed",
            "role.users_changed",
            "user.permissions_changed",
            "user.roles_changed",
        )
    },
    "user.deleted": "sdu",  # Successful User Deletion
    "refresh_token.revoked": "srrt",  # Successfully Revoked Refresh Token
    "refresh_token.reused": "ferrt",  # Failed Exchange of Rotating Refresh Token (reuse detected)
    "code.replayed": "feacft",  # Failed Exchange of Authorization Code for Access Token
}


def auth0_type(name: str) -> str:
    return AUTH0_TYPES.get(name, name)


def as_auth0(
    event: AuditEvent, *, hostname: str, client_names: Mapping[str, str], user_names: Mapping[str, str]
) -> dict[str, Any]:
    """One log event in Auth0's field set; a field without a value is absent."""
    body: dict[str, Any] = {
        "log_id": event.log_id,
        "_id": event.log_id,
        "date": iso(event.date),
        "type": auth0_type(event.type),
        "description": event.description,
        "hostname": hostname,
    }
    optional = {
        "client_id": event.client_id,
        "client_name": client_names.get(event.client_id or ""),
        "ip": event.ip,
        "user_id": event.user_id,
        "user_name": user_names.get(event.user_id or ""),
    }
    body.update({k: v for k, v in optional.items() if v})
    details = dict(event.details or {})
    if event.type in AUTH0_TYPES:
        details["event"] = event.type
    if details:
        body["details"] = details
    return body


def hostname_of(issuer: str) -> str:
    return urlsplit(issuer).netloc
