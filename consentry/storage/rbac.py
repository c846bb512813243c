"""The SQL of roles and permissions (Auth0 RBAC): what the Management API writes and what every mint reads.

A user's permissions for an API are those assigned directly plus those of their roles; ``user_permissions`` reads
them in one statement, made only for APIs that enforce RBAC (``enforce_policies``). Assignments are idempotent
(``INSERT … ON CONFLICT DO NOTHING``), so assigning twice, or racing another request, is not an error.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, literal, select, tuple_, union

from consentry.storage.db import Database, OrmUnit
from consentry.storage.models import ResourceServer, Role, RolePermission, User, UserPermission, UserRole
from consentry.storage.paging import like_pattern

_ROLE_PERMS: Table = RolePermission.__table__  # type: ignore[assignment]
_USER_ROLES: Table = UserRole.__table__  # type: ignore[assignment]
_USER_PERMS: Table = UserPermission.__table__  # type: ignore[assignment]

Permission = tuple[str, str]  # (resource server identifier, permission name)

_EFFECTIVE = union(
    select(_USER_PERMS.c.permission_name).where(
        _USER_PERMS.c.user_id == bindparam("user"), _USER_PERMS.c.resource_server_identifier == bindparam("api")
    ),
    select(_ROLE_PERMS.c.permission_name)
    .select_from(_USER_ROLES.join(_ROLE_PERMS, _ROLE_PERMS.c.role_id == _USER_ROLES.c.role_id))
    .where(_USER_ROLES.c.user_id == bindparam("user"), _ROLE_PERMS.c.resource_server_identifier == bindparam("api")),
)


async def user_permissions(db: Database, user_id: str, audience: str) -> frozenset[str]:
    """The permission names ``user_id`` holds for the API ``audience``: direct ones and those of their roles."""
    async with db.connect() as conn:
        rows = await conn.execute(_EFFECTIVE, {"user": user_id, "api": audience})
    return frozenset(r[0] for r in rows)


def _insert(s: OrmUnit, model: Any) -> Any:
    dialect = importlib.import_module(f"sqlalchemy.dialects.{s.get_bind().dialect.name}")  # only the one in use
    return dialect.insert(model)


# --- roles -------------------------------------------------------------------------------------------------


async def role(s: OrmUnit, role_id: str) -> Role | None:
    return await s.get(Role, role_id) if len(role_id) <= 64 else None


async def role_named(s: OrmUnit, name: str) -> Role | None:
    return await s.scalar(select(Role).where(Role.name == name))


async def add_role(s: OrmUnit, row: Role) -> None:
    """Insert the role now (the audit entry that follows names it)."""
    s.add(row)
    await s.flush()


async def delete_role(s: OrmUnit, row: Role) -> None:
    """Delete the role now; its permissions and assignments go with it (foreign keys ``ON DELETE CASCADE``)."""
    await s.delete(row)
    await s.flush()


async def roles_page(s: OrmUnit, *, offset: int, limit: int, name_filter: str | None = None) -> tuple[list[Role], int]:
    """Roles by name; ``name_filter`` matches a case-insensitive part of the name (Auth0)."""
    query = select(Role)
    if name_filter:
        pattern = like_pattern(name_filter.lower(), substring=True)
        query = query.where(func.lower(Role.name).like(pattern, escape="\\"))
    total = await s.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await s.scalars(query.order_by(Role.name, Role.id).offset(offset).limit(limit))
    return list(rows.all()), total


async def existing_roles(s: OrmUnit, role_ids: Sequence[str]) -> set[str]:
    return set((await s.scalars(select(Role.id).where(Role.id.in_(role_ids)))).all()) if role_ids else set()


async def existing_users(s: OrmUnit, user_ids: Sequence[str]) -> set[str]:
    return set((await s.scalars(select(User.user_id).where(User.user_id.in_(user_ids)))).all()) if user_ids else set()


# --- permissions of a role or a user -------------------------------------------------------------------------


def _pairs(table: Table, permissions: Iterable[Permission]) -> Any:
    wanted = list(permissions)
    return tuple_(table.c.resource_server_identifier, table.c.permission_name).in_(wanted) if wanted else literal(False)


async def add_role_permissions(s: OrmUnit, role_id: str, permissions: Iterable[Permission], now: float) -> None:
    values = [
        {"role_id": role_id, "resource_server_identifier": api, "permission_name": name, "created_at": now}
        for api, name in dict.fromkeys(permissions)
    ]
    if values:
        await s.execute(_insert(s, RolePermission).values(values).on_conflict_do_nothing())


async def remove_role_permissions(s: OrmUnit, role_id: str, permissions: Iterable[Permission]) -> None:
    await s.execute(delete(_ROLE_PERMS).where(_ROLE_PERMS.c.role_id == role_id, _pairs(_ROLE_PERMS, permissions)))


async def role_permissions_page(s: OrmUnit, role_id: str, *, offset: int, limit: int) -> tuple[list[Permission], int]:
    where = _ROLE_PERMS.c.role_id == role_id
    total = await s.scalar(select(func.count()).select_from(_ROLE_PERMS).where(where)) or 0
    rows = await s.execute(
        select(_ROLE_PERMS.c.resource_server_identifier, _ROLE_PERMS.c.permission_name)
        .where(where)
        .order_by(_ROLE_PERMS.c.resource_server_identifier, _ROLE_PERMS.c.permission_name)
        .offset(offset)
        .limit(limit)
    )
    return [(r[0], r[1]) for r in rows], total


async def add_user_permissions(s: OrmUnit, user_id: str, permissions: Iterable[Permission], now: float) -> None:
    values = [
        {"user_id": user_id, "resource_server_identifier": api, "permission_name": name, "created_at": now}
        for api, name in dict.fromkeys(permissions)
    ]
    if values:
        await s.execute(_insert(s, UserPermission).values(values).on_conflict_do_nothing())


async def remove_user_permissions(s: OrmUnit, user_id: str, permissions: Iterable[Permission]) -> None:
    await s.execute(delete(_USER_PERMS).where(_USER_PERMS.c.user_id == user_id, _pairs(_USER_PERMS, permissions)))


@dataclass(frozen=True)
class HeldPermission:
    """One permission a user holds, and through what: directly (``role_id`` None) or a role."""

    resource_server_identifier: str
    permission_name: str
    role_id: str | None
    role_name: str | None


async def user_permission_sources(s: OrmUnit, user_id: str) -> list[HeldPermission]:
    """Every permission of the user with each of its sources, by API and name (direct before roles)."""
    direct = await s.execute(
        select(_USER_PERMS.c.resource_server_identifier, _USER_PERMS.c.permission_name).where(
            _USER_PERMS.c.user_id == user_id
        )
    )
    via_roles = await s.execute(
        select(_ROLE_PERMS.c.resource_server_identifier, _ROLE_PERMS.c.permission_name, Role.id, Role.name)
        .select_from(
            _USER_ROLES.join(_ROLE_PERMS, _ROLE_PERMS.c.role_id == _USER_ROLES.c.role_id).join(
                Role, Role.id == _USER_ROLES.c.role_id
            )
        )
        .where(_USER_ROLES.c.user_id == user_id)
    )
    held = [HeldPermission(r[0], r[1], None, None) for r in direct]
    held += [HeldPermission(r[0], r[1], r[2], r[3]) for r in via_roles]
    held.sort(key=lambda h: (h.resource_server_identifier, h.permission_name, h.role_name is not None, h.role_name))
    return held


async def forget_api(s: OrmUnit, identifier: str) -> None:
    """A deleted API's permissions go with it, from roles and users."""
    await s.execute(delete(_ROLE_PERMS).where(_ROLE_PERMS.c.resource_server_identifier == identifier))
    await s.execute(delete(_USER_PERMS).where(_USER_PERMS.c.resource_server_identifier == identifier))


