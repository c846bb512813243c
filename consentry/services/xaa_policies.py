"""The admin's Cross App Access policies at the enterprise IdP: which app may ask for an ID-JAG for which resource
authorization server, with which scopes and which ``client_id`` there (docs/cross-app-access.md).

A policy is the admin's decision for every user of the tenant: it stands in for the per-app consent a user
would otherwise give (enterprise-managed authorization), and ``/u/apps`` shows it as granted by the
organization. Writes are one transaction each, with their audit event (``storage.xaa_policies``).
"""

from __future__ import annotations

from typing import Any

from consentry.clock import iso
from consentry.commands.xaa_policies import XaaPolicyCreate, XaaPolicyUpdate, identifier_problem
from consentry.runtime import Runtime
from consentry.services import audit
from consentry.services.errors import conflict, invalid, not_found
from consentry.storage import xaa_policies as store
from consentry.storage.gone import duplicate_key, missing_parent
from consentry.storage.xaa_policies import PolicyInfo
from consentry.tokens import ids

CREATED, UPDATED, DELETED = "xaa_policy.created", "xaa_policy.updated", "xaa_policy.deleted"
NOT_FOUND = "inexistent_xaa_policy"


def policy_json(p: PolicyInfo) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": p.id,
        "client_id": p.client_id,
        "audience": p.audience,
        "scope": list(p.scope),
        "resource_client_id": p.resource_client_id,
        "created_at": iso(p.created_at),
        "updated_at": iso(p.updated_at),
    }
    if p.resource:
        body["resource"] = p.resource
    if p.subject_client_id:
        body["subject_client_id"] = p.subject_client_id
    return body


def _check_identifier(name: str, value: str | None) -> None:
    problem = identifier_problem(value) if value else None
    if problem:
        raise invalid(f"Payload validation error: '{name}' {problem}.")


def _event(rt: Runtime, type_: str, p_id: str, client_id: str, actor: str | None) -> dict[str, Any]:
    verb = type_.rsplit(".", 1)[1]
    details = {"xaa_policy_id": p_id, "actor": actor}
    return audit.event(rt.clock.now(), type_, f"Cross App Access policy {verb}", client_id, details=details)


async def create_policy(rt: Runtime, body: XaaPolicyCreate, *, actor: str | None) -> PolicyInfo:
    _check_identifier("audience", body.audience)
    _check_identifier("resource", body.resource)
    if await rt.catalog.client(body.client_id) is None:
        raise not_found("client", "inexistent_client")
    now, policy_id = rt.clock.now(), "xaa_" + ids.hex_id()[:24]
    values = {
        "id": policy_id,
        "client_id": body.client_id,
        "audience": body.audience,
        "resource": body.resource or "",
        "scope": list(dict.fromkeys(body.scope)),
        "resource_client_id": body.resource_client_id or body.client_id,
        "subject_client_id": body.subject_client_id,
        "created_at": now,
        "updated_at": now,
    }
    try:
        return await store.create(rt.db, values, _event(rt, CREATED, policy_id, body.client_id, actor))
    except Exception as exc:
        if missing_parent(exc):
            raise not_found("client", "inexistent_client") from None
        if duplicate_key(exc):
            raise conflict("A Cross App Access policy for this client, audience and resource already exists.") from None
        raise


async def get_policy(rt: Runtime, policy_id: str) -> PolicyInfo:
    found = await store.get(rt.db, policy_id) if len(policy_id) <= 64 else None
    if found is None:
        raise not_found("Cross App Access policy", NOT_FOUND)
    return found


async def list_policies(rt: Runtime, *, client_id: str | None, audience: str | None) -> list[PolicyInfo]:
    return await store.listed(rt.db, client_id=client_id, audience=audience)


async def update_policy(rt: Runtime, policy_id: str, body: XaaPolicyUpdate, *, actor: str | None) -> PolicyInfo:
    current = await get_policy(rt, policy_id)
    values: dict[str, Any] = {"updated_at": rt.clock.now()}
    if body.scope is not None:
        values["scope"] = list(dict.fromkeys(body.scope))
    if body.resource_client_id is not None:
        values["resource_client_id"] = body.resource_client_id
    if "subject_client_id" in body.model_fields_set:
        values["subject_client_id"] = body.subject_client_id
    updated = await store.update_one(rt.db, policy_id, values, _event(rt, UPDATED, policy_id, current.client_id, actor))
    if updated is None:
        raise not_found("Cross App Access policy", NOT_FOUND)
    return updated


async def delete_policy(rt: Runtime, policy_id: str, *, actor: str | None) -> None:
    current = await get_policy(rt, policy_id)
    if not await store.delete_one(rt.db, policy_id, _event(rt, DELETED, policy_id, current.client_id, actor)):
        raise not_found("Cross App Access policy", NOT_FOUND)
