"""Permissions (an API's scope values) assigned to users directly or through roles, in Auth0's shapes.

A permission can be assigned only when its API exists and defines it as a scope. What a user holds limits the
scopes of their tokens for APIs that enforce RBAC (``enforce_policies``), at ``/authorize``, on the consent
screen and at every mint (``oauth.mint_policy``); removing a permission drops the scope at the next refresh.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from consentry.commands.roles import PermissionRef
from consentry.runtime import Runtime
from consentry.services import audit
from consentry.services.errors import invalid, not_found
from consentry.services.users import get_user
from consentry.storage import rbac
from consentry.storage.db import OrmUnit
from consentry.storage.models import ResourceServer, Role
from consentry.storage.rbac import HeldPermission, Permission

USER_PERMISSIONS_CHANGED = "user.permissions_changed"
USER_ROLES_CHANGED = "user.roles_changed"


def _scope_descriptions(api: ResourceServer | None) -> dict[str, str]:
    scopes = api.scopes if api is not None and isinstance(api.scopes, list) else []
    return {
        s["value"]: s.get("description") or ""
        for s in scopes
        if isinstance(s, dict) and isinstance(s.get("value"), str)
    }


def permission_json(permission: Permission, apis: dict[str, ResourceServer]) -> dict[str, Any]:
    """Auth0's permission object (``GET /roles/{id}/permissions``)."""
    identifier, name = permission
    api = apis.get(identifier)
    return {
        "resource_server_identifier": identifier,
        "permission_name": name,
        "resource_server_name": api.name if api else identifier,
        "description": _scope_descriptions(api).get(name, ""),
    }


async def checked_permissions(s: OrmUnit, refs: Sequence[PermissionRef]) -> list[Permission]:
    """The (API, permission) pairs named, each an existing API's scope value; else the first one that is not."""
    wanted = [(p.resource_server_identifier, p.permission_name) for p in refs]
    apis = await rbac.apis_named(s, (api for api, _ in wanted))
    for identifier, name in wanted:
        if identifier not in apis:
            raise not_found("resource server", "inexistent_resource_server")
        if name not in _scope_descriptions(apis[identifier]):
            raise invalid(
                f"Permission '{name[:100]}' does not exist on resource server '{identifier[:200]}'.",
                "invalid_permission",
            )
    return list(dict.fromkeys(wanted))


def _held_json(permission: Permission, held: list[HeldPermission], apis: dict[str, ResourceServer]) -> dict[str, Any]:
    body = permission_json(permission, apis)
    body["sources"] = [
        {"source_id": h.role_id, "source_name": h.role_name, "source_type": "ROLE"}
        if h.role_id
        else {"source_id": "", "source_name": "", "source_type": "DIRECT"}
        for h in held
    ]
    return body


async def user_permissions_page(
    s: OrmUnit, user_id: str, *, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """The user's permissions, direct and through roles, each once with its sources (Auth0's ``sources``)."""
    await get_user(s, user_id)
    grouped: dict[Permission, list[HeldPermission]] = {}
    for held in await rbac.user_permission_sources(s, user_id):
        grouped.setdefault((held.resource_server_identifier, held.permission_name), []).append(held)
    page = list(grouped.items())[offset : offset + limit]
    apis = await rbac.apis_named(s, (p[0] for p, _ in page))
    return [_held_json(p, held, apis) for p, held in page], len(grouped)


async def assign_user_permissions(
    rt: Runtime, s: OrmUnit, user_id: str, refs: Sequence[PermissionRef], *, actor: str | None
) -> None:
    await get_user(s, user_id)
    permissions = await checked_permissions(s, refs)
    await rbac.add_user_permissions(s, user_id, permissions, rt.clock.now())
    _record(rt, s, USER_PERMISSIONS_CHANGED, "Permissions assigned to user", user_id, actor, added=permissions)


async def remove_user_permissions(
    rt: Runtime, s: OrmUnit, user_id: str, refs: Sequence[PermissionRef], *, actor: str | None
) -> None:
    await get_user(s, user_id)
    permissions = [(p.resource_server_identifier, p.permission_name) for p in refs]
    await rbac.remove_user_permissions(s, user_id, permissions)
    _record(rt, s, USER_PERMISSIONS_CHANGED, "Permissions removed from user", user_id, actor, removed=permissions)


def role_json(row: Role) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "description": row.description or ""}


async def user_roles_page(s: OrmUnit, user_id: str, *, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    await get_user(s, user_id)
    rows, total = await rbac.user_roles_page(s, user_id, offset=offset, limit=limit)
    return [role_json(r) for r in rows], total


async def checked_roles(s: OrmUnit, role_ids: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(role_ids))
    known = await rbac.existing_roles(s, [r for r in wanted if len(r) <= 64])
    if any(r not in known for r in wanted):
        raise not_found("role", "inexistent_role")
    return wanted


async def assign_user_roles(
    rt: Runtime, s: OrmUnit, user_id: str, role_ids: Sequence[str], *, actor: str | None
) -> None:
    await get_user(s, user_id)
    roles = await checked_roles(s, role_ids)
    await rbac.add_user_roles(s, ((user_id, r) for r in roles), rt.clock.now())
    _record(rt, s, USER_ROLES_CHANGED, "Roles assigned to user", user_id, actor, added=roles)


async def remove_user_roles(
    rt: Runtime, s: OrmUnit, user_id: str, role_ids: Sequence[str], *, actor: str | None
) -> None:
    await get_user(s, user_id)
    await rbac.remove_user_roles(s, user_id, list(dict.fromkeys(role_ids)))
    _record(rt, s, USER_ROLES_CHANGED, "Roles removed from user", user_id, actor, removed=list(role_ids))


def _record(
    rt: Runtime, s: OrmUnit, type_: str, description: str, user_id: str, actor: str | None, **change: Any
) -> None:
    details = {k: [list(v) if isinstance(v, tuple) else v for v in values] for k, values in change.items()}
    audit.record(s, rt.clock.now(), type_, description, user_id=user_id, details={**details, "actor": actor})
