"""Roles (Auth0 RBAC): create, rename, delete; the permissions a role carries and the users who hold it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from consentry.commands.roles import PermissionRef, RoleCreate, RoleUpdate
from consentry.runtime import Runtime
from consentry.services import audit
from consentry.services.errors import conflict, not_found
from consentry.services.listing import Paging
from consentry.services.permissions import checked_permissions, permission_json
from consentry.services.users import gravatar
from consentry.storage import rbac
from consentry.storage.db import OrmUnit, write_now
from consentry.storage.models import Role, User
from consentry.storage.paging import checkpoint_split, decode_cursor
from consentry.tokens import ids

ROLE_CREATED = "role.created"
ROLE_UPDATED = "role.updated"
ROLE_DELETED = "role.deleted"
ROLE_PERMISSIONS_CHANGED = "role.permissions_changed"
ROLE_USERS_CHANGED = "role.users_changed"


async def get_role(s: OrmUnit, role_id: str) -> Role:
    row = await rbac.role(s, role_id)
    if row is None:
        raise not_found("role", "inexistent_role")
    return row


async def _unique_name(s: OrmUnit, name: str, role_id: str | None = None) -> None:
    other = await rbac.role_named(s, name)
    if other is not None and other.id != role_id:
        raise conflict(f"A role with the name '{name[:100]}' already exists.", "role_conflict")


async def create_role(rt: Runtime, s: OrmUnit, body: RoleCreate, *, actor: str | None) -> Role:
    name = body.name.strip()
    await _unique_name(s, name)
    now = rt.clock.now()
    row = Role(id=ids.prefixed("rol"), name=name, description=body.description, created_at=now, updated_at=now)
    await rbac.add_role(s, row)
    _record(rt, s, ROLE_CREATED, f"Role '{name}' created", row.id, actor)
    return row


async def update_role(rt: Runtime, s: OrmUnit, role_id: str, body: RoleUpdate, *, actor: str | None) -> Role:
    row = await get_role(s, role_id)
    if body.name is not None:
        await _unique_name(s, body.name.strip(), row.id)
        row.name = body.name.strip()
    if "description" in body.model_fields_set:
        row.description = body.description
    row.updated_at = rt.clock.now()
    await write_now(s)
    _record(rt, s, ROLE_UPDATED, f"Role '{row.name}' updated", row.id, actor)
    return row


async def delete_role(rt: Runtime, s: OrmUnit, role_id: str, *, actor: str | None) -> None:
    """The role goes with its permissions and assignments: its users lose what it gave at their next mint."""
    row = await get_role(s, role_id)
    await rbac.delete_role(s, row)
    _record(rt, s, ROLE_DELETED, f"Role '{row.name}' deleted", role_id, actor)


async def list_roles(s: OrmUnit, *, offset: int, limit: int, name_filter: str | None) -> tuple[list[Role], int]:
    return await rbac.roles_page(s, offset=offset, limit=limit, name_filter=name_filter)


async def role_permissions_page(
    s: OrmUnit, role_id: str, *, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    await get_role(s, role_id)
    permissions, total = await rbac.role_permissions_page(s, role_id, offset=offset, limit=limit)
    apis = await rbac.apis_named(s, (api for api, _ in permissions))
    return [permission_json(p, apis) for p in permissions], total


async def add_role_permissions(
    rt: Runtime, s: OrmUnit, role_id: str, refs: Sequence[PermissionRef], *, actor: str | None
) -> None:
    await get_role(s, role_id)
    permissions = await checked_permissions(s, refs)
    await rbac.add_role_permissions(s, role_id, permissions, rt.clock.now())
    _record(rt, s, ROLE_PERMISSIONS_CHANGED, "Permissions added to role", role_id, actor, added=permissions)


async def remove_role_permissions(
    rt: Runtime, s: OrmUnit, role_id: str, refs: Sequence[PermissionRef], *, actor: str | None
) -> None:
    await get_role(s, role_id)
    permissions = [(p.resource_server_identifier, p.permission_name) for p in refs]
    await rbac.remove_role_permissions(s, role_id, permissions)
    _record(rt, s, ROLE_PERMISSIONS_CHANGED, "Permissions removed from role", role_id, actor, removed=permissions)


def member_json(row: User) -> dict[str, Any]:
    """Auth0's role member: ``user_id``, ``picture``, ``name``, ``email``."""
    profile = row.profile or {}
    return {
        "user_id": row.user_id,
        "email": row.email,
        "picture": profile.get("picture") or gravatar(row.email),
        "name": profile.get("name") or row.email or row.username,
    }


async def role_users_page(s: OrmUnit, role_id: str, p: Paging) -> tuple[list[dict[str, Any]], int, str | None]:
    """The role's members: a page and the total (``page``/``per_page``), or a page and the ``next`` checkpoint
    (``from``/``take``)."""
    await get_role(s, role_id)
    if p.checkpoint:
        start = decode_cursor(p.from_, (str,))[0] if p.from_ else None
        rows, total = await rbac.role_users_page(s, role_id, from_user=start, offset=0, limit=p.limit + 1)
        page, next_from = checkpoint_split(rows, p, lambda r: (r.user_id,))
        return [member_json(r) for r in page], total, next_from
    rows, total = await rbac.role_users_page(s, role_id, from_user=None, offset=p.offset, limit=p.per_page)
    return [member_json(r) for r in rows], total, None


async def add_role_users(rt: Runtime, s: OrmUnit, role_id: str, user_ids: Sequence[str], *, actor: str | None) -> None:
    await get_role(s, role_id)
    wanted = list(dict.fromkeys(user_ids))
    known = await rbac.existing_users(s, [u for u in wanted if len(u) <= 255])
    if any(u not in known for u in wanted):
        raise not_found("user", "inexistent_user")
    await rbac.add_user_roles(s, ((u, role_id) for u in wanted), rt.clock.now())
    _record(rt, s, ROLE_USERS_CHANGED, "Users assigned to role", role_id, actor, added=wanted)


def _record(
    rt: Runtime, s: OrmUnit, type_: str, description: str, role_id: str, actor: str | None, **change: Any
) -> None:
    details = {k: [list(v) if isinstance(v, tuple) else v for v in values] for k, values in change.items()}
    audit.record(s, rt.clock.now(), type_, description, details={"role_id": role_id, **details, "actor": actor})