# --- who holds which role --------------------------------------------------------------------------------


async def add_user_roles(s: OrmUnit, pairs: Iterable[tuple[str, str]], now: float) -> None:
    """Assign (user_id, role_id) pairs; existing assignments stay as they are."""
    values = [{"user_id": u, "role_id": r, "created_at": now} for u, r in dict.fromkeys(pairs)]
    if values:
        await s.execute(_insert(s, UserRole).values(values).on_conflict_do_nothing())


async def remove_user_roles(s: OrmUnit, user_id: str, role_ids: Sequence[str]) -> None:
    if role_ids:
        await s.execute(
            delete(_USER_ROLES).where(_USER_ROLES.c.user_id == user_id, _USER_ROLES.c.role_id.in_(role_ids))
        )


async def user_roles_page(s: OrmUnit, user_id: str, *, offset: int, limit: int) -> tuple[list[Role], int]:
    query = select(Role).join(_USER_ROLES, _USER_ROLES.c.role_id == Role.id).where(_USER_ROLES.c.user_id == user_id)
    total = await s.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await s.scalars(query.order_by(Role.name, Role.id).offset(offset).limit(limit))
    return list(rows.all()), total


async def role_users_page(
    s: OrmUnit, role_id: str, *, from_user: str | None, offset: int, limit: int
) -> tuple[list[User], int]:
    """The role's users by ``user_id``, and how many it has; ``from_user``: keyset paging from that id on."""
    query = (
        select(User).join(_USER_ROLES, _USER_ROLES.c.user_id == User.user_id).where(_USER_ROLES.c.role_id == role_id)
    )
    total = await s.scalar(select(func.count()).select_from(query.subquery())) or 0
    if from_user is not None:
        query = query.where(User.user_id >= from_user)
    rows = await s.scalars(query.order_by(User.user_id).offset(offset).limit(limit))
    return list(rows.all()), total


# --- the APIs permissions name -------------------------------------------------------------------------------


async def apis_named(s: OrmUnit, identifiers: Iterable[str]) -> dict[str, ResourceServer]:
    wanted = sorted(set(identifiers))
    if not wanted:
        return {}
    rows = await s.scalars(select(ResourceServer).where(ResourceServer.identifier.in_(wanted)))
    return {r.identifier: r for r in rows.all()}
